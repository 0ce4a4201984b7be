"""docs/results.md is generated from the committed records: it matches them, its tables render and its
summary says what the records say."""
import functools
import json
import os.path as osp

from faig.reporting.results_page import PAGE, results_page
from faig.reporting.summary import anchor

from conftest import REPO
from test_report import UNESCAPED_PIPE, cells, markdown_tables

DEFAULT_RECORD = osp.join(REPO, 'results', 'report_steps16_riemann_left_crop64.json')


@functools.lru_cache(maxsize=None)
def page():
    return results_page(REPO)


def test_the_committed_page_is_the_one_the_records_give():
    with open(osp.join(REPO, PAGE), encoding='utf-8') as f:
        committed = f.read()
    assert committed == page(), 'docs/results.md is out of date: python scripts/results_page.py'


def test_every_table_of_the_page_renders_and_every_link_leads_somewhere():
    text = page()
    tables = markdown_tables(text)
    assert len(tables) >= 4
    for table in tables:
        assert len({len(UNESCAPED_PIPE.findall(row)) for row in table}) == 1, table
    headings = {anchor(line) for line in text.splitlines() if line.startswith('#')}
    summary = markdown_tables(text.split('## Summary')[1])[0]
    assert {cells(row)[-1][len('[details]('):-1] for row in summary[2:]} <= headings
    for line in text.splitlines():
        if line.startswith('!['):
            assert osp.isfile(osp.normpath(osp.join(REPO, 'docs', line.split('](')[1][:-1]))), line


def test_the_summary_gives_the_verdicts_of_the_default_record():
    with open(DEFAULT_RECORD) as f:
        record = json.load(f)
    rows = [cells(r) for r in markdown_tables(page().split('## Summary')[1])[0][2:]]
    default_rows = {(r[0], r[1]): r for r in rows if r[2].startswith('default')}
    expected = {(f['title'], net): f for net, entry in record['nets'].items() for f in entry['findings']}
    assert set(default_rows) == set(expected)
    for key, f in expected.items():
        row = default_rows[key]
        assert row[3] == ('holds' if f['holds'] else 'does not hold')
        assert row[4] == f'{f["per_image"]["holds"]}/{f["per_image"]["images"]}'


def test_with_full_records_the_page_compares_the_budgets(tmp_path):
    import shutil
    root = tmp_path
    (root / 'results').mkdir()
    (root / 'experiments').symlink_to(osp.join(REPO, 'experiments'))  # the bundled pairs the records name
    shutil.copy(DEFAULT_RECORD, root / 'results')
    with open(DEFAULT_RECORD) as f:
        record = json.load(f)
    entry = record['nets']['srresnet']
    entry['findings'][0]['holds'] = not entry['findings'][0]['holds']
    folder = root / 'results' / 'reference' / 'srresnet'
    folder.mkdir(parents=True)
    (folder / 'report_steps100_riemann_left_full.json').write_text(json.dumps(
        dict(record, setting='steps100_riemann_left_full', steps=100, crop=None, nets={'srresnet': entry})))
    text = results_page(str(root))
    assert '## Default budget vs --full' in text and '## Every verdict per image' not in text
    assert '| srresnet | 1 | holds (6/6 images) | does not hold (6/6 images) | **no** |' in text
    summary = [cells(r) for r in markdown_tables(text.split('## Summary')[1])[0][2:]]
    full = [r for r in summary if r[2].startswith('--full')]
    assert {r[1] for r in full} == {'srresnet'} and all(r[6] == '[details](#default-budget-vs---full)' for r in full)
    assert 'srresnet: no retraining study recorded yet' in text  # only what is recorded under root
