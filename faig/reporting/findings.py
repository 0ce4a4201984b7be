"""The paper's findings as checks on plain numbers: each gives a verdict on the means over the test images (the
paper's numbers) and, through :func:`per_image_verdicts`, on every test image alone ("holds on k of n images").

The two degradations of a study and their words (titles, sentences) come from their specs (faig/specs.py).
"""
from dataclasses import dataclass, field

import numpy as np

from faig.attribution.methods import load_methods
from faig.attribution.ranking import rank
from faig.evaluation.gradient_map import NOTHING_MEASURABLE, below_resolution
from faig.evaluation.location import describe_location, filter_location
from faig.attribution.methods import METHODS as RANKING_METHODS
from faig.specs import DEFAULT_PAIR, NETWORKS, degradation


def method_label(name):
    """A method's label in the report (any registered method, plugins included: faig.attribution.methods)."""
    load_methods()
    spec = RANKING_METHODS.get(name)
    return spec.label if spec else name


def compared_methods(results):
    """The methods other than FAIG that a comparison ran, in registration order (plugins after the paper's)."""
    load_methods()
    ran = {key[0] for key in results}
    return [m for m in (*RANKING_METHODS, *sorted(ran - set(RANKING_METHODS))) if m != 'faig' and m in ran]


def capitalised(text):
    return text[:1].upper() + text[1:]  # not str.capitalize: 'JPEG-artifact removal' stays as it is


def titles(pair=DEFAULT_PAIR):
    """{finding id: title} for the degradation pair (a, b), in the words of their specs."""
    a, b = (degradation(d) for d in pair)
    return {
        '1': '1. Masking 1% FAIG filters removes the matching function and keeps the other',
        '2': '2. FAIG beats IG, |θ−θ̄| and random on the matching function',
        '3a': f'3a. {capitalised(a.function)} filters sit further back than {b.function} filters (mean layer depth)',
        '3b': f'3b. {capitalised(b.function)} filters spread more uniformly over the layers than {a.function} filters '
              '(distance from a uniform spread)',
        f'4_{a.name}': f'4. Modulating the 1% {a.function} filters is monotone in λ',
        f'4_{b.name}': f'4. Modulating the 1% {b.function} filters is monotone in λ',
    }


TITLES = titles()


@dataclass
class Check:
    """One verdict: whether the finding holds, its key numbers (JSON-ready) and a sentence."""
    holds: bool
    numbers: dict = field(default_factory=dict)
    text: str = ''


# ---- the checks (plain dicts in, Check out) ------------------------------------------------------

def finding_masking_ratio(results, pair=DEFAULT_PAIR):
    """Finding 1: masking the 1 % FAIG filters of one function changes that function's output far more.

    ``results``: {(method, proportion, masked filters, input): output difference}; ``pair``: the two
    degradations (a, b)."""
    a, b = pair
    sa, sb = degradation(a), degradation(b)
    if below_resolution(results.values()):
        return Check(False, {'nothing_measurable': True}, capitalised(NOTHING_MEASURABLE) + '.')
    aa, ba = results[('faig', 1, a, a)], results[('faig', 1, b, a)]
    bb, ab = results[('faig', 1, b, b)], results[('faig', 1, a, b)]
    ratio_a, ratio_b = aa / max(ba, 1e-12), bb / max(ab, 1e-12)
    text = (f'{sa.adjective} input: masking the 1% FAIG {sa.function} filters changes the output {ratio_a:.1f}× as '
            f'much as masking the 1% {sb.function} filters ({aa:.4f} vs {ba:.4f}); {sb.adjective} input: masking the '
            f'{sb.function} filters changes it {ratio_b:.1f}× as much as masking the {sa.function} filters '
            f'({bb:.4f} vs {ab:.4f}).')
    numbers = {f'{a}_ratio': float(ratio_a), f'{b}_ratio': float(ratio_b), 'threshold': 2.0}
    return Check(bool(ratio_a >= 2 and ratio_b >= 2), numbers, text)


def finding_faig_beats_others(results, proportions, pair=DEFAULT_PAIR):
    """Finding 2: FAIG's filters change the matching function more than the other methods' at every proportion."""
    if below_resolution(results.values()):
        return Check(False, {'nothing_measurable': True}, capitalised(NOTHING_MEASURABLE) + '.')
    failures = []
    a, b = pair
    others = compared_methods(results)
    for deg, function in ((d, degradation(d).function) for d in pair):
        for p in proportions:
            ours = results[('faig', p, deg, deg)]
            if not others:
                continue
            best_other = max(others, key=lambda m: results[(m, p, deg, deg)])
            if ours <= results[(best_other, p, deg, deg)]:
                failures.append((function, p, best_other, results[(best_other, p, deg, deg)], ours))
    at1 = {deg: {m: float(results[(m, 1, deg, deg)]) for m in ('faig', *others)} for deg in pair}
    shown = {deg: ', '.join(f'{method_label(m)} {v:.4f}' for m, v in at1[deg].items()) for deg in at1}
    sa, sb = degradation(a), degradation(b)
    text = (f'at 1%, {sa.adjective} input with {sa.function} filters masked: {shown[a]}; {sb.adjective} input with '
            f'{sb.function} filters masked: {shown[b]}.')
    text += (' FAIG is ahead at every proportion.' if not failures else ' Not ahead: ' + '; '.join(
        f'{function} at {p}% ({method_label(m)} {v:.4f} ≥ FAIG {ours:.4f})' for function, p, m, v, ours in failures) + '.')
    holds_at_1 = not any(p == 1 for _, p, _, _, _ in failures)
    if failures:
        text += f' At 1%: {"holds" if holds_at_1 else "does not hold"}.'
    numbers = {'holds_at_1': holds_at_1, 'at_1': at1,
               'failures': [f'{function} at {p}%: {m}' for function, p, m, _, _ in failures]}
    return Check(not failures, numbers, text)


def location_stats(space, rankings, pair=DEFAULT_PAIR):
    """{a: stats, b: stats} of the top 1 % of each ranking (:func:`filter_location`)."""
    return {deg: filter_location(space, rankings[deg]) for deg in pair}


def location_numbers(stats, pair=DEFAULT_PAIR):
    return {f'{key}_{deg}': float(stats[deg][key]) for deg in pair
            for key in ('mean_depth', 'distance_from_uniform')}


def location_text(stats, pair=DEFAULT_PAIR):
    a, b = pair
    return (f'Top 1% ({stats[a]["filters"]} filters each) — {describe_location(degradation(a).function, stats[a])}; '
            f'{describe_location(degradation(b).function, stats[b])}.')


def finding_further_back(stats, pair=DEFAULT_PAIR):
    """Finding 3a: the top a-removing (deblurring) filters sit further back (larger mean layer depth) than the
    b-removing (denoising) ones."""
    a, b = pair
    return Check(bool(stats[a]['mean_depth'] > stats[b]['mean_depth']), location_numbers(stats, pair),
                 location_text(stats, pair))


def finding_more_uniform(stats, pair=DEFAULT_PAIR):
    """Finding 3b: the top b-removing (denoising) filters are spread more like random filters than the a ones."""
    a, b = pair
    return Check(bool(stats[b]['distance_from_uniform'] < stats[a]['distance_from_uniform']),
                 location_numbers(stats, pair), 'Same numbers as 3a.')


def finding_modulation(lambdas, values):
    """Finding 4: moving λ changes the output monotonically (towards the target up to λ=1, away beyond)."""
    lambdas, values = np.asarray(lambdas, dtype=np.float64), np.asarray(values, dtype=np.float64)
    order = np.argsort(lambdas, kind='stable')  # a run may list its λ in any order
    lambdas, values = lambdas[order], values[order]
    if below_resolution(values[np.abs(lambdas - 1) > 1e-9]):  # λ = 1 is the target itself: 0 there by definition
        return Check(False, {'lambdas': lambdas.tolist(), 'output_difference': values.tolist(),
                             'nothing_measurable': True}, capitalised(NOTHING_MEASURABLE) + '.')
    below = values[lambdas <= 1 + 1e-9]
    above = values[lambdas >= 1 - 1e-9]
    monotone = bool(np.all(np.diff(below) <= 1e-9) and np.all(np.diff(above) >= -1e-9))
    shown = ', '.join(f'λ={l:.1f}: {v:.4f}' for l, v in zip(lambdas[::3], values[::3]))
    numbers = {'lambdas': lambdas.tolist(), 'output_difference': values.tolist()}
    return Check(monotone, numbers, f'output difference to the target along λ ({shown}).')


# ---- per image ------------------------------------------------------------------------------------

def image_tables(per_image):
    """{image: {key: value}} from {key: {image: value}}, for the images that have every key."""
    if not per_image:
        return {}
    stems = set.intersection(*(set(values) for values in per_image.values()))
    return {stem: {key: values[stem] for key, values in per_image.items()} for stem in sorted(stems)}


def image_rankings(scores, pair=DEFAULT_PAIR):
    """{image: {a: ranking, b: ranking}} from per-image FAIG scores s(x_a) - s(x_b)."""
    a, b = pair
    return {stem: {a: rank(diff), b: rank(-np.asarray(diff))} for stem, diff in sorted(scores.items())}


def per_image_verdicts(check, inputs):
    """{image: whether ``check(input)`` holds} for ``inputs`` = {image: the check's argument}."""
    return {stem: bool(check(value).holds) for stem, value in inputs.items()}


def robustness(verdicts):
    """'holds on k of n images' of {image: holds}: {'holds', 'images', 'failing'}, or None without images."""
    if not verdicts:
        return None
    return {'holds': sum(verdicts.values()), 'images': len(verdicts),
            'failing': sorted(stem for stem, ok in verdicts.items() if not ok)}


def describe_robustness(per_image):
    if per_image is None:
        return 'Per image: no per-image data (results from an older run); mean verdict only.'
    text = f'Per image: holds on {per_image["holds"]} of {per_image["images"]} images'
    return text + (f' (fails on {", ".join(per_image["failing"])}).' if per_image['failing'] else '.')


def paper_scope(net, finding_id, pair=DEFAULT_PAIR):
    """Finding 3 is the paper's claim for SRResNet (and deblurring vs denoising) only."""
    if not finding_id.startswith('3'):
        return ''
    if tuple(pair) != tuple(DEFAULT_PAIR):
        return ' (the paper states this for SRResNet, deblurring vs denoising, only; reported here for information)'
    if any(spec.paper_locates_filters and spec.name in net.lower() for spec in NETWORKS.values()):
        return ' (the paper states this for SRResNet only)'
    return ' (the paper states this for SRResNet only; reported here for information)'


def net_findings(means, per_image, proportions, location, image_location, modulation, pair=DEFAULT_PAIR):
    """Every finding of one network, on the means and on each image.

    Args:
        means: {(method, proportion, masked filters, input): mean output difference}.
        per_image: {same key: {image: output difference}} ({} when not recorded).
        proportions: the proportions (%) of the comparison.
        location: {a: stats, b: stats} of the mean rankings (:func:`location_stats`).
        image_location: {image: such stats} ({} when not recorded).
        modulation: {a|b: {'lambdas': [...], 'output_difference': [...], 'per_image': {image: [...]}}}
            ('per_image' optional); None: not run (no finding 4).
        pair: the two degradations (a, b) (default the paper's blur and noise).
    Returns:
        [{'id', 'title', 'holds', 'numbers', 'text', 'per_image', 'verdicts'}] in the order of :func:`titles`;
        'per_image' is :func:`robustness`'s dict or None, 'verdicts' {image: holds}.
    """
    pair = tuple(pair)
    tables = image_tables(per_image)
    checks = {
        '1': (lambda r: finding_masking_ratio(r, pair), means, tables),
        '2': (lambda r: finding_faig_beats_others(r, proportions, pair), means, tables),
        '3a': (lambda st: finding_further_back(st, pair), location, image_location),
        '3b': (lambda st: finding_more_uniform(st, pair), location, image_location),
    }
    for deg in (pair if modulation is not None else ()):
        diffs = modulation[deg]
        curves = diffs.get('per_image') or {}

        def check(values, lambdas=diffs['lambdas']):
            return finding_modulation(lambdas, values)
        checks[f'4_{deg}'] = (check, diffs['output_difference'], curves)
    findings = []
    for finding_id, title in titles(pair).items():
        if finding_id not in checks:
            continue
        check, mean_input, image_inputs = checks[finding_id]
        result = check(mean_input)
        verdicts = per_image_verdicts(check, image_inputs)
        findings.append({'id': finding_id, 'title': title, 'holds': result.holds,
                         'numbers': result.numbers, 'text': result.text,
                         'per_image': robustness(verdicts), 'verdicts': verdicts})
    return findings


def plain_verdict(ok):
    return 'holds' if ok else 'does not hold'


def verdict(ok):
    return '**holds**' if ok else '**does not hold**'

