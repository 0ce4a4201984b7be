"""The degradation-prediction study's record (results/degradation_prediction/<net>/prediction.json): every
predictor fitted on the calibration split, per-image numbers and predictions of both splits, and summaries.

Records carry a format version (:data:`STUDY_FORMAT`); the first ones, committed before they carried it, are
of format 1. A record of another format, or a file that is not such a record, is refused in one line.
"""
from faig.errors import InputError
from faig.evaluation.degradation_predictor import PREDICTORS, fit_predictor, summarize
from faig.store import read_record

STUDY_FORMAT = 1
CALIBRATIONS = {'trained': 'the trained levels', 'all': 'every level'}  # which calibration images fit the thresholds
STUDY_KEYS = ('net', 'degradations', 'labels', 'levels', 'calibrations', 'summary', 'records')


def read_study(path):
    """The study record at ``path``; InputError ``'<path>: <problem>'`` for another format or another file."""
    study = read_record(path, 'degradation-prediction record')
    missing = [key for key in STUDY_KEYS if key not in study]
    if missing:
        raise InputError(f'{path}: not a degradation-prediction record (no {", ".join(missing)})')
    version = study.get('format', 1)
    if version != STUDY_FORMAT:
        raise InputError(f'{path}: a degradation-prediction record of format {version!r}; this version reads format '
                         f'{STUDY_FORMAT} (rerun scripts/predict_degradation_study.py with --force)')
    return study


def study_predictors(study, calibration='trained'):
    """The predictors a study record holds, in :data:`PREDICTORS` order (records made before the relative
    predictor lack it)."""
    return [k for k in PREDICTORS if k in study['calibrations'][calibration]]


def fit_study(values, entries, trained_levels, degradations):
    """{calibration: {predictor: Calibration}}: every predictor fitted on the calibration split's trained levels
    and on all of it. ``values``: {predictor: {image name: (two numbers)}}; ``entries``: the split's images."""
    fitted = {}
    for cal_key in CALIBRATIONS:
        chosen = [e for e in entries if cal_key == 'all' or e.level in trained_levels]
        info = {'images': len(chosen), 'levels': sorted({e.level for e in chosen}), 'split': 'calibration'}
        fitted[cal_key] = {key: fit_predictor(key, [values[key][e.name] for e in chosen], [e.label for e in chosen],
                                              degradations, info) for key in PREDICTORS}
    return fitted


def summaries(records, labels, split):
    """{calibration: {predictor: summarize(...)}} of the records of ``split``."""
    chosen = [r for r in records if r['split'] == split]
    return {c: {k: summarize(chosen, labels, lambda r, c=c, k=k: r['predicted'][c][k]) for k in PREDICTORS}
            for c in CALIBRATIONS}


def headline(study, calibration='trained'):
    """{'filters', 'classical' (and 'relative' when recorded): accuracy at the trained levels of the test split,
    'goal_met': whether a filter-based predictor is at least as accurate as the classical one}."""
    block = study['summary'][calibration]
    numbers = {'filters': block['filters']['trained']['accuracy'], 'classical': block['classical']['trained']['accuracy']}
    if 'relative' in block:
        numbers['relative'] = block['relative']['trained']['accuracy']
    best = max(numbers['filters'], numbers.get('relative', numbers['filters']))
    numbers['goal_met'] = bool(best >= numbers['classical'])
    return numbers
