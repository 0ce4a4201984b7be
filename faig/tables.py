"""Markdown tables whose cells are escaped: a '|' in a label (the |θ−θ̄| method) would otherwise split its row
and break the table's rendering. Every table of results/report.md is written through :func:`markdown_table`."""


def table_cell(value):
    """A cell's text: '|' escaped, line breaks made spaces (a table row is one line)."""
    return ' '.join(str(value).splitlines()).replace('|', '\\|')


def table_row(cells):
    return '| ' + ' | '.join(table_cell(c) for c in cells) + ' |'


def markdown_table(header, rows):
    """The lines of a table: ``header`` (cells), its rule and ``rows`` (lists of cells, any values)."""
    return [table_row(header), '|' + '---|' * len(header), *(table_row(row) for row in rows)]
