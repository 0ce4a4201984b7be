"""One study of any pair of networks on any folder of photos: what ``faig study`` runs.

    from faig.study import StudySettings, run_study
    run_study(StudySettings(network={'type': 'EDSR', ...}, baseline='a.pth', target='b.pth',
                            images='~/photos', out='~/faig_study'))

The photos are cropped to what the network accepts (faig.probe), degraded by the registered specs of the
chosen pair (lossless PNG whatever the photo's format), and the four methods rank the filters
(faig.api). Masking, modulation and the filter distribution are measured in memory on the same images,
and the findings are checked by the functions of the bundled study's report (faig.report.net_findings),
so a user's network is judged exactly as the paper's are. Everything lands in ``out``: the data it made,
the rankings (the original's index files), the comparison tables and figures, ``report.md`` and
``study.json`` (the record of what the study was made from)."""
import json
import os.path as osp
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from faig.api import FAIG, IG, AbsoluteFilterChange, RandomFilters
from faig.data.image_io import decode_checked, list_images, read_image, write_image
from faig.data.lr_sets import generate
from faig.errors import InputError
from faig.evaluation.comparison import markdown_tables
from faig.evaluation.gradient_map import image_gradient_map, per_image_difference
from faig.evaluation.masking import DEFAULT_PROPORTIONS
from faig.figures import contact_sheet, plot_filter_distribution, plot_proportion_curves
from faig.inference import image_channels, image_to_tensor, tensor_to_image
from faig.masking import masked, modulated
from faig.networks import build_network, fit, load_checkpoint
from faig.outputs import FolderLock, claim_results, commit_files, is_within
from faig.probe import input_geometry
from faig.reporting.findings import describe_robustness, image_rankings, location_stats, net_findings, verdict
from faig.specs import DEFAULT_PAIR, degradation
from faig.stamps import content_sha1, state_digest

METHOD_NAMES = ('faig', 'ig', 'abs_filter_change', 'random')
RESULT_FILES = ('report.md', 'study.json', 'comparison.md', 'comparison.json')


@dataclass
class StudySettings:
    """What a study is made from. ``lr_folders``: the user's own degraded LR sets ({degradation: folder,
    'clean': folder}, named like the photos) instead of the ones the specs make."""
    network: dict
    baseline: str
    target: str
    images: str
    out: str
    scale: int = None
    degradations: tuple = DEFAULT_PAIR
    params: dict = field(default_factory=dict)
    lr_folders: dict = None
    steps: int = 16
    crop: int = 64  # LR pixels of the centre crops attributed and masked; None: whole images
    quadrature: str = 'riemann_left'
    proportions: tuple = DEFAULT_PROPORTIONS
    lambdas: tuple = tuple(i / 10 for i in range(16))
    seed: int = 0
    device: str = 'cpu'
    param_key: str = None
    force: bool = False


def _say(text, progress):
    if progress:
        print(text, flush=True)


def check_folders(s):
    """The photos exist, and the output folder is neither one of the inputs nor inside one (nor around one)."""
    if not osp.isdir(s.images):
        raise InputError(f'{s.images}: not a folder (--images)')
    inputs = [('--images', s.images), *((f'--lr_{k}', v) for k, v in (s.lr_folders or {}).items())]
    for flag, folder in inputs:
        if is_within(s.out, folder) or is_within(folder, s.out):
            raise InputError(f'{s.out}: --out and {flag} {folder} overlap; the study would write among its inputs')
    for flag, path in (('--baseline', s.baseline), ('--target', s.target)):
        if is_within(path, s.out):
            raise InputError(f'{path}: {flag} lies in --out {s.out}; keep the models apart from the results')


def load_pair(s):
    """(target network on the device, baseline state, target state, {kind: what was read from its checkpoint})."""
    net = build_network(s.network)
    baseline, base_read = load_checkpoint(s.baseline, s.param_key)
    target, target_read = load_checkpoint(s.target, s.param_key)
    fit(build_network(s.network), baseline, s.baseline, s.network)
    net = fit(net, target, s.target, s.network).eval().to(s.device)
    return net, baseline, target, {'baseline': base_read, 'target': target_read}


def photos_of(folder):
    """{stem: path} of the photos, any format (list_images refuses two files of one stem)."""
    return {osp.splitext(name)[0]: path for name, path in list_images(folder).items()}


def make_data(s, geometry, photos, channels, progress):
    """GT crops and the LR sets under ``out/data``; returns {role: folder} (degradations, 'clean', 'gt')."""
    data = osp.join(s.out, 'data')
    gt_folder = osp.join(data, 'GT')
    cropped = {}
    for stem, path in photos.items():
        img = decode_checked(path, channels=channels)
        try:
            cropped[stem] = geometry.crop_hr(img)
        except ValueError as exc:
            raise InputError(f'{path}: {exc} (the network needs {geometry.describe()})') from None
    for stem, img in cropped.items():
        write_image(osp.join(gt_folder, f'{stem}.png'), img)
    if s.lr_folders:
        return {**s.lr_folders, 'gt': gt_folder}
    folders = {deg: osp.join(data, degradation(deg).lr_folder(geometry.scale, **s.params.get(deg, {})))
               for deg in s.degradations}
    folders['bilinear'] = osp.join(data, f'Linear_LRbicx{geometry.scale}')
    _say(f'LR sets -> {data}', progress)
    generate(gt_folder, folders, scale=geometry.scale, seed=s.seed, overwrite=True, params=s.params)
    return {**{k: v for k, v in folders.items() if k != 'bilinear'}, 'clean': folders['bilinear'], 'gt': gt_folder}


def centre_crop(lr, gt, size, multiple, scale):
    """Aligned centre crops: LR ``size`` (rounded down to ``multiple``), GT ``size * scale``; None: whole."""
    h, w = lr.shape[:2]
    if size is None:
        return lr, gt
    ch, cw = (max(min(size, side) // multiple * multiple, multiple) for side in (h, w))
    y, x = (h - ch) // 2, (w - cw) // 2
    return lr[y:y + ch, x:x + cw], gt[y * scale:(y + ch) * scale, x * scale:(x + cw) * scale]


def load_sets(s, folders, stems, geometry, channels):
    """{'whole': [...], 'crops': [...]} of image sets {role: (1, C, H, W) tensor, 'name': stem}."""
    whole, crops = [], []
    roles = (*s.degradations, 'clean')
    listed = {role: photos_of(folders[role]) for role in roles}  # {role: {stem: path}}, each folder listed once
    for stem in stems:
        gt = read_image(osp.join(folders['gt'], f'{stem}.png'), channels=channels)
        lrs = {}
        for role in roles:
            path = listed[role].get(stem)
            if path is None:
                raise InputError(f'{folders[role]}: no LR image named {stem} (one per photo, named like it)')
            lrs[role] = read_image(path, channels=channels)
            if lrs[role].shape[0] * geometry.scale != gt.shape[0] or lrs[role].shape[1] * geometry.scale != gt.shape[1]:
                raise InputError(f'{path}: {lrs[role].shape[1]}x{lrs[role].shape[0]} is not the photo '
                                 f'{gt.shape[1]}x{gt.shape[0]} (cropped) / {geometry.scale}')
        whole.append({**{r: image_to_tensor(v, s.device) for r, v in lrs.items()},
                      'gt': image_to_tensor(gt, s.device), 'name': stem})
        item = {'name': stem}
        for role, lr in lrs.items():
            lr_crop, gt_crop = centre_crop(lr, gt, s.crop, geometry.multiple, geometry.scale)
            item[role] = image_to_tensor(lr_crop, s.device)
        item['gt'] = image_to_tensor(gt_crop, s.device)
        crops.append(item)
    return {'whole': whole, 'crops': crops}


@torch.no_grad()
def outputs_of(net, sets, role):
    """{stem: uint8 output} of ``net`` on each set's ``role`` input."""
    return {item['name']: tensor_to_image(net(item[role])) for item in sets}


def psnr_of(net, state, sets, roles, scale):
    from basicsr.metrics.psnr_ssim import calculate_psnr
    net.load_state_dict(state, strict=True)
    table = {}
    for role in roles:
        outs = outputs_of(net, sets, role)
        table[role] = float(np.mean([calculate_psnr(outs[i['name']], tensor_to_image(i['gt']), crop_border=scale)
                                     for i in sets]))
    return table


def attribute_all(net, baseline, s, crops, progress):
    """{method: FilterScores} of the four methods on the crops."""
    a, b = s.degradations
    fa = [{a: i[a], b: i[b], 'gt': i['gt'], 'name': i['name']} for i in crops]
    ig = [{a: i[a], b: i[b], 'clean': i['clean'], 'name': i['name']} for i in crops]
    scores = {}
    _say(f'FAIG ({s.steps} steps, {s.quadrature}) on {len(crops)} images', progress)
    scores['faig'] = FAIG(net, baseline, device=s.device).attribute(fa, n_steps=s.steps, method=s.quadrature,
                                                                     progress=progress)
    _say(f'IG ({s.steps} steps)', progress)
    scores['ig'] = IG(net, device=s.device).attribute(ig, n_steps=s.steps, progress=progress)
    scores['abs_filter_change'] = AbsoluteFilterChange(net, baseline, device=s.device).attribute(
        degradations=s.degradations)
    scores['random'] = RandomFilters(net, seed=s.seed, device=s.device).attribute(degradations=s.degradations)
    return scores


def compare(net, baseline, scores, s, crops, progress):
    """{(method, p, masked degradation, input degradation): {stem: output difference}}, and the target's
    outputs and masked outputs at 1 % (for the figure)."""
    a, b = s.degradations
    other = {a: b, b: a}
    reference = {deg: outputs_of(net, crops, deg) for deg in s.degradations}
    maps = {deg: {k: image_gradient_map(v) for k, v in outs.items()} for deg, outs in reference.items()}
    results, shown = {}, {}
    for method, method_scores in scores.items():
        _say(f'masking: {method}', progress)
        for p in s.proportions:
            for masked_deg in s.degradations:
                filters = method_scores.top(p, masked_deg, other[masked_deg])
                with masked(net, baseline, filters, space=method_scores.space):
                    for deg in s.degradations:
                        outs = outputs_of(net, crops, deg)
                        results[(method, p, masked_deg, deg)] = per_image_difference(
                            {k: image_gradient_map(v) for k, v in outs.items()}, maps[deg])
                        if method == 'faig' and p == 1:
                            shown[(masked_deg, deg)] = outs
    return results, reference, shown


def modulate(net, baseline, faig_scores, s, crops):
    """{deg: {'lambdas', 'output_difference', 'per_image'}}: the top 1 % filters of ``deg`` scaled by λ,
    measured on the ``deg`` input against the target's output."""
    a, b = s.degradations
    other = {a: b, b: a}
    curves = {}
    for deg in s.degradations:
        reference = {k: image_gradient_map(v) for k, v in outputs_of(net, crops, deg).items()}
        filters = faig_scores.top(1, deg, other[deg])
        per_image = {}
        for lam in s.lambdas:
            with modulated(net, baseline, filters, lam, space=faig_scores.space):
                outs = outputs_of(net, crops, deg)
            for stem, value in per_image_difference({k: image_gradient_map(v) for k, v in outs.items()},
                                                    reference).items():
                per_image.setdefault(stem, []).append(value)
        curves[deg] = {'lambdas': list(s.lambdas), 'per_image': per_image,
                       'output_difference': np.mean(list(per_image.values()), axis=0).tolist()}
    return curves


def means_of(per_image):
    return {key: float(np.mean(list(values.values()))) for key, values in per_image.items()}


def study_key(s, baseline, target, photos):
    """What the results are made from: the models' weights, the photos' pixels, the settings."""
    settings = {k: v for k, v in asdict(s).items() if k not in ('baseline', 'target', 'images', 'out', 'force',
                                                                  'device', 'lr_folders')}
    lr = {role: {n: content_sha1(p) for n, p in sorted(list_images(folder).items())}
          for role, folder in (s.lr_folders or {}).items()}
    return json.loads(json.dumps({'baseline': state_digest(baseline), 'target': state_digest(target),
                                  'photos': {stem: content_sha1(p) for stem, p in sorted(photos.items())},
                                  'lr_folders': lr, 'settings': settings}, default=str))


def run_study(s, progress=True):
    """Run the study of ``s`` (a :class:`StudySettings`); returns the path of its report.md."""
    s.out = osp.abspath(osp.expanduser(s.out))
    s.images = osp.abspath(osp.expanduser(s.images))
    check_folders(s)
    photos = photos_of(s.images)
    for deg in s.degradations:
        degradation(deg)  # a known degradation before any work
    net, baseline, target, read = load_pair(s)
    channels = image_channels(net)[0]
    geometry = input_geometry(net, channels=channels, scale=s.scale, device=s.device)
    _say(f'{s.network["type"]}: {geometry.describe()}', progress)
    key = study_key(s, baseline, target, photos)
    with FolderLock(s.out, 'the study folder'):
        claim_results(s.out, key, s.force, RESULT_FILES, meta_name='study.json')
        start = time.time()
        folders = make_data(s, geometry, photos, channels, progress)
        stems = sorted(photos)
        sets = load_sets(s, folders, stems, geometry, channels)
        psnr = {kind: psnr_of(net, state, sets['whole'], (*s.degradations, 'clean'), geometry.scale)
                for kind, state in (('baseline', baseline), ('target', target))}
        net.load_state_dict(target, strict=True)
        scores = attribute_all(net, baseline, s, sets['crops'], progress)
        for method, method_scores in scores.items():
            method_scores.save(osp.join(s.out, 'rankings', method), overwrite=True)
        per_image, reference, shown = compare(net, baseline, scores, s, sets['crops'], progress)
        curves = modulate(net, baseline, scores['faig'], s, sets['crops'])
        findings, figures = judge(s, scores, per_image, curves, reference, shown)
        seconds = time.time() - start
        report = report_lines(s, geometry, psnr, per_image, findings, figures, curves, seconds, len(stems))
        record = {'run_key': key, 'checkpoints': read, 'geometry': asdict(geometry), 'psnr': psnr, 'seconds': seconds,
                  'findings': [{k: f[k] for k in ('id', 'title', 'holds', 'numbers', 'per_image')} for f in findings],
                  'generated': time.strftime('%Y-%m-%d %H:%M')}
        comparison = [{'method': m, 'proportion': p, 'masked': k, 'input': d, 'per_image': v}
                      for (m, p, k, d), v in per_image.items()]
        commit_files(s.out, {'report.md': '\n'.join(report).encode() + b'\n',
                             'comparison.md': markdown_tables(means_of(per_image), METHOD_NAMES, s.proportions,
                                                              s.degradations).encode(),
                             'comparison.json': json.dumps(comparison, indent=1).encode(),
                             'study.json': json.dumps(record, indent=1, default=float).encode()})
    return osp.join(s.out, 'report.md')


def judge(s, scores, per_image, curves, reference, shown):
    """The findings (faig.report.net_findings) and the figures (relative paths in ``out``)."""
    a, b = s.degradations
    faig_scores = scores['faig']
    space = faig_scores.space
    rankings = {a: faig_scores.ranking(a, b), b: faig_scores.ranking(b, a)}
    names = faig_scores.meta.get('images') or []
    stems = [r.get('image', f'image{i}') if isinstance(r, dict) else str(r) for i, r in enumerate(names)]
    per_image_scores = {stem: np.asarray(d[a], np.float64) - np.asarray(d[b], np.float64)
                        for stem, d in zip(stems, faig_scores.per_image or [])}
    image_location = {stem: location_stats(space, r, (a, b))
                      for stem, r in image_rankings(per_image_scores, (a, b)).items()}
    findings = net_findings(means_of(per_image), per_image, list(s.proportions), location_stats(space, rankings, (a, b)),
                            image_location, curves, (a, b))
    figures = osp.join(s.out, 'figures')
    title = s.network['type']
    plot_proportion_curves(means_of(per_image), METHOD_NAMES, list(s.proportions), title,
                           osp.join(figures, 'proportion_curves.png'), (a, b))
    plot_filter_distribution(space, rankings, 1, f'{title}: where the top 1% filters sit',
                             osp.join(figures, 'filter_distribution.png'))
    first = sorted(reference[a])[0]
    rows = [(f'{degradation(deg).adjective} input', [reference[deg][first], shown[(a, deg)][first],
                                                    shown[(b, deg)][first]]) for deg in (a, b)]
    contact_sheet(rows, ['target', f'1% {degradation(a).function} filters masked',
                         f'1% {degradation(b).function} filters masked'], osp.join(figures, 'masking.png'),
                  title=f'{title}, {first}')
    return findings, [('proportion curves', 'figures/proportion_curves.png'), ('masking', 'figures/masking.png'),
                      ('filter distribution', 'figures/filter_distribution.png')]


def report_lines(s, geometry, psnr, per_image, findings, figures, curves, seconds, count):
    a, b = s.degradations
    region = 'whole images' if s.crop is None else f'centre crops of {s.crop}×{s.crop} LR pixels (at most)'
    lines = [f'# FAIG study of {s.network["type"]}', '',
             f'Generated by `faig study` on {time.strftime("%Y-%m-%d %H:%M")} in {seconds:.0f} s. '
             f'Baseline `{s.baseline}`, target `{s.target}`, {count} photos from `{s.images}`; '
             f'{geometry.describe()}. Attribution: {s.steps} steps ({s.quadrature}) on {region}; masking and '
             'modulation on the same crops; PSNR on the whole images. Output difference = mean over images of '
             "the MSE between the gradient maps of the masked and the target's outputs, ×1000.", '',
             '## Findings', '']
    for f in findings:
        lines.append(f'- {f["title"]}: {verdict(f["holds"])}. {f["text"]} {describe_robustness(f["per_image"])}')
    lines += ['', '## PSNR (dB)', '', '| input | baseline | target | gain |', '|---|---|---|---|']
    for role in (*s.degradations, 'clean'):
        title = 'clean (bilinear LR)' if role == 'clean' else degradation(role).adjective
        base, tgt = psnr['baseline'][role], psnr['target'][role]
        lines.append(f'| {title} | {base:.2f} | {tgt:.2f} | {tgt - base:+.2f} |')
    lines += ['', '## Masking the top filters of each method', '',
              markdown_tables(means_of(per_image), METHOD_NAMES, s.proportions, s.degradations), '']
    for alt, path in figures:
        lines += [f'![{alt}]({path})', '']
    lines += ['## Modulation', '', '| λ | ' + ' | '.join(f'{degradation(d).function} filters' for d in (a, b)) + ' |',
              '|---|---|---|']
    for i, lam in enumerate(s.lambdas):
        lines.append(f'| {lam:g} | ' + ' | '.join(f'{curves[d]["output_difference"][i]:.4f}' for d in (a, b)) + ' |')
    lines += ['', 'Rankings (the original\'s index files): `rankings/<method>/`; the data the study made: `data/`; '
              'what it was made from: `study.json`. Retraining, degradation prediction and the --full comparison '
              'are studies of the bundled pairs (`scripts/retrain_study.py`, `scripts/predict_degradation_study.py`, '
              '`scripts/reproduce.py --full`) and have no record for this pair.', '']
    return lines
