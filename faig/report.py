"""results/report.md: the tables and figures of a reproduction run, and one checked sentence per finding.

Each finding is checked by one small function on plain numbers (a :class:`Check`); the same function
gives the verdict on the paper's numbers (means over the test images) and, through
:func:`per_image_verdicts`, on every test image alone ("holds on k of n images").
Beside report.md, ``results/report_<setting>.json`` keeps the verdicts in machine-readable form; when
the JSONs of the default budget and of a ``--full`` run both exist, the report compares them.
"""
import glob
import json
import os.path as osp
import time
from dataclasses import dataclass, field

import numpy as np

from faig.attribution.filters import FilterSpace
from faig.attribution.ranking import rank, read_index
from faig.data.image_io import write_bytes
from faig.errors import InputError
from faig.evaluation.comparison import read_comparison
from faig.evaluation.location import describe_location, filter_location
from faig.evaluation.masking import num_selected
from faig.paths import BUNDLED_MODELS
from faig.networks import load_params
from faig.specs import RANKING_METHODS, ResultsLayout, degradation
from faig.stamps import sha1_file

OTHERS = tuple(m for m in RANKING_METHODS if m != 'faig')
NAMES = {name: spec.label for name, spec in RANKING_METHODS.items()}
FOLDER_TITLES = {'Linear_LRbicx2': 'clean (bilinear LR)', 'Blur2_LRbicx2': 'blurry', 'LRbicx2_noise0.1': 'noisy'}
MODULATION_KINDS = {d: degradation(d).modulation_kind for d in ('blur', 'noise')}
DEFAULT_BUDGET = {'steps': 16, 'crop': 64}  # scripts/reproduce.py without options
FULL_BUDGET = {'steps': 100, 'crop': None}  # scripts/reproduce.py --full
TITLES = {
    '1': '1. Masking 1% FAIG filters removes the matching function and keeps the other',
    '2': '2. FAIG beats IG, |θ−θ̄| and random on the matching function',
    '3a': '3a. Deblurring filters sit further back than denoising filters (mean layer depth)',
    '3b': '3b. Denoising filters spread more uniformly over the layers than deblurring filters '
          '(distance from a uniform spread)',
    '4_blur': '4. Modulating the 1% deblurring filters is monotone in λ',
    '4_noise': '4. Modulating the 1% denoising filters is monotone in λ',
}
ORDER = tuple(TITLES)


@dataclass
class Check:
    """One verdict: whether the finding holds, its key numbers (JSON-ready) and a sentence."""
    holds: bool
    numbers: dict = field(default_factory=dict)
    text: str = ''


# ---- the checks (plain dicts in, Check out) ------------------------------------------------------

def finding_masking_ratio(results):
    """Finding 1: masking the 1 % FAIG filters of one function changes that function's output far more.

    ``results``: {(method, proportion, masked filters, input): output difference}."""
    bb, nb = results[('faig', 1, 'blur', 'blur')], results[('faig', 1, 'noise', 'blur')]
    nn, bn = results[('faig', 1, 'noise', 'noise')], results[('faig', 1, 'blur', 'noise')]
    blur, noise = bb / max(nb, 1e-12), nn / max(bn, 1e-12)
    text = (f'blurry input: masking the 1% FAIG deblurring filters changes the output {blur:.1f}× as much as masking '
            f'the 1% denoising filters ({bb:.4f} vs {nb:.4f}); noisy input: masking the denoising filters changes it '
            f'{noise:.1f}× as much as masking the deblurring filters ({nn:.4f} vs {bn:.4f}).')
    numbers = {'blur_ratio': float(blur), 'noise_ratio': float(noise), 'threshold': 2.0}
    return Check(bool(blur >= 2 and noise >= 2), numbers, text)


def finding_faig_beats_others(results, proportions):
    """Finding 2: FAIG's filters change the matching function more than the other methods' at every proportion."""
    failures = []
    for deg, function in (('blur', 'deblurring'), ('noise', 'denoising')):
        for p in proportions:
            ours = results[('faig', p, deg, deg)]
            best_other = max(OTHERS, key=lambda m: results[(m, p, deg, deg)])
            if ours <= results[(best_other, p, deg, deg)]:
                failures.append((function, p, best_other, results[(best_other, p, deg, deg)], ours))
    at1 = {deg: {m: float(results[(m, 1, deg, deg)]) for m in ('faig', *OTHERS)} for deg in ('blur', 'noise')}
    shown = {deg: ', '.join(f'{NAMES[m]} {v:.4f}' for m, v in at1[deg].items()) for deg in at1}
    text = (f'at 1%, blurry input with deblurring filters masked: {shown["blur"]}; noisy input with denoising '
            f'filters masked: {shown["noise"]}.')
    text += (' FAIG is ahead at every proportion.' if not failures else ' Not ahead: ' + '; '.join(
        f'{function} at {p}% ({NAMES[m]} {v:.4f} ≥ FAIG {ours:.4f})' for function, p, m, v, ours in failures) + '.')
    holds_at_1 = not any(p == 1 for _, p, _, _, _ in failures)
    if failures:
        text += f' At 1%: {"holds" if holds_at_1 else "does not hold"}.'
    numbers = {'holds_at_1': holds_at_1, 'at_1': at1,
               'failures': [f'{function} at {p}%: {m}' for function, p, m, _, _ in failures]}
    return Check(not failures, numbers, text)


def location_stats(space, rankings):
    """{'blur': stats, 'noise': stats} of the top 1 % of each ranking (:func:`filter_location`)."""
    return {deg: filter_location(space, rankings[deg]) for deg in ('blur', 'noise')}


def location_numbers(stats):
    return {f'{key}_{deg}': float(stats[deg][key]) for deg in ('blur', 'noise')
            for key in ('mean_depth', 'distance_from_uniform')}


def location_text(stats):
    return (f'Top 1% ({stats["blur"]["filters"]} filters each) — {describe_location("deblurring", stats["blur"])}; '
            f'{describe_location("denoising", stats["noise"])}.')


def finding_further_back(stats):
    """Finding 3a: the top deblurring filters sit further back (larger mean layer depth) than the denoising ones."""
    return Check(bool(stats['blur']['mean_depth'] > stats['noise']['mean_depth']), location_numbers(stats),
                 location_text(stats))


def finding_more_uniform(stats):
    """Finding 3b: the top denoising filters are spread more like random filters than the deblurring ones."""
    return Check(bool(stats['noise']['distance_from_uniform'] < stats['blur']['distance_from_uniform']),
                 location_numbers(stats), 'Same numbers as 3a.')


def finding_modulation(lambdas, values):
    """Finding 4: moving λ changes the output monotonically (towards the target up to λ=1, away beyond)."""
    lambdas, values = np.asarray(lambdas, dtype=np.float64), np.asarray(values, dtype=np.float64)
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


def image_rankings(scores):
    """{image: {'blur': ranking, 'noise': ranking}} from per-image FAIG scores s(x_blur) - s(x_noise)."""
    return {stem: {'blur': rank(diff), 'noise': rank(-np.asarray(diff))} for stem, diff in sorted(scores.items())}


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


def paper_scope(net, finding_id):
    """Finding 3 is the paper's claim for SRResNet only."""
    if not finding_id.startswith('3'):
        return ''
    if 'srresnet' in net.lower():
        return ' (the paper states this for SRResNet only)'
    return ' (the paper states this for SRResNet only; reported here for information)'


def net_findings(means, per_image, proportions, location, image_location, modulation):
    """Every finding of one network, on the means and on each image.

    Args:
        means: {(method, proportion, masked filters, input): mean output difference}.
        per_image: {same key: {image: output difference}} ({} when not recorded).
        proportions: the proportions (%) of the comparison.
        location: {'blur': stats, 'noise': stats} of the mean rankings (:func:`location_stats`).
        image_location: {image: such stats} ({} when not recorded).
        modulation: {'blur'|'noise': {'lambdas': [...], 'output_difference': [...], 'per_image': {image: [...]}}}
            ('per_image' optional).
    Returns:
        [{'id', 'title', 'holds', 'numbers', 'text', 'per_image'}] in the order of :data:`TITLES`;
        'per_image' is :func:`robustness`'s dict or None.
    """
    tables = image_tables(per_image)
    checks = {
        '1': (finding_masking_ratio, means, tables),
        '2': (lambda r: finding_faig_beats_others(r, proportions), means, tables),
        '3a': (finding_further_back, location, image_location),
        '3b': (finding_more_uniform, location, image_location),
    }
    for deg in ('blur', 'noise'):
        diffs = modulation[deg]
        curves = diffs.get('per_image') or {}

        def check(values, lambdas=diffs['lambdas']):
            return finding_modulation(lambdas, values)
        checks[f'4_{deg}'] = (check, diffs['output_difference'], curves)
    findings = []
    for finding_id in ORDER:
        check, mean_input, image_inputs = checks[finding_id]
        result = check(mean_input)
        findings.append({'id': finding_id, 'title': TITLES[finding_id], 'holds': result.holds,
                         'numbers': result.numbers, 'text': result.text,
                         'per_image': robustness(per_image_verdicts(check, image_inputs))})
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


def agreement_section(default, full):
    """Markdown lines of "Default budget vs --full" from the two report JSONs."""
    rows = compare_reports(default, full)
    same = sum(a == b for _, _, a, b in rows)
    lines = ['## Default budget vs --full', '',
             f'Default budget: `{default["setting"]}` (report of {default["generated"]}); --full: `{full["setting"]}` '
             f'(report of {full["generated"]}). The verdicts on the means agree on {same} of {len(rows)} findings.', '']
    changed = [net for net in default['nets'] if net in full['nets']
               and default['nets'][net].get('target_sha1') != full['nets'][net].get('target_sha1')]
    if changed:
        lines += [f'Note: the two runs used different models for {", ".join(changed)} (retrained in between), so '
                  'they differ in more than the budget.', '']
    images = [{(net, f['id']): f['per_image'] for net, entry in report['nets'].items() for f in entry['findings']}
              for report in (default, full)]
    lines += ['| net | finding | default budget | --full | agree |', '|---|---|---|---|---|']
    for net, finding_id, a, b in rows:
        shown = [short_verdict(ok, counts.get((net, finding_id))) for ok, counts in zip((a, b), images)]
        lines.append(f'| {net} | {finding_id} | {shown[0]} | {shown[1]} | {"yes" if a == b else "**no**"} |')
    return lines + ['']


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

def load_comparison(path):
    """:func:`read_comparison`, with a clear message for a comparison.csv of an older version."""
    try:
        return read_comparison(path)
    except KeyError as exc:
        raise InputError(f'{path}: no {exc} column (written by an older version); rerun the comparison stage '
                         '(delete the file or run scripts/reproduce.py --force)') from None


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


def retraining_section(root, nets, summary):
    """"Finding 2: weights, locations, connections" from the committed study records
    (results/retrain_study/<net>/study.json, made by scripts/retrain_study.py; never retrained here)."""
    from faig.evaluation import retraining
    lines = ['## Finding 2: weights, locations, connections', '']
    for net in nets:
        path = osp.join(root, 'results', 'retrain_study', net, 'study.json')
        if not osp.isfile(path):
            lines += [f'{net}: no retraining study recorded yet (`python scripts/retrain_study.py --net {net}`, '
                      'several CPU hours; its results are committed).', '']
            continue
        with open(path) as f:
            study = json.load(f)
        figure = osp.join(root, ResultsLayout(net, '').figures(), 'retrain_recovered_share.png')
        retraining.plot_shares(study, figure, net)
        lines += [retraining.markdown(study, net), f'![recovered share]({osp.relpath(figure, osp.join(root, "results"))})', '']
        checks = retraining.findings(study)
        for check in checks:
            per = check['per_image']
            lines.append(f'- **{net}** — {check["text"]}: {verdict(check["holds"])} '
                         f'(per image {per["holds"]}/{per["images"]}).')
        lines.append('')
        summary['nets'].setdefault(net, {})['retraining'] = checks
    return lines


def write_report(root, nets, dataset, settings):
    """Write results/report.md and results/report_<setting>.json; return the path of report.md.

    ``settings``: 'steps', 'quadrature', 'crop' (None = whole images), optional 'timings' ({stage: seconds}),
    'setting' (the name of the run; default from steps/quadrature/crop), 'device' (printed when given) and
    'models_dir' (the folder of the <net>/{baseline,target}_model.pth pairs; default the bundled ones)."""
    models_dir = settings.get('models_dir') or BUNDLED_MODELS
    crop = settings['crop']
    setting = setting_name(settings)
    region = 'the whole test images' if crop is None else f'centre crops of {crop}×{crop} LR pixels of the test images'
    lines = [f'# FAIG reproduction on the bundled sample data ({dataset})', '',
             f'Generated by `python scripts/reproduce.py` on {time.strftime("%Y-%m-%d %H:%M")} (setting `{setting}`). '
             f'Attribution: {settings["steps"]} steps ({settings["quadrature"]}) on {region}; '
             'masking, modulation and figures on the same images; PSNR of the models on the whole images. '
             'Output difference = mean over images of the MSE between the gradient maps of the masked and the '
             "target model's outputs, ×1000. Each verdict is taken on these means (the paper's numbers) and "
             'then on every image alone.', '']
    if settings.get('device'):
        lines += [f'Device: {settings["device"]}.', '']
    lines += [f'Models: `{models_dir}/<net>/{{baseline,target}}_model.pth`'
              + (' (the bundled pairs).' if models_dir == BUNDLED_MODELS else '.'), '']
    summary = {'setting': setting, 'dataset': dataset, 'steps': settings['steps'],
               'quadrature': settings['quadrature'], 'crop': crop, 'device': settings.get('device'),
               'generated': time.strftime('%Y-%m-%d %H:%M'), 'models_dir': models_dir, 'nets': {}}
    all_findings = []
    for net in nets:
        lines += [f'## {net}', '']
        psnr = {k: json.load(open(osp.join(root, f'results/report/{net}_{k}_psnr.json')))['psnr']
                for k in ('baseline', 'target')}
        lines += ['| input | baseline PSNR (dB) | target PSNR (dB) | gain |', '|---|---|---|---|']
        for folder in psnr['target']:
            b, t = psnr['baseline'][folder], psnr['target'][folder]
            lines.append(f'| {FOLDER_TITLES.get(folder, folder)} | {b:.2f} | {t:.2f} | {t - b:+.2f} |')
        lines.append('')
        layout = ResultsLayout(net, dataset)
        in_results = lambda path: osp.relpath(path, 'results')  # noqa: E731  (links relative to report.md)
        metrics = osp.join(root, layout.metrics())
        means, per_image = load_comparison(osp.join(metrics, 'comparison.csv'))
        proportions = sorted({k[1] for k in means})
        lines += [open(osp.join(metrics, 'comparison.md')).read(), '']
        fig = in_results(layout.figures())
        lines += [f'![proportion curves]({fig}/proportion_curves_{dataset}.png)', '',
                  f'![masking]({fig}/masking_{dataset}_astronaut.png)', '',
                  f'![filter distribution]({fig}/filter_distribution.png)', '']
        target_path = osp.join(root, models_dir, net, 'target_model.pth')
        space = FilterSpace(load_params(target_path))
        search = osp.join(root, layout.rankings('faig'))
        rankings = {d: read_index(osp.join(search, f'{d}_index.txt'), space.num_filters) for d in ('blur', 'noise')}
        scores = read_per_image_scores(osp.join(search, 'per_image_scores.npz'), space.num_filters)
        image_location = {stem: location_stats(space, r) for stem, r in image_rankings(scores).items()}
        modulation = {}
        for deg in ('blur', 'noise'):
            folder = in_results(osp.join(layout.modulation(), f'{num_selected(space.num_filters, 1)}kernels',
                                         MODULATION_KINDS[deg]))
            modulation[deg] = json.load(open(osp.join(root, 'results', folder, 'differences.json')))
            lines += [f'![modulation {deg}]({folder}/contact_sheet.png)', '']
        findings = net_findings(means, per_image, proportions, location_stats(space, rankings), image_location,
                                modulation)
        for f in findings:
            f['title'] += paper_scope(net, f['id'])
        all_findings.append((net, findings))
        summary['nets'][net] = {'target_sha1': sha1_file(target_path), 'generated': summary['generated'], 'findings': [
            {'id': f['id'], 'title': f['title'], 'holds': f['holds'], 'per_image': f['per_image'],
             'numbers': f['numbers']} for f in findings]}
    lines += retraining_section(root, nets, summary)
    lines += ['## Findings', '']
    for net, findings in all_findings:
        for f in findings:
            lines.append(f'- **{net}** — {f["title"]}: {verdict(f["holds"])}. {f["text"]} '
                         f'{describe_robustness(f["per_image"])}')
    lines.append('')
    results = osp.join(root, 'results')
    json_path = osp.join(results, f'report_{setting}.json')
    earlier = read_report_json(json_path)
    if earlier:  # (the file is named by its setting) a run of some nets keeps the other nets' entries
        kept = {net: entry for net, entry in earlier['nets'].items() if net not in summary['nets']}
        for entry in kept.values():
            entry.setdefault('generated', earlier.get('generated'))
        summary['nets'] = {**kept, **summary['nets']}
    write_bytes(json_path, (json.dumps(summary, indent=2, ensure_ascii=False) + '\n').encode())
    reports = {s: read_report_json(osp.join(results, f'report_{s}.json'))
               for s in budget_settings(settings['quadrature'])}
    default, full = reports.values()
    if default and full:
        lines += agreement_section(default, full)
    else:
        others = sorted(osp.basename(p) for p in glob.glob(osp.join(results, 'report_*.json')))
        lines += ['Default budget vs --full: not compared yet; that needs the report JSONs of both '
                  f'({" and ".join(f"report_{s}.json" for s in reports)}); results/ has '
                  f'{", ".join(others)}.', '']
    lines += ['## Stage times (s)', '', '| stage | seconds |', '|---|---|']
    lines += [f'| {k} | {v:.1f} |' for k, v in (settings.get('timings') or {}).items()]
    path = osp.join(results, 'report.md')
    write_bytes(path, ('\n'.join(lines) + '\n').encode())
    return path
