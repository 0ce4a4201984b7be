"""The report's opening table: finding × network × budget -> verdict, per-image count, key number and a link
to its section, in words that cannot be misread."""
import os.path as osp
import re

import numpy as np

from faig.evaluation.prediction_study import headline, read_study
from faig.tables import percent_text
from faig.evaluation.retraining import LABELS
from faig.reporting.findings import method_label, plain_verdict
from faig.reporting.records import DEFAULT_BUDGET, FULL_BUDGET, budget_settings, other_models_note
from faig.specs import DEFAULT_PAIR, degradation
from faig.tables import Table

SUMMARY_HEADING = '## Summary'
RETRAINING_HEADING = '## Finding 2: weights, locations, connections'
PREDICTION_HEADING = '## Finding 3: degradation prediction'


def anchor(heading):
    """The link GitHub gives a markdown heading ('## Default budget vs --full' -> '#default-budget-vs---full')."""
    text = heading.lstrip('#').strip().lower()
    return '#' + re.sub(r'[^\w\- ]', '', text).replace(' ', '-')


def findings_heading(net):
    return f'### Findings on {net}'


def budget_label(setting, quadrature):
    """'default (16 steps, 64×64 crops)', '--full (100 steps, whole images)' or the setting's name."""
    default, full = budget_settings(quadrature)
    crop = DEFAULT_BUDGET['crop']
    return {default: f'default ({DEFAULT_BUDGET["steps"]} steps, {crop}×{crop} crops)',
            full: f'--full ({FULL_BUDGET["steps"]} steps, whole images)'}.get(setting, f'`{setting}`')


def key_number(finding_id, numbers, pair=DEFAULT_PAIR):
    """The numbers a finding's verdict turns on, in a few words ('not recorded' for a record without them)."""
    numbers = numbers or {}
    if numbers.get('nothing_measurable'):
        return 'nothing measurable: every difference below the 8-bit resolution'
    a, b = (degradation(d) for d in pair)
    try:
        if finding_id == '1':
            return (f'masking ratio: {a.adjective} input {numbers[f"{a.name}_ratio"]:.1f}×, {b.adjective} input '
                    f'{numbers[f"{b.name}_ratio"]:.1f}× (holds at ≥ {numbers.get("threshold", 2.0):g}× on both)')
        if finding_id == '2':
            parts = []
            for spec in (a, b):
                others = {m: v for m, v in numbers['at_1'][spec.name].items() if m != 'faig'}
                best = max(others, key=others.get) if others else None
                parts.append(f'{spec.function}: FAIG {numbers["at_1"][spec.name]["faig"]:.4f} vs '
                             + (f'best other {method_label(best)} {others[best]:.4f}' if best else 'no other method'))
            return 'at 1 %, ' + '; '.join(parts)
        if finding_id in ('3a', '3b'):
            key, what = {'3a': ('mean_depth', 'mean layer depth'),
                         '3b': ('distance_from_uniform', 'distance from a uniform spread')}[finding_id]
            return (f'{what}: {a.function} {numbers[f"{key}_{a.name}"]:.3f}, '
                    f'{b.function} {numbers[f"{key}_{b.name}"]:.3f}')
        if finding_id.startswith('4_'):
            lambdas, values = np.asarray(numbers['lambdas']), np.asarray(numbers['output_difference'])
            order = np.argsort(lambdas, kind='stable')
            lambdas, values = lambdas[order], values[order]
            shown = sorted({0, int(np.argmin(np.abs(lambdas - 1))), len(lambdas) - 1})
            text = 'output difference at ' + ', '.join(f'λ={lambdas[i]:g}: {values[i]:.4f}' for i in shown)
            against = [i for i in range(1, len(lambdas))  # a step against the trend: falling up to λ=1, rising after
                       if (lambdas[i] <= 1 + 1e-9 and values[i] > values[i - 1] + 1e-9)
                       or (lambdas[i - 1] >= 1 - 1e-9 and values[i] < values[i - 1] - 1e-9)]
            if against:
                i = against[0]
                text += (f'; not monotone from λ={lambdas[i - 1]:g} to λ={lambdas[i]:g} '
                         f'({values[i - 1]:.4f} → {values[i]:.4f})')
            return text
        if finding_id.startswith('2-retrain-'):
            ahead = numbers.get('ahead_of_faig') or {}
            return (f'recovered share: FAIG {numbers["faig"]:.3f} vs random {numbers["random"]:.3f} '
                    f'({numbers["ratio"]:.1f}×; holds at ≥ {numbers["threshold"]:g}×)'
                    + ('; more than FAIG: ' + ', '.join(f'{LABELS.get(k, k)} {v:.3f}' for k, v in ahead.items())
                       if ahead else ''))
        if finding_id.startswith('2-connections-'):
            return f'permuted / masked: {numbers["ratio"]:.2f}× (holds at ≥ {numbers["threshold"]:g}×)'
    except KeyError:
        return 'not recorded'
    return ''


def retraining_title(check_id):
    """The claim of a retraining check ('2-retrain-blur', '2-connections-noise'), in words."""
    kind, deg = check_id.split('-')[1:]
    function = degradation(deg).function
    if kind == 'retrain':
        return (f'2 (retraining). Retraining only the 1% FAIG {function} filters recovers ≥ 2× the share random '
                'filters do')
    return (f'2 (connections). Permuting the 1% FAIG {function} filters within their layers changes the output ≥ ½ '
            'as much as masking them')


def per_image_count(per_image):
    return f'{per_image["holds"]}/{per_image["images"]}' if per_image else '—'


def prediction_row(root, net):
    """The summary row of the degradation-prediction study of ``net`` (its committed record), or its absence."""
    title = '3 (prediction). The filters predict the degradation as well as the classical predictor (trained levels)'
    path = osp.join(root, 'results', 'degradation_prediction', net, 'prediction.json')
    if not osp.isfile(path):
        return [title, net, 'prediction study', 'not recorded yet', '—', '—', anchor(PREDICTION_HEADING)]
    study = read_study(path)
    if other_models_note(root, net, study.get('run_key', {}).get('use_key'), '', ''):
        return [title, net, 'prediction study', 'left out (other models)', '—', '—', anchor(PREDICTION_HEADING)]
    numbers = headline(study)
    return [title, net, 'prediction study', plain_verdict(numbers['goal_met']), '—',
            f'4-class accuracy at the trained levels: filter-based {percent_text(numbers["filters"])}'
            + (f' (relative change {percent_text(numbers["relative"])})' if 'relative' in numbers else '') + ' vs classical '
            f'{percent_text(numbers["classical"])}', anchor(PREDICTION_HEADING)]


def summary_section(nets, runs, retraining=None, prediction=None):
    """The report's opening table: finding × network × budget -> verdict, per-image count, key number, link.

    ``runs``: [(budget label, {net: report JSON entry}, link(net))] in budget order; ``retraining``: {net: checks
    of :func:`faig.evaluation.retraining.findings`, or why there are none (None: no study)}; ``prediction``:
    {net: row}. Either None: not part of this report."""
    rows = []
    ids = list(dict.fromkeys(f['id'] for _, entries, _ in runs for entry in entries.values()
                             for f in entry['findings']))
    for finding_id in ids:
        for net in nets:
            for label, entries, link in runs:
                entry = entries.get(net)
                found = [f for f in (entry or {}).get('findings', []) if f['id'] == finding_id]
                if not found:
                    continue
                f = found[0]
                pair = tuple(entry.get('degradations') or DEFAULT_PAIR)
                rows.append([f['title'], net, label, plain_verdict(f['holds']), per_image_count(f.get('per_image')),
                             key_number(finding_id, f.get('numbers'), pair), link(net)])
    if retraining is not None:
        link = anchor(RETRAINING_HEADING)
        checks = {net: {c['id']: c for c in retraining.get(net) or [] if isinstance(c, dict)} for net in nets}
        for check_id in dict.fromkeys(i for net in nets for i in checks[net]):
            for net in nets:
                c = checks[net].get(check_id)
                if c:
                    rows.append([retraining_title(check_id), net, 'retraining study', plain_verdict(c['holds']),
                                 per_image_count(c.get('per_image')), key_number(check_id, c.get('numbers')), link])
        for net in nets:
            if not checks[net]:
                why = retraining.get(net)
                rows.append(['2 (retraining). Weights, locations, connections', net, 'retraining study',
                             why if isinstance(why, str) else 'not recorded yet', '—', '—', link])
    for net in nets:
        if prediction is not None and net in prediction:
            rows.append(prediction[net])
    table = Table(['finding', 'network', 'budget', 'verdict (on the means)', 'holds per image', 'key number',
                   'section'], [[*row[:-1], f'[details]({row[-1]})'] for row in rows])
    return [SUMMARY_HEADING,
            'Each finding of the paper, per network and budget: the verdict on the means over the test images, on how '
            'many images it holds alone, and the numbers it turns on.', table]
