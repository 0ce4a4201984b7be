"""Tables of plain values and the one markdown renderer of the reports.

A report section computes :class:`Table`\\ s and sentences from its records; :func:`render` turns them into
markdown. Cells are escaped: a '|' in a label (the |θ−θ̄| method) would otherwise split its row and break the
table's rendering. The same :class:`Table` is what the in-memory comparison returns (CSV, DataFrame)."""
import csv
from dataclasses import dataclass


def table_cell(value):
    """A cell's text: '|' escaped, line breaks made spaces (a table row is one line)."""
    return ' '.join(str(value).splitlines()).replace('|', '\\|')


def table_row(cells):
    return '| ' + ' | '.join(table_cell(c) for c in cells) + ' |'


def markdown_table(header, rows):
    """The lines of a table: ``header`` (cells), its rule and ``rows`` (lists of cells, any values)."""
    return [table_row(header), '|' + '---|' * len(header), *(table_row(row) for row in rows)]


@dataclass
class Table:
    """Rows (lists of values) under named columns."""
    columns: list
    rows: list

    def markdown(self):
        return '\n'.join(markdown_table(self.columns, self.rows))

    def records(self):
        """The rows as {column: value} dicts."""
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_csv(self, path_or_buffer, formats=None):
        """Write the table as CSV to a path or an open text file; ``formats``: {column: format string}, e.g.
        {'output_difference': '{:.6f}'} (other values as ``str`` gives them)."""
        if not hasattr(path_or_buffer, 'write'):
            with open(path_or_buffer, 'w', newline='') as f:
                return self.to_csv(f, formats)
        shown = [(formats or {}).get(column, '{}') for column in self.columns]
        writer = csv.writer(path_or_buffer)
        writer.writerow(self.columns)
        writer.writerows([form.format(value) for form, value in zip(shown, row)] for row in self.rows)

    def to_dataframe(self):
        """A pandas DataFrame of the table (pandas is optional: it is imported here, when asked for)."""
        try:
            import pandas
        except ImportError:
            raise ImportError('Table.to_dataframe needs pandas (pip install pandas); Table.to_csv and '
                              'Table.records work without it') from None
        return pandas.DataFrame(self.rows, columns=self.columns)


def render(blocks):
    """The markdown of a report: ``blocks`` (sentences or paragraphs as text, :class:`Table` s), a blank line
    between two blocks."""
    return '\n\n'.join(block.markdown() if isinstance(block, Table) else block for block in blocks) + '\n'


def percent_text(value):
    """A share as '12.3 %' ('n/a' when missing or not finite)."""
    return 'n/a' if value is None or value != value or value in (float('inf'), float('-inf')) else f'{100 * value:.1f} %'
