"""Markdown of the degradation-prediction study: its tables as rows, rendered by faig.tables."""

from faig.evaluation.degradation_predictor import PREDICTORS, Calibration
from faig.evaluation.prediction_study import CALIBRATIONS, study_predictors
from faig.tables import markdown_table, percent_text

PARTS = ('trained', 'unseen', 'all')  # the test split's trained levels, other levels, every level


def confusion_rows(matrix, labels, other=None):
    """Rows of a confusion table (true label, then counts per predicted label); with ``other``, 'matrix / other'."""
    return [[label, *(str(v) if other is None else f'{v} / {other[i][j]}' for j, v in enumerate(matrix[i]))]
            for i, label in enumerate(labels)]


def confusion_markdown(matrix, labels, other=None):
    """A confusion table (rows: true, columns: predicted); with ``other``, each cell is 'matrix / other'."""
    return markdown_table(['true \\ predicted', *labels], confusion_rows(matrix, labels, other))


def accuracy_rows(study):
    """Per predictor and calibration: its rule and its accuracy at the trained, other and all test levels."""
    rows = []
    for cal_key, cal_title in CALIBRATIONS.items():
        for key in study_predictors(study):
            rule = Calibration.from_json(study['calibrations'][cal_key][key]).describe()
            block = study['summary'][cal_key][key]
            rows.append([PREDICTORS[key], cal_title, rule,
                         *(f'{percent_text(block[part]["accuracy"])} ({block[part]["images"]})' for part in PARTS),
                         percent_text(block['all']['balanced_accuracy'])])
    return rows


def level_rows(study):
    """Per level of the labelled set: its class, whether it is trained, its test images, each predictor's accuracy."""
    columns = [(c, k) for c in CALIBRATIONS for k in study_predictors(study)]
    rows = []
    for level in study['levels']:
        blocks = [study['summary'][c][k]['per_level'][level['name']] for c, k in columns]
        rows.append([level['name'], level['label'], 'yes' if level['trained'] else 'no', blocks[0]['images'],
                     *(percent_text(b['accuracy']) for b in blocks)])
    return rows


def study_markdown(study, heading='###'):
    """Markdown of a study record (results/degradation_prediction/<net>/prediction.json)."""
    labels = study['labels']
    levels = sorted(study['levels'], key=lambda lv: labels.index(lv['label']))  # clean, <a>, <b>, <a>_<b>
    trained = [lv['name'] for lv in levels if lv['trained']]
    others = [lv['name'] for lv in levels if not lv['trained']]
    predictors = study_predictors(study)
    lines = [f'{heading} {study["net"]}', '',
             f'Rankings `{study["ranking_folder"]}` (top {study["proportion"]:g} %: {study["filters"]} filters per '
             f'degradation). Labelled set `{study["set_root"]}`: {study["images"]["calibration"]} calibration and '
             f'{study["images"]["test"]} test images of {study["crop"]}×{study["crop"]} LR pixels (calibration photos '
             f'{", ".join(study["split"]["calibration"])}; test photos {", ".join(study["split"]["test"])}); '
             f'{study["wall_seconds"]:.0f} s on {study["device"]}.', '',
             '4-class accuracy on the test split (image counts in brackets). Trained levels (every degradation at the '
             f'strength the target was fine-tuned on): {", ".join(trained)}; other levels: {", ".join(others)}.', '',
             *markdown_table(['predictor', 'thresholds fitted on (calibration split)', 'rule', 'trained levels',
                              'other levels', 'all test levels', 'all, class-balanced'], accuracy_rows(study)), '']
    for cal_key, cal_title in CALIBRATIONS.items():
        for key in predictors:
            block = study['summary'][cal_key][key]
            lines += [f'**{PREDICTORS[key]}, thresholds fitted on {cal_title}**: confusion on the test split, '
                      'trained levels / other levels', '',
                      *confusion_markdown(block['trained']['confusion'], labels, block['unseen']['confusion']), '']
    header = ['level', 'class', 'trained', 'images', *(f'{k}, fitted on {CALIBRATIONS[c]}' for c in CALIBRATIONS
                                                        for k in predictors)]
    lines += ['**Accuracy per level (test split)**', '', *markdown_table(header, level_rows(study)), '']
    return '\n'.join(lines)
