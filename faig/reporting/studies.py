"""The sections of the committed studies: Finding 2 (retraining: weights, locations, connections;
results/retrain_study/<net>/study.json) and Finding 3 (degradation prediction;
results/degradation_prediction/<net>/prediction.json). They are read, never recomputed here."""
import os.path as osp

from faig.evaluation import retraining
from faig.evaluation.degradation_predictor import class_labels
from faig.evaluation.prediction_study import headline, read_study
from faig.reporting.prediction import percent_text, study_markdown
from faig.figures import recovered_share_chart, save_figure
from faig.reporting.findings import capitalised, verdict
from faig.reporting.records import other_models_note
from faig.reporting.summary import PREDICTION_HEADING, RETRAINING_HEADING, per_image_count, retraining_title
from faig.specs import DEFAULT_PAIR, DEGRADATIONS, ResultsLayout
from faig.store import read_record
from faig.tables import render

_FIRST, _SECOND = (DEGRADATIONS[name] for name in DEFAULT_PAIR)
PREDICTION_METHOD = (
    'The paper: the discovered filters realise degradation prediction implicitly. Here each LR image gets two '
    f'numbers, the output difference when the top-p % FAIG {_FIRST.function} filters are masked and when the top-p % '
    f'{_SECOND.function} filters are masked; thresholds fitted on a calibration split (other photos) assign '
    f'{" / ".join(class_labels(DEFAULT_PAIR))}, and no network is trained. Beside it, what a user would pick instead: '
    "skimage's estimate_sigma and the variance of the Laplacian, with the same fitting. Both on the same test "
    'split (`python scripts/predict_degradation_study.py --net <net>`; docs/degradation_prediction.md).')


def retraining_blocks(root, nets, summary, figure_link=None):
    """The blocks of "Finding 2: weights, locations, connections"; each net's checks go into
    ``summary['nets'][net]['retraining']``.

    ``figure_link(net)``: the link to show of the study's bar chart; None: the chart is drawn into the net's
    figures folder and linked relative to results/ (report.md's folder)."""
    blocks = [RETRAINING_HEADING]
    for net in nets:
        path = osp.join(root, 'results', 'retrain_study', net, 'study.json')
        if not osp.isfile(path):
            blocks.append(f'{net}: no retraining study recorded yet (`python scripts/retrain_study.py --net {net}`, '
                          'several CPU hours; its results are committed).')
            continue
        study = read_record(path, 'retraining study')
        note = other_models_note(root, net, study.get('reference', {}).get('models'), 'retraining study',
                                 f'python scripts/retrain_study.py --net {net}', shown_by_file=True)
        if note:
            blocks.append(note)
            continue
        if figure_link is None:
            figure = osp.join(root, ResultsLayout(net, '').figures(), 'retrain_recovered_share.png')
            save_figure(recovered_share_chart(study, net), figure)
            link = osp.relpath(figure, osp.join(root, 'results'))
        else:
            link = figure_link(net)
        checks = retraining.findings(study)
        blocks += [f'{retraining.markdown(study, net)}\n![recovered share]({link})',
                   '\n'.join(f'- **{net}** — {retraining_title(check["id"])}: {verdict(check["holds"])} '
                             f'(per image {per_image_count(check["per_image"])}). {capitalised(check["text"])}.'
                             for check in checks)]
        summary['nets'].setdefault(net, {})['retraining'] = checks
    return blocks


def retraining_verdicts(root, nets, summary):
    """{net: its retraining checks (after :func:`retraining_blocks`), or why there are none (None: no study)}."""
    return {net: summary['nets'].get(net, {}).get('retraining') or (
        'left out (other models)' if osp.isfile(osp.join(root, 'results', 'retrain_study', net, 'study.json'))
        else None) for net in nets}


def prediction_blocks(root, nets, dataset, results_link=''):
    """The blocks of "Finding 3: degradation prediction" (scripts/predict_degradation_study.py's records);
    ``dataset``: the data set of the rankings the report is about (a record made from other rankings says so);
    ``results_link``: the path of results/ seen from the document (figures are linked through it)."""
    blocks = [PREDICTION_HEADING, PREDICTION_METHOD]
    for net in nets:
        path = osp.join(root, 'results', 'degradation_prediction', net, 'prediction.json')
        if not osp.isfile(path):
            blocks.append(f'{net}: no degradation-prediction study recorded yet '
                          f'(`python scripts/predict_degradation_study.py --net {net}`).')
            continue
        study = read_study(path)
        note = other_models_note(root, net, study.get('run_key', {}).get('use_key'), 'degradation-prediction study',
                                 # with --force: without it the study refuses to replace a record of other models
                                 f'python scripts/predict_degradation_study.py --net {net} --force')
        if note:
            blocks.append(note)
            continue
        numbers = headline(study)
        relative = (f', filter-based relative change {percent_text(numbers["relative"])}'
                    if 'relative' in numbers else '')
        blocks += [f'- **{net}** — 4-class accuracy at the trained levels of the test split: filter-based '
                   f'{percent_text(numbers["filters"])}{relative}, classical {percent_text(numbers["classical"])} '
                   '(thresholds fitted on the trained levels of the calibration split); a filter-based predictor at '
                   'least as accurate as the classical one: '
                   f'{"**yes**" if numbers["goal_met"] else "**no**"}.', study_markdown(study).rstrip('\n')]
        if study.get('ranking_dataset') != dataset:
            blocks.append(f'Note: these numbers use the rankings of {study.get("ranking_dataset")}, not {dataset}.')
        folder = osp.join('degradation_prediction', net)
        figures = [('scatter', 'scatter.png'), ('confusion', 'confusion.png')]
        if 'relative' in numbers:
            figures.append(('relative change per level', 'level_scatter.png'))
        blocks += [f'![{alt}]({results_link}{folder}/{name})' for alt, name in figures]
        blocks.append(f'Per-image numbers and predictions: `results/{folder}/prediction.json`.')
    return blocks


def retraining_section(root, nets, summary):
    """:func:`retraining_blocks` as markdown lines."""
    return render(retraining_blocks(root, nets, summary)).split('\n')


def prediction_section(root, nets, dataset):
    """:func:`prediction_blocks` as markdown lines."""
    return render(prediction_blocks(root, nets, dataset)).split('\n')
