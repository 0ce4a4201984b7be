"""results/report.md: the tables and figures of a reproduction run, and one checked sentence per finding.

Each finding is checked by one small function on plain numbers (a :class:`Check`); the same function
gives the verdict on the paper's numbers (means over the test images) and, through
:func:`per_image_verdicts`, on every test image alone ("holds on k of n images").
The report opens with one summary table (finding × network × budget). Beside report.md,
``results/report_<setting>.json`` keeps the verdicts in machine-readable form; a ``--full`` run keeps its own
in ``results/reference/<net>/`` instead (committed; no other run writes there), and the report compares the
default budget with those, verdict by verdict and image by image.

The two degradations of a study and their words (titles, sentences) come from their specs
(faig/specs.py) and the pair the rankings' meta.json records, so a JPEG-vs-noise study reads as
such; :func:`pair_section` is the section of one such study (scripts/pair_report.py).
"""
import json
import os
import os.path as osp
import re
import time
from dataclasses import dataclass, field

import numpy as np

from faig.attribution.ranking import rank, read_index
from faig.data.image_io import write_bytes
from faig.errors import InputError
from faig.evaluation.comparison import read_comparison
from faig.evaluation.gradient_map import NOTHING_MEASURABLE, below_resolution
from faig.evaluation.location import describe_location, filter_location
from faig.evaluation.masking import num_selected
from faig.paths import BUNDLED_MODELS
from faig.networks import load_params
from faig.attribution.methods import METHODS as RANKING_METHODS
from faig.specs import (CLEAN_FOLDER, DEFAULT_PAIR, DEGRADATIONS, RESULTS, ResultsLayout, degradation,
                        results_folder)
from faig.stamps import sha1_file, state_digest
from faig.tables import markdown_table



def method_label(name):
    """A method's label in the report (any registered method, plugins included: faig.attribution.methods)."""
    from faig.attribution.methods import load_methods
    load_methods()
    spec = RANKING_METHODS.get(name)
    return spec.label if spec else name


def compared_methods(results):
    """The methods other than FAIG that a comparison ran, in registration order (plugins after the paper's)."""
    from faig.attribution.methods import load_methods
    load_methods()
    ran = {key[0] for key in results}
    return [m for m in (*RANKING_METHODS, *sorted(ran - set(RANKING_METHODS))) if m != 'faig' and m in ran]
FOLDER_TITLES = {CLEAN_FOLDER: 'clean (bilinear LR)', **{spec.folder: spec.adjective for spec in DEGRADATIONS.values()}}
MODULATION_KINDS = {d: degradation(d).modulation_kind for d in DEFAULT_PAIR}
DEFAULT_BUDGET = {'steps': 16, 'crop': 64}  # scripts/reproduce.py without options
FULL_BUDGET = {'steps': 100, 'crop': None}  # scripts/reproduce.py --full


def _capitalised(text):
    return text[:1].upper() + text[1:]  # not str.capitalize: 'JPEG-artifact removal' stays as it is


def titles(pair=DEFAULT_PAIR):
    """{finding id: title} for the degradation pair (a, b), in the words of their specs."""
    a, b = (degradation(d) for d in pair)
    return {
        '1': '1. Masking 1% FAIG filters removes the matching function and keeps the other',
        '2': '2. FAIG beats IG, |θ−θ̄| and random on the matching function',
        '3a': f'3a. {_capitalised(a.function)} filters sit further back than {b.function} filters (mean layer depth)',
        '3b': f'3b. {_capitalised(b.function)} filters spread more uniformly over the layers than {a.function} filters '
              '(distance from a uniform spread)',
        f'4_{a.name}': f'4. Modulating the 1% {a.function} filters is monotone in λ',
        f'4_{b.name}': f'4. Modulating the 1% {b.function} filters is monotone in λ',
    }


TITLES = titles()
ORDER = tuple(TITLES)


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
        return Check(False, {'nothing_measurable': True}, f'{NOTHING_MEASURABLE[0].upper()}{NOTHING_MEASURABLE[1:]}.')
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
        return Check(False, {'nothing_measurable': True}, f'{NOTHING_MEASURABLE[0].upper()}{NOTHING_MEASURABLE[1:]}.')
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
                             'nothing_measurable': True}, f'{NOTHING_MEASURABLE[0].upper()}{NOTHING_MEASURABLE[1:]}.')
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
    if 'srresnet' in net.lower():
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


# ---- the default budget against --full ------------------------------------------------------------

def setting_name(settings):
    """``settings['setting']``, else as scripts/reproduce.py names it (e.g. 'steps16_riemann_left_crop64')."""
    if settings.get('setting'):
        return settings['setting']
    crop = settings.get('crop')
    return f'steps{settings["steps"]}_{settings["quadrature"]}_' + ('full' if crop is None else f'crop{crop}')


def budget_settings(quadrature):
    """(default budget's setting name, --full's setting name) for a quadrature rule."""
    return tuple(setting_name({**budget, 'quadrature': quadrature}) for budget in (DEFAULT_BUDGET, FULL_BUDGET))


REFERENCE = 'reference'
BUDGETS_HEADING = '## Default budget vs --full'


def reference_path(results, net, setting):
    """Where a --full run keeps the record of ``net`` (its report JSON entry with the per-image verdicts and wall
    times): ``<results>/reference/<net>/report_<setting>.json``. Only a --full run writes there; the report of
    any run reads it, so that the records can be committed and compared with on a fresh clone."""
    return osp.join(results, REFERENCE, net, f'report_{setting}.json')


def read_reference(results, setting):
    """The reference records of ``setting`` of every network, as one report JSON (``'nets'``: {net: entry});
    None without any."""
    found = {}
    folder = osp.join(results, REFERENCE)
    for net in sorted(os.listdir(folder)) if osp.isdir(folder) else ():
        data = read_report_json(reference_path(results, net, setting))
        if data and net in data['nets']:
            entry = data['nets'][net]
            found[net] = (data, {**entry, 'generated': entry.get('generated', data.get('generated'))})
    if not found:
        return None
    latest = max((data for data, _ in found.values()), key=lambda d: str(d.get('generated')))
    return {**latest, 'nets': {net: entry for net, (_, entry) in found.items()}}


def compare_reports(default, full):
    """[(net, finding id, default verdict, --full verdict)] for the findings of the nets both reports have."""
    rows = []
    for net, entry in default['nets'].items():
        other = full['nets'].get(net)
        if other is None:
            continue
        theirs = {f['id']: f for f in other['findings']}
        rows += [(net, f['id'], f['holds'], theirs[f['id']]['holds']) for f in entry['findings'] if f['id'] in theirs]
    return rows


def pair_sha1(root, models_dir, net):
    """{'baseline_sha1', 'target_sha1'} of a net's model files in ``models_dir`` (None for a missing file)."""
    paths = {f'{kind}_sha1': osp.join(root, models_dir, net, f'{kind}_model.pth') for kind in ('baseline', 'target')}
    return {key: sha1_file(path) if osp.isfile(path) else None for key, path in paths.items()}


def of_other_models(entry, now):
    """Whether a report JSON's net entry was made with other models than ``now`` ({'baseline_sha1',
    'target_sha1'} of the files there now; None: unknown). Older entries record the target only."""
    if not now:
        return False
    return entry.get('target_sha1') != now.get('target_sha1') or \
        entry.get('baseline_sha1', now.get('baseline_sha1')) != now.get('baseline_sha1')


def agreement_section(default, full, current=None):
    """Markdown lines of "Default budget vs --full" from the two report JSONs (``full``: the reference records,
    :func:`read_reference`): the verdicts on the means, then per network every verdict at both budgets per image,
    the ones that differ named, and the attribution's wall time per image.

    ``current``: {net: {'baseline_sha1', 'target_sha1'}} of the models the report is about: a net whose two
    runs were both made with other models (e.g. before a swap) is left out of the comparison, and one run of
    other models is named, so that old verdicts are never shown as those of the models now."""
    current = current or {}
    both = [net for net in default['nets'] if net in full['nets']]
    stale = {net: [name for name, report in (('default-budget', default), ('--full', full))
                   if of_other_models(report['nets'][net], current.get(net))] for net in both}
    left_out = [net for net in both if len(stale[net]) == 2]
    default = dict(default, nets={n: e for n, e in default['nets'].items() if n not in left_out})
    rows = compare_reports(default, full)
    same = sum(a == b for _, _, a, b in rows)
    made = ', '.join(f'{net} {entry.get("generated", full.get("generated"))}' for net, entry in full['nets'].items())
    lines = [BUDGETS_HEADING, '',
             f'Default budget: `{default["setting"]}` (report of {default["generated"]}); --full: `{full["setting"]}` '
             f'(records in `{full.get("folder", REFERENCE)}/`, made {made}). '
             f'The verdicts on the means agree on {same} of {len(rows)} findings.', '']
    for net in left_out:
        lines += [f'Not compared for {net}: both runs were made with other models than the ones there now '
                  f'(rerun `python scripts/reproduce.py --nets {net}` and '
                  f'`python scripts/reproduce.py --full --nets {net}`).',
                  '']
    for net in both:
        if len(stale[net]) == 1:
            flag = ' --full' if stale[net][0] == '--full' else ''
            lines += [f'Note: the {stale[net][0]} run of {net} was made with other models than the ones there now '
                      f'(rerun `python scripts/reproduce.py{flag} --nets {net}`), so the two differ in more than the '
                      'budget.', '']
    changed = [net for net in both if not stale[net]
               and default['nets'][net].get('target_sha1') != full['nets'][net].get('target_sha1')]
    if changed:
        lines += [f'Note: the two runs used different models for {", ".join(changed)} (retrained in between), so '
                  'they differ in more than the budget.', '']
    images = [{(net, f['id']): f['per_image'] for net, entry in report['nets'].items() for f in entry['findings']}
              for report in (default, full)]
    lines += markdown_table(['net', 'finding', 'default budget', '--full', 'agree'], [
        [net, finding_id, *(short_verdict(ok, counts.get((net, finding_id))) for ok, counts in zip((a, b), images)),
         'yes' if a == b else '**no**'] for net, finding_id, a, b in rows]) + ['']
    for net in dict.fromkeys(net for net, *_ in rows):
        lines += image_verdicts(net, default['nets'][net], full['nets'][net])
        lines += wall_times(net, default['nets'][net], full['nets'][net])
    return lines


def image_verdicts(net, default, full):
    """Lines of one network: every verdict of both budgets on the means and on each image (images as columns),
    then which of them differ between the budgets."""
    theirs = {f['id']: f for f in full['findings']}
    pairs = [(f, theirs[f['id']]) for f in default['findings'] if f['id'] in theirs]
    stems = sorted({stem for pair in pairs for f in pair for stem in (f.get('verdicts') or {})})
    rows, differ = [], []
    for mine, other in pairs:
        for budget, f in (('default', mine), ('--full', other)):
            verdicts = f.get('verdicts')
            rows.append([mine['id'], budget, plain_verdict(f['holds']),
                         *('—' if not verdicts or stem not in verdicts else plain_verdict(verdicts[stem])
                           for stem in stems)])
        if mine['holds'] != other['holds']:
            differ.append(f'{mine["id"]} on the means (default: {plain_verdict(mine["holds"])}, '
                          f'--full: {plain_verdict(other["holds"])})')
        a, b = mine.get('verdicts') or {}, other.get('verdicts') or {}
        differ += [f'{mine["id"]} on {stem} (default: {plain_verdict(a[stem])}, --full: {plain_verdict(b[stem])})'
                   for stem in stems if stem in a and stem in b and a[stem] != b[stem]]
    lines = [f'**{net}: every verdict at both budgets, on the means and per image** (— : not recorded)', '',
             *markdown_table(['finding', 'budget', 'means', *stems], rows), '']
    if differ:
        lines += [f'Verdicts of {net} that differ between the budgets: {"; ".join(differ)}. The default budget '
                  f'attributes on {DEFAULT_BUDGET["crop"]}×{DEFAULT_BUDGET["crop"]} centre crops with '
                  f'{DEFAULT_BUDGET["steps"]} steps, --full on whole images with {FULL_BUDGET["steps"]}: other pixels '
                  'enter the rankings and the output differences, and a ratio or an order near its threshold may '
                  'cross it.', '']
    else:
        lines += [f'No verdict of {net} differs between the budgets.', '']
    return lines


def wall_times(net, default, full):
    """Lines of one network: the attribution's wall time per image (FAIG and IG) at both budgets."""
    runs = [('default', default.get('wall_seconds') or {}), ('--full', full.get('wall_seconds') or {})]
    columns = [(budget, method, times.get(method) or {}) for budget, times in runs for method in ('faig', 'ig')]
    stems = sorted({stem for *_, per in columns for stem in per})
    if not stems:
        return [f'Wall time of {net}: not recorded (records of an earlier version).', '']

    def seconds(value):
        return '—' if value is None else f'{value:.1f}'
    rows = [[stem, *(seconds(per.get(stem)) for *_, per in columns)] for stem in stems]
    rows.append(['all images', *(seconds(sum(per.values())) if per else '—' for *_, per in columns)])
    devices = '; '.join(f'{budget}: {times["device"]}' for budget, times in runs if times.get('device'))
    lines = [f'**{net}: attribution wall time per image (s)**' + (f' ({devices})' if devices else ''), '',
             *markdown_table(['image', *(f'{method_label(method)}, {budget}' for budget, method, _ in columns)], rows),
             '']
    stages = full.get('stage_seconds')
    if stages:
        lines += [f'Stage times of the --full run that wrote the record of {net} (a resumed stage: its last sitting): '
                  + ', '.join(f'{name[len(net) + 1:]} {seconds:.0f} s' for name, seconds in stages.items()) + '.', '']
    return lines


def plain_verdict(ok):
    return 'holds' if ok else 'does not hold'


def short_verdict(ok, per_image):
    text = 'holds' if ok else 'does not hold'
    return text + (f' ({per_image["holds"]}/{per_image["images"]} images)' if per_image else '')


def read_report_json(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and 'nets' in data and 'setting' in data else None


# ---- reading a run's results ----------------------------------------------------------------------

def report_space(search, net, target_path):
    """The filter space of the FAIG ranking in ``search``: of the network (every layer kind, its --layers),
    built from the network's spec when it has one, else from the checkpoint (conv weights)."""
    from faig.attribution.ranking import ranking_space
    from faig.specs import NETWORKS
    params = load_params(target_path)
    if net in NETWORKS:
        from faig.networks import build_network, fit, preset
        opt = preset(net, 2)
        try:
            return ranking_space(search, fit(build_network(opt), params, target_path, opt))
        except InputError:
            pass  # another scale or arch than the preset: the checkpoint's conv weights
    return ranking_space(search, params)


def load_comparison(path):
    """:func:`read_comparison`, with a clear message for a comparison.csv of an older version."""
    try:
        means, per_image = read_comparison(path)
    except KeyError as exc:
        raise InputError(f'{path}: no {exc} column (written by an older version); rerun the comparison stage '
                         '(delete the file or run scripts/reproduce.py --force)') from None
    if 'faig' not in {key[0] for key in means} or 1 not in {key[1] for key in means}:
        raise InputError(f'{path}: the findings are read for FAIG at 1 % of the filters; this comparison has no such '
                         'rows (run it with --methods including faig and --proportions including 1)')
    return means, per_image


def read_per_image_scores(path, num_filters):
    """{image: s(x_blur) - s(x_noise)} from per_image_scores.npz ({} when the file is absent)."""
    if not osp.isfile(path):
        return {}
    with np.load(path) as data:
        scores = {stem: np.asarray(data[stem]) for stem in data.files}
    for stem, diff in scores.items():
        if diff.shape != (num_filters,):
            raise InputError(f'{path}: {stem} has {diff.size} scores but the network has {num_filters} filters '
                             '(made for another network?)')
    return scores


def verdict(ok):
    return '**holds**' if ok else '**does not hold**'


def other_models_note(root, net, recorded, identity, study, command):
    """The report's line when a committed study of ``net`` was made with models other than the bundled pair
    now (e.g. after a swap), else None: its numbers would otherwise be shown as if they were of this pair.

    ``recorded``: {'baseline'|'target': identity} from the study's record; ``identity``: 'sha1' (of the file)
    or 'state' (:func:`faig.stamps.state_digest` of its tensors), whichever the study records."""
    now = {}
    for kind in ('baseline', 'target'):
        path = osp.join(root, BUNDLED_MODELS, net, f'{kind}_model.pth')
        if not osp.isfile(path):
            now[kind] = None
        else:
            now[kind] = sha1_file(path) if identity == 'sha1' else state_digest(load_params(path))
    recorded = recorded or {}
    differ = [k for k in ('baseline', 'target') if recorded.get(k) is None or recorded.get(k) != now[k]]
    if not differ:
        return None
    shown = ', '.join(f'{k} {str(recorded.get(k))[:8]} (bundled now: {str(now[k])[:8]})' for k in differ)
    return (f'{net}: the {study} on record was made with other models than the bundled pair ({shown}; '
            f'{"file sha1" if identity == "sha1" else "state digest"}), so its numbers are left out; '
            f'rerun `{command}`.')


def retraining_section(root, nets, summary):
    """"Finding 2: weights, locations, connections" from the committed study records
    (results/retrain_study/<net>/study.json, made by scripts/retrain_study.py; never retrained here)."""
    from faig.evaluation import retraining
    from faig.figures import plot_recovered_shares
    lines = [RETRAINING_HEADING, '']
    for net in nets:
        path = osp.join(root, 'results', 'retrain_study', net, 'study.json')
        if not osp.isfile(path):
            lines += [f'{net}: no retraining study recorded yet (`python scripts/retrain_study.py --net {net}`, '
                      'several CPU hours; its results are committed).', '']
            continue
        with open(path) as f:
            study = json.load(f)
        note = other_models_note(root, net, study.get('reference', {}).get('models'), 'sha1', 'retraining study',
                                 f'python scripts/retrain_study.py --net {net}')
        if note:
            lines += [note, '']
            continue
        figure = osp.join(root, ResultsLayout(net, '').figures(), 'retrain_recovered_share.png')
        plot_recovered_shares(study, figure, net)
        lines += [retraining.markdown(study, net), f'![recovered share]({osp.relpath(figure, osp.join(root, "results"))})', '']
        checks = retraining.findings(study)
        for check in checks:
            lines.append(f'- **{net}** — {retraining_title(check["id"])}: {verdict(check["holds"])} '
                         f'(per image {per_image_count(check["per_image"])}). {_capitalised(check["text"])}.')
        lines.append('')
        summary['nets'].setdefault(net, {})['retraining'] = checks
    return lines


def prediction_section(root, nets, dataset):
    """Markdown lines of the report's "Finding 3: degradation prediction" section, from the committed records
    ``<root>/results/degradation_prediction/<net>/prediction.json`` (scripts/predict_degradation_study.py);
    ``dataset``: the data set of the rankings the report is about (a record made from other rankings says so)."""
    from faig.evaluation.degradation_prediction import headline, percent_text, study_markdown
    lines = ['## Finding 3: degradation prediction', '',
             'The paper: the discovered filters realise degradation prediction implicitly. Here each LR image gets two '
             'numbers, the output difference when the top-p % FAIG deblurring filters are masked and when the top-p % '
             'denoising filters are masked; thresholds fitted on a calibration split (other photos) assign clean / '
             'blur / noise / blur_noise, and no network is trained. Beside it, what a user would pick instead: '
             "skimage's estimate_sigma and the variance of the Laplacian, with the same fitting. Both on the same test "
             'split (`python scripts/predict_degradation_study.py --net <net>`; docs/degradation_prediction.md).', '']
    for net in nets:
        path = osp.join(root, 'results', 'degradation_prediction', net, 'prediction.json')
        if not osp.isfile(path):
            lines += [f'{net}: no degradation-prediction study recorded yet '
                      f'(`python scripts/predict_degradation_study.py --net {net}`).', '']
            continue
        with open(path) as f:
            study = json.load(f)
        note = other_models_note(root, net, study.get('run_key', {}).get('use_key'), 'state',
                                 'degradation-prediction study',
                                 # with --force: without it the study refuses to replace a record of other models
                                 f'python scripts/predict_degradation_study.py --net {net} --force')
        if note:
            lines += [note, '']
            continue
        numbers = headline(study)
        relative = (f', filter-based relative change {percent_text(numbers["relative"])}'
                    if 'relative' in numbers else '')
        lines += [f'- **{net}** — 4-class accuracy at the trained levels of the test split: filter-based '
                  f'{percent_text(numbers["filters"])}{relative}, classical {percent_text(numbers["classical"])} '
                  '(thresholds fitted on the trained levels of the calibration split); a filter-based predictor at '
                  'least as accurate as the classical one: '
                  f'{"**yes**" if numbers["goal_met"] else "**no**"}.', '', study_markdown(study)]
        if study.get('ranking_dataset') != dataset:
            lines += [f'Note: these numbers use the rankings of {study.get("ranking_dataset")}, not {dataset}.', '']
        folder = osp.join('degradation_prediction', net)  # links relative to results/report.md
        lines += [f'![scatter]({folder}/scatter.png)', '', f'![confusion]({folder}/confusion.png)', '',
                  *([f'![relative change per level]({folder}/level_scatter.png)', ''] if 'relative' in numbers else []),
                  f'Per-image numbers and predictions: `results/{folder}/prediction.json`.', '']
    return lines


def recorded_pair(rankings_folder):
    """The degradation pair the rankings' meta.json records (``degradations``); the paper's pair for rankings
    without one (older runs, hand-made ones)."""
    path = osp.join(rankings_folder, 'meta.json')
    try:
        with open(path) as f:
            recorded = json.load(f).get('degradations')
    except (OSError, ValueError, AttributeError):
        return tuple(DEFAULT_PAIR)
    if recorded is None:
        return tuple(DEFAULT_PAIR)
    if not (isinstance(recorded, list) and len(recorded) == 2 and all(isinstance(d, str) for d in recorded)):
        raise InputError(f'{path}: degradations: expected two names, got {recorded!r}')
    return tuple(recorded)


def folder_title(folder):
    """'blurry', 'JPEG-compressed', ... for a spec's default LR folder (specs registered so far), else the name."""
    titles_now = {**FOLDER_TITLES, **{spec.folder: spec.adjective for spec in DEGRADATIONS.values()}}
    return titles_now.get(folder, folder)


def psnr_table(psnr):
    """Markdown rows of {'baseline'|'target': {folder: PSNR}}, one per folder of the target."""
    lines = ['| input | baseline PSNR (dB) | target PSNR (dB) | gain |', '|---|---|---|---|']
    for folder in psnr['target']:
        b, t = psnr['baseline'][folder], psnr['target'][folder]
        lines.append(f'| {folder_title(folder)} | {b:.2f} | {t:.2f} | {t - b:+.2f} |')
    return lines + ['']


def study_lines(root, net, psnr, metrics, search, target_path, figures, modulation_folder, link,
                require_modulation=True):
    """The lines of one network's study, its findings and its degradation pair.

    metrics: the comparison's folder (comparison.csv/.md); search: the FAIG rankings' folder (the pair comes
    from its meta.json); figures: [(alt text, link)] to show; modulation_folder(deg, kernels): the folder (relative
    to ``root``) of a modulation's differences.json and contact sheet, shown through ``link``; without one (or
    without ``modulation_folder``) and not ``require_modulation``, finding 4 is left out."""
    lines = psnr_table(psnr) if psnr else []
    means, per_image = load_comparison(osp.join(metrics, ResultsLayout.COMPARISON_CSV))
    proportions = sorted({k[1] for k in means})
    lines += [open(osp.join(metrics, ResultsLayout.COMPARISON_MD)).read(), '']
    for alt, figure in figures:
        lines += [f'![{alt}]({figure})', '']
    space = report_space(search, net, target_path)
    pair = recorded_pair(search)
    rankings = {d: read_index(osp.join(search, f'{d}_index.txt'), space.num_filters) for d in pair}
    scores = read_per_image_scores(osp.join(search, ResultsLayout.PER_IMAGE_SCORES), space.num_filters)
    image_location = {stem: location_stats(space, r, pair) for stem, r in image_rankings(scores, pair).items()}
    modulation = {} if modulation_folder else None
    for deg in (pair if modulation_folder else ()):
        folder = modulation_folder(deg, num_selected(space.num_filters, 1))
        path = osp.join(root, folder, ResultsLayout.MODULATION_RECORD)
        if not require_modulation and not osp.isfile(path):
            modulation = None
            break
        modulation[deg] = json.load(open(path))
        lines += [f'![modulation {deg}]({link(osp.join(folder, ResultsLayout.CONTACT_SHEET))})', '']
    findings = net_findings(means, per_image, proportions, location_stats(space, rankings, pair), image_location,
                            modulation, pair)
    return lines, findings, pair


def pair_section(root, net, metrics, search, target_path, psnr=None, figures=(), modulation_folder=None,
                 link=None, heading=None):
    """Markdown lines of one study of any degradation pair (e.g. JPEG vs noise), beside reproduce.py's report.

    Same tables and checks as :func:`write_report`'s sections, in the words of the pair's specs; the pair is
    the one the FAIG rankings in ``search`` record. ``psnr``: {'baseline'|'target': {folder: PSNR}} or None;
    finding 4 only with a modulation (see :func:`study_lines`). Returns (lines, findings, pair)."""
    section, findings, pair = study_lines(root, net, psnr, metrics, search, target_path, list(figures),
                                          modulation_folder, link or (lambda path: path), require_modulation=False)
    a, b = (degradation(d) for d in pair)
    lines = [heading or f'## {net}: {a.function} vs {b.function} filters', '',
             f'Degradations: {a.name} ({a.input_title}) vs {b.name} ({b.input_title}), as the rankings record them.',
             ''] + section + ['### Findings', '']
    for f in findings:
        f['title'] += paper_scope(net, f['id'], pair)
        lines.append(f'- {f["title"]}: {verdict(f["holds"])}. {f["text"]} {describe_robustness(f["per_image"])}')
    return lines + [''], findings, pair


# ---- the summary at the top of report.md -----------------------------------------------------------

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
                    + ('; more than FAIG: ' + ', '.join(f'{retraining_label(k)} {v:.3f}' for k, v in ahead.items())
                       if ahead else ''))
        if finding_id.startswith('2-connections-'):
            return f'permuted / masked: {numbers["ratio"]:.2f}× (holds at ≥ {numbers["threshold"]:g}×)'
    except KeyError:
        return 'not recorded'
    return ''


def retraining_label(selection):
    from faig.evaluation.retraining import LABELS
    return LABELS.get(selection, selection)


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
    from faig.evaluation.degradation_prediction import headline, percent_text
    title = '3 (prediction). The filters predict the degradation as well as the classical predictor (trained levels)'
    path = osp.join(root, 'results', 'degradation_prediction', net, 'prediction.json')
    if not osp.isfile(path):
        return [title, net, 'prediction study', 'not recorded yet', '—', '—', anchor(PREDICTION_HEADING)]
    with open(path) as f:
        study = json.load(f)
    if other_models_note(root, net, study.get('run_key', {}).get('use_key'), 'state', '', ''):
        return [title, net, 'prediction study', 'left out (other models)', '—', '—', anchor(PREDICTION_HEADING)]
    numbers = headline(study)
    return [title, net, 'prediction study', plain_verdict(numbers['goal_met']), '—',
            f'4-class accuracy at the trained levels: filter-based {percent_text(numbers["filters"])}'
            + (f' (relative change {percent_text(numbers["relative"])})' if 'relative' in numbers else '') + ' vs classical '
            f'{percent_text(numbers["classical"])}', anchor(PREDICTION_HEADING)]


def summary_lines(nets, runs, retraining=None, prediction=None):
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
    table = markdown_table(['finding', 'network', 'budget', 'verdict (on the means)', 'holds per image',
                            'key number', 'section'], [[*row[:-1], f'[details]({row[-1]})'] for row in rows])
    return [SUMMARY_HEADING, '',
            'Each finding of the paper, per network and budget: the verdict on the means over the test images, on how '
            'many images it holds alone, and the numbers it turns on.', '', *table, '']


def attribution_seconds(root, layout):
    """{'faig'|'ig': {image: seconds}, 'device'} from the FAIG and IG rankings' meta.json (a resumed run keeps
    the times of the images it had finished); {} without them."""
    out = {}
    for method in ('faig', 'ig'):
        try:
            with open(osp.join(root, layout.rankings(method), 'meta.json')) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            continue
        out[method] = {r['image']: r['seconds'] for r in meta.get('images', []) if 'seconds' in r}
        if meta.get('device'):
            out.setdefault('device', meta['device'])
    return out


def write_report(root, nets, dataset, settings):
    """Write report.md and the run's record in the results folder (``results``, or the one
    ``faig.specs.results_in`` set: a staged pair's); return the path of report.md.

    The record is ``report_<setting>.json`` there, or for a reference run (``settings['reference']``, the --full
    runs) one ``reference/<net>/report_<setting>.json`` per network (:func:`reference_path`), which no other run
    writes; the default budget is compared with those.

    ``settings``: 'steps', 'quadrature', 'crop' (None = whole images), optional 'timings' ({stage: seconds}),
    'setting' (the name of the run; default from steps/quadrature/crop), 'device' (printed when given),
    'models_dir' (the folder of the <net>/{baseline,target}_model.pth pairs; default the bundled ones) and
    'reference' (bool)."""
    models_dir = settings.get('models_dir') or BUNDLED_MODELS
    results_dir = results_folder()  # results, or the staged pair's folder (faig.specs.results_in)
    crop = settings['crop']
    setting = setting_name(settings)
    timings = settings.get('timings') or {}
    region = 'the whole test images' if crop is None else f'centre crops of {crop}×{crop} LR pixels of the test images'
    head = [f'# FAIG reproduction on the bundled sample data ({dataset})', '',
            f'Generated by `python scripts/reproduce.py` on {time.strftime("%Y-%m-%d %H:%M")} (setting `{setting}`). '
            f'Attribution: {settings["steps"]} steps ({settings["quadrature"]}) on {region}; '
            'masking, modulation and figures on the same images; PSNR of the models on the whole images. '
            'Output difference = mean over images of the MSE between the gradient maps of the masked and the '
            "target model's outputs, ×1000. Each verdict is taken on these means (the paper's numbers) and "
            'then on every image alone.', '']
    if settings.get('device'):
        head += [f'Device: {settings["device"]}.', '']
    head += [f'Models: `{models_dir}/<net>/{{baseline,target}}_model.pth`'
             + (' (the bundled pairs).' if models_dir == BUNDLED_MODELS else '.'), '']
    summary = {'setting': setting, 'dataset': dataset, 'steps': settings['steps'],
               'quadrature': settings['quadrature'], 'crop': crop, 'device': settings.get('device'),
               'generated': time.strftime('%Y-%m-%d %H:%M'), 'models_dir': models_dir, 'nets': {}}
    lines = []
    all_findings = []
    for net in nets:
        lines += [f'## {net}', '']
        psnr = {k: json.load(open(osp.join(root, ResultsLayout(net, dataset).psnr_record(k))))['psnr']
                for k in ('baseline', 'target')}
        layout = ResultsLayout(net, dataset)
        target_path = osp.join(root, models_dir, net, 'target_model.pth')
        in_results = lambda path: osp.relpath(path, results_dir)  # noqa: E731  (links relative to report.md)
        figures = [(title, in_results(layout.figure(kind))) for title, kind in (
            ('proportion curves', 'proportion_curves'), ('masking', 'masking'),
            ('filter distribution', 'filter_distribution'))]
        section, findings, pair = study_lines(
            root, net, psnr, osp.join(root, layout.metrics()), osp.join(root, layout.rankings('faig')), target_path,
            figures, lambda deg, kernels: osp.join(layout.modulation(), f'{kernels}kernels',
                                                   degradation(deg).modulation_kind), in_results)
        lines += section
        for f in findings:
            f['title'] += paper_scope(net, f['id'], pair)
        all_findings.append((net, findings))
        summary['nets'][net] = {**pair_sha1(root, models_dir, net), 'generated': summary['generated'], 'findings': [
            {'id': f['id'], 'title': f['title'], 'holds': f['holds'], 'per_image': f['per_image'],
             'verdicts': f['verdicts'], 'numbers': f['numbers']} for f in findings],
            'wall_seconds': attribution_seconds(root, layout),
            'stage_seconds': {k: v for k, v in timings.items() if k.startswith(f'{net} ')}}
        if pair != tuple(DEFAULT_PAIR):
            summary['nets'][net]['degradations'] = list(pair)
    retraining = prediction = None
    if models_dir == BUNDLED_MODELS:
        lines += retraining_section(root, nets, summary)
        lines += prediction_section(root, nets, dataset)
        retraining = {net: summary['nets'][net].get('retraining') or (
            'left out (other models)' if osp.isfile(osp.join(root, 'results', 'retrain_study', net, 'study.json'))
            else None) for net in nets}
        prediction = {net: prediction_row(root, net) for net in nets}
    else:  # their committed studies are of the bundled pairs, not of these
        lines += ['## Findings 2 (retraining) and 3 (degradation prediction)', '',
                  f'Not part of this report: their studies (`{RESULTS}/retrain_study/`, `{RESULTS}/degradation_prediction/`) '
                  f'were made with the bundled pairs, not with `{models_dir}`.', '']
    lines += ['## Findings', '']
    for net, findings in all_findings:
        lines += [findings_heading(net), '']
        for f in findings:
            lines.append(f'- **{net}** — {f["title"]}: {verdict(f["holds"])}. {f["text"]} '
                         f'{describe_robustness(f["per_image"])}')
        lines.append('')
    results = osp.join(root, results_dir)
    if settings.get('reference'):  # one record per network: a --full run split by network keeps the others
        for net in nets:
            write_bytes(reference_path(results, net, setting),
                        (json.dumps(dict(summary, nets={net: summary['nets'][net]}), indent=2, ensure_ascii=False)
                         + '\n').encode())
    else:
        json_path = osp.join(results, f'report_{setting}.json')
        earlier = read_report_json(json_path)
        # (the file is named by its setting) a run of some nets keeps the other nets' entries -- of the same models
        # folder
        if earlier and earlier.get('models_dir', BUNDLED_MODELS) == models_dir:
            kept = {net: entry for net, entry in earlier['nets'].items() if net not in summary['nets']}
            for entry in kept.values():
                entry.setdefault('generated', earlier.get('generated'))
            summary['nets'] = {**kept, **summary['nets']}
        write_bytes(json_path, (json.dumps(summary, indent=2, ensure_ascii=False) + '\n').encode())
    default_setting, full_setting = budget_settings(settings['quadrature'])
    default = read_report_json(osp.join(results, f'report_{default_setting}.json'))
    full = read_reference(results, full_setting)
    if full:
        full['folder'] = osp.join(results_dir, REFERENCE)  # as the report shows it
    current = {net: {k: summary['nets'][net][k] for k in ('baseline_sha1', 'target_sha1')}  # hashed above
               for net in nets}
    if default and full:
        current.update({net: pair_sha1(root, models_dir, net)
                        for net in set(default['nets']) | set(full['nets']) if net not in current})
        lines += agreement_section(default, full, current)
    else:
        lines += [BUDGETS_HEADING, '',
                  'Not compared yet: that needs the record of a default-budget run '
                  f'(`{results_dir}/report_{default_setting}.json`, `python scripts/reproduce.py`) and the reference '
                  f'records of a --full run (`{osp.dirname(reference_path(results_dir, "<net>", full_setting))}/'
                  f'report_{full_setting}.json`, `python scripts/reproduce.py --full --nets <net>`); '
                  f'{"the first is there" if default else "the first is missing"}, '
                  f'{"the second is there" if full else "the second is missing"}.', '']
        legacy = osp.join(results_dir, f'report_{full_setting}.json')
        if not full and osp.isfile(osp.join(root, legacy)):
            lines += [f'`{legacy}` is the record of a --full run of an earlier version, which kept it there: '
                      '`python scripts/reproduce.py --full --nets <net>` reuses its finished stages and writes the '
                      'reference record.', '']
    runs = []
    for budget in dict.fromkeys((default_setting, full_setting, setting)):
        record = {default_setting: default, full_setting: full}.get(budget) if budget != setting else summary
        if record is None:
            continue
        entries = {net: record['nets'][net] for net in nets if net in record['nets']
                   and (budget == setting or not of_other_models(record['nets'][net], current.get(net)))}
        link = ((lambda net: anchor(findings_heading(net))) if budget == setting
                else (lambda net: anchor(BUDGETS_HEADING)))
        runs.append((budget_label(budget, settings['quadrature']), entries, link))
    lines += ['## Stage times (s)', '']
    if timings:
        lines += markdown_table(['stage', 'seconds'], [[k, f'{v:.1f}'] for k, v in timings.items()])
    else:  # every stage's record matched: nothing was computed in this run
        lines += ['No stage ran in this run: every result was reused from an earlier run with the same inputs '
                  '(`--force` redoes them).']
    lines = head + summary_lines(nets, runs, retraining, prediction) + lines
    path = osp.join(results, 'report.md')
    write_bytes(path, ('\n'.join(lines) + '\n').encode())
    return path
