"""docs/results.md: what FAIG finds on the bundled pairs, generated from the committed records only (the
default-budget run's report JSON, the --full reference records, the retraining and prediction studies), so that
every number on the page is one a reader can trace to a file in the repository."""
import os.path as osp

from faig.paths import BUNDLED_MODELS
from faig.reporting.budgets import BUDGETS_HEADING, agreement_section
from faig.reporting.findings import plain_verdict
from faig.reporting.records import budget_records, budget_settings, of_other_models, pair_sha1
from faig.reporting.studies import prediction_blocks, retraining_blocks, retraining_verdicts
from faig.reporting.summary import anchor, budget_label, key_number, prediction_row, summary_section
from faig.specs import DEFAULT_PAIR, NETWORKS, RESULTS
from faig.tables import Table, render

PAGE = 'docs/results.md'
VERDICTS_HEADING = '## Every verdict per image'
INTRO = (
    'The findings of the paper, checked on the two bundled pairs (`experiments/pretrained/`, trained by this project '
    'on its sample data; their history is in `experiments/pretrained/README.md`). This page is generated from the '
    'committed records by `python scripts/results_page.py` (a test checks that it matches them); '
    '`results/report.md`, written by `python scripts/reproduce.py`, has every table and figure of a run; the '
    'speed of the methods is in `docs/benchmarks.md`, the degradation predictor in `docs/degradation_prediction.md`.')
READING = (
    'A verdict is taken on the means over the test images (the paper\'s numbers) and then on every test image alone '
    '("holds per image": on how many it holds). The default budget attributes with 16 steps on 64×64 LR centre '
    'crops; `--full` is the paper\'s budget (100 steps, whole images). Finding 3 (where the filters sit) is the '
    'paper\'s claim for SRResNet only and is shown for the other network for information.')


def recorded_runs(root, nets, quadrature='riemann_left'):
    """(default-budget record, --full reference records, {net: its models' sha1s}, [(budget label, {net: entry})])
    of the bundled pairs: the entries of other models than those there now are left out of the runs."""
    default, full = budget_records(root, RESULTS, quadrature)
    current = {net: pair_sha1(root, BUNDLED_MODELS, net) for net in nets}
    runs = [(budget_label(setting, quadrature), {
        net: record['nets'][net] for net in nets
        if net in record['nets'] and not of_other_models(record['nets'][net], current[net])})
        for setting, record in zip(budget_settings(quadrature), (default, full)) if record]
    return default, full, current, runs


def verdict_blocks(net, label, entry):
    """One network's verdicts of one run: per finding, on the means and on each image, and the key number."""
    stems = sorted({stem for f in entry['findings'] for stem in (f.get('verdicts') or {})})
    pair = tuple(entry.get('degradations') or DEFAULT_PAIR)
    rows = [[f['title'], plain_verdict(f['holds']),
             *('—' if stem not in (f.get('verdicts') or {}) else plain_verdict(f['verdicts'][stem]) for stem in stems),
             key_number(f['id'], f.get('numbers'), pair)] for f in entry['findings']]
    return [f'**{net}, {label}** (— : not recorded)', Table(['finding', 'means', *stems, 'key number'], rows)]


def results_page(root, nets=tuple(NETWORKS)):
    """The markdown of docs/results.md from the records committed under ``root``."""
    default, full, current, runs = recorded_runs(root, nets)
    if default and full:
        verdicts = agreement_section(default, full, current)
        link = anchor(BUDGETS_HEADING)
    else:
        verdicts = [VERDICTS_HEADING] + [block for label, entries in runs for net, entry in entries.items()
                                         for block in verdict_blocks(net, label, entry)]
        link = anchor(VERDICTS_HEADING)
        if not runs:
            verdicts.append('No run of the bundled pairs is recorded (`python scripts/reproduce.py`).')
    summary = {'nets': {}}
    studies = retraining_blocks(root, nets, summary,
                                figure_link=lambda net: f'../{RESULTS}/retrain_study/{net}/recovered_share.png')
    studies += prediction_blocks(root, nets, default['dataset'] if default else None, results_link=f'../{RESULTS}/')
    retraining = retraining_verdicts(root, nets, summary)
    prediction = {net: prediction_row(root, net) for net in nets}
    table_runs = [(label, entries, lambda net: link) for label, entries in runs]
    blocks = ['# What FAIG finds on the bundled models', INTRO, READING,
              *summary_section(nets, table_runs, retraining, prediction), *verdicts, *studies]
    return render(blocks)
