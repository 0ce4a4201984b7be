"""One FAIG study of a pair of networks on a set of photos: ``faig study`` on a user's pair and photos,
``scripts/reproduce.py`` on the bundled pairs and sample data.

    run_study(StudySettings(network={'type': 'EDSR', ...}, baseline='a.pth', target='b.pth',
                            images='~/photos', out='~/faig_study'))

The photos are cropped to what the network accepts (faig.probe) and degraded by the specs of the chosen pair
(lossless PNG), or the user's LR folders are read; both models restore the whole images (PSNR); the four
methods rank the filters on centre crops through the attribution pipeline (rank_dataset: shared out over the
ranks under torchrun, resumed after a stop); masking, modulation and the filter distribution are measured in
memory on the same crops, and judged by the report's own checks (faig.reporting.findings.net_findings).

The results go where a report reads them: the study's own folder (:class:`StudyFolder`, with its report.md)
or the bundled layout (faig.specs.ResultsLayout, read by faig.reporting.report.write_report). ``<out>/study.json``
records the inputs and settings and the hash of every file written; a rerun that finds them unchanged reuses
them."""
import contextlib
import fnmatch
import json
import os
import os.path as osp
import shutil
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from faig.attribution.filters import space_for_network
from faig.attribution.methods import FAIG, IG, AbsoluteFilterChange, RandomRanking
from faig.attribution.pipeline import AttributionJob, Ranks, rank_dataset
from faig.attribution.ranking import RANKING_PATTERNS, json_bytes
from faig.data.image_io import as_bgr, decode_checked, list_images, read_image, write_image
from faig.data.lr_sets import default_folders, generate
from faig.errors import InputError
from faig.evaluation.comparison import METRIC_PATTERNS, markdown_tables, mean_results, metric_files
from faig.evaluation.gradient_map import image_gradient_map, per_image_difference
from faig.evaluation.masking import DEFAULT_PROPORTIONS
from faig.figures import (contact_sheet, crop_center, difference_map, masking_sheet, plot_filter_distribution,
                          plot_proportion_curves, save_figure, upscale_nearest)
from faig.inference import image_channels, image_to_tensor, tensor_to_image
from faig.masking import masked, modulated
from faig.networks import build_network, fit, load_checkpoint
from faig.probe import input_geometry
from faig.reporting.findings import describe_robustness, image_rankings, location_stats, net_findings, verdict
from faig.reporting.network import psnr_table
from faig.reporting.records import read_per_image_scores
from faig.scores import FilterScores
from faig.specs import DEFAULT_PAIR, NETWORKS, ResultsLayout, degradation
from faig.stamps import content_sha1
from faig.store import FolderLock, claim_results, commit_files, is_within, read_record, sha1_file, state_digest
from faig.tables import markdown_table

METHOD_NAMES = ('faig', 'ig', 'abs_filter_change', 'random')
RECORD = 'study.json'
REPORT = 'report.md'


@dataclass
class StudySettings:
    """What a study is made from. ``lr_folders``: the user's own LR sets ({degradation: folder, 'clean': folder},
    named like the photos). ``net_name``: the registered network of ``network``: its tools' method defaults
    (FAIG's image reduction, IG's quadrature) and its name in titles. ``teaser_image``: the masking figure's photo."""
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
    force: bool = False  # replace a study of other inputs or settings in ``out``
    redo: bool = False  # compute everything again, even what a study of these inputs and settings left
    net_name: str = None
    teaser_image: str = None

    @property
    def label(self):
        return self.net_name or self.network['type']


@dataclass(frozen=True)
class StudyFolder:
    """Where a study of its own writes (``faig study --out``): the files of faig.specs.ResultsLayout, in one folder."""
    out: str
    net: str
    dataset: str

    def rankings(self, method):
        return osp.join(self.out, 'rankings', method)

    def metrics(self):
        return osp.join(self.out, 'metrics')

    def figure(self, kind, image=None):
        return osp.join(self.out, 'figures', f'{kind}.png')

    def psnr_record(self, kind):
        return osp.join(self.out, 'psnr', f'{kind}.json')

    def modulation(self):
        return osp.join(self.out, 'modulation')


@dataclass
class StudyRun:
    """What :func:`run_study` did: its record, the seconds of each stage it ran, its report.md (if its own)."""
    record: dict
    timings: dict
    report: str = None


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


def lr_roles(s):
    return (*s.degradations, 'clean')


def make_data(s, geometry, photos, channels, progress):
    """The GT crops, the LR sets and the attribution crops under ``out/data``, made anew by every run that does
    not reuse the study. Returns {'whole': {role: folder}, 'crops': {role: folder}}, roles being the
    degradations, 'clean' and 'gt'."""
    data = osp.join(s.out, 'data')
    cropped = {}
    for stem, path in photos.items():
        img = decode_checked(path, channels=channels)
        try:
            cropped[stem] = geometry.crop_hr(img)
        except ValueError as exc:
            raise InputError(f'{path}: {exc} (the network needs {geometry.describe()})') from None
    _say(f'data -> {data}', progress)
    shutil.rmtree(data, ignore_errors=True)
    whole = {'gt': osp.join(data, 'GT')}
    for stem, img in cropped.items():
        write_image(osp.join(whole['gt'], f'{stem}.png'), img)
    if s.lr_folders:
        whole.update(s.lr_folders)
    else:
        made = default_folders(data, geometry.scale, degradations=s.degradations, params=s.params)
        del made['bicubic']
        generate(whole['gt'], made, scale=geometry.scale, seed=s.seed, overwrite=True, params=s.params)
        whole.update({('clean' if role == 'bilinear' else role): folder for role, folder in made.items()})
    if s.crop is None:
        return {'whole': whole, 'crops': whole}
    crops = {role: osp.join(data, f'crop{s.crop}', role) for role in whole}
    write_crops(s, whole, crops, geometry, channels)
    return {'whole': whole, 'crops': crops}


def centre_crop(lr, gt, size, multiple, scale):
    """Aligned centre crops: LR ``size`` (rounded down to ``multiple``), GT ``size * scale``."""
    h, w = lr.shape[:2]
    ch, cw = (max(min(size, side) // multiple * multiple, multiple) for side in (h, w))
    y, x = (h - ch) // 2, (w - cw) // 2
    return lr[y:y + ch, x:x + cw], gt[y * scale:(y + ch) * scale, x * scale:(x + cw) * scale]


def write_crops(s, whole, crops, geometry, channels):
    """The aligned centre crops of every set of ``whole`` into ``crops`` ({role: folder}) as PNG."""
    listed = {role: photos_of(folder) for role, folder in whole.items()}  # each folder listed once
    for stem, gt_path in listed['gt'].items():
        gt = read_image(gt_path, float32=False, channels=channels)
        for role in lr_roles(s):
            path = listed[role].get(stem)
            if path is None:
                raise InputError(f'{whole[role]}: no LR image named {stem} (one per photo, named like it)')
            lr = read_image(path, float32=False, channels=channels)
            if lr.shape[0] * geometry.scale != gt.shape[0] or lr.shape[1] * geometry.scale != gt.shape[1]:
                raise InputError(f'{path}: {lr.shape[1]}x{lr.shape[0]} is not the photo '
                                 f'{gt.shape[1]}x{gt.shape[0]} (cropped) / {geometry.scale}')
            lr_crop, gt_crop = centre_crop(lr, gt, s.crop, geometry.multiple, geometry.scale)
            write_image(osp.join(crops[role], f'{stem}.png'), lr_crop)
        write_image(osp.join(crops['gt'], f'{stem}.png'), gt_crop)


def load_sets(s, folders, stems, channels):
    """[{role: (1, C, H, W) tensor, 'name': stem}] of the image sets in ``folders`` ({role: folder})."""
    listed = {role: photos_of(folder) for role, folder in folders.items()}
    sets = []
    for stem in stems:
        item = {role: image_to_tensor(read_image(listed[role][stem], channels=channels), s.device)
                for role in (*lr_roles(s), 'gt')}
        sets.append({**item, 'name': stem})
    return sets


@torch.no_grad()
def outputs_of(net, sets, role):
    """{stem: uint8 output} of ``net`` on each set's ``role`` input."""
    return {item['name']: tensor_to_image(net(item[role])) for item in sets}


def psnr_of(net, state, sets, folders, scale):
    """{LR folder name: mean PSNR} of the model ``state`` on the whole images."""
    from basicsr.metrics.psnr_ssim import calculate_psnr
    net.load_state_dict(state, strict=True)
    table = {}
    for role, folder in folders.items():
        outs = outputs_of(net, sets, role)
        table[osp.basename(osp.normpath(folder))] = float(np.mean([
            calculate_psnr(outs[i['name']], tensor_to_image(i['gt']), crop_border=scale) for i in sets]))
    return table


def methods_of(s, num_filters):
    """{name: the method with the study's settings}; a registered network's own defaults as its tools have them."""
    spec = NETWORKS.get(s.net_name)
    return {'faig': FAIG(s.steps, s.quadrature, image_reduce=spec.faig_image_reduce if spec else 'sum'),
            'ig': IG(s.steps, spec.ig_method if spec else 'riemann_left'),
            'abs_filter_change': AbsoluteFilterChange(),
            'random': RandomRanking(s.seed, num_filters)}


def attribute_all(s, geometry, folders, layout, num_filters, timings, progress):
    """Run the four methods on the crops through the attribution pipeline (each ranking folder reused when
    it holds this run's results, resumed when a run of it stopped part-way)."""
    for name, method in methods_of(s, num_filters).items():
        roles = method.image_roles or ()
        job = AttributionJob(layout.rankings(name), tuple(s.degradations),
                             {role: folders[role] for role in (*roles, *s.degradations)} if method.image_roles else {},
                             s.network, s.net_name, {kind: getattr(s, kind) for kind in method.models}, s.param_key,
                             geometry.scale, s.device, resume=not s.redo, force=True)
        start = time.time()
        _say(f'{name}: {job.out}', progress)
        result = rank_dataset(method, job, Ranks(s.device))
        if result is not None and not result.up_to_date:
            timings[name] = time.time() - start


def compare(net, baseline, scores, s, crops, progress):
    """{(method, p, masked degradation, input degradation): {stem: output difference}}, and the target's outputs."""
    a, b = s.degradations
    other = {a: b, b: a}
    reference = {deg: outputs_of(net, crops, deg) for deg in s.degradations}
    maps = {deg: {k: image_gradient_map(v) for k, v in outs.items()} for deg, outs in reference.items()}
    results = {}
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
    return results, reference


def modulate(net, baseline, faig_scores, s, crops, layout):
    """The top 1 % FAIG filters of each degradation scaled by λ, measured on its input against the target's
    output: ({deg: record}, {path: bytes}) with each record and contact sheet where the report reads them
    (``<modulation>/<n>kernels/<kind>/``)."""
    other = dict(zip(s.degradations, reversed(s.degradations)))
    curves, files = {}, {}
    for deg in s.degradations:
        reference = {k: image_gradient_map(v) for k, v in outputs_of(net, crops, deg).items()}
        filters = faig_scores.top(1, deg, other[deg])
        per_image, outputs = {}, {}
        for lam in s.lambdas:
            with modulated(net, baseline, filters, lam, space=faig_scores.space):
                outputs[lam] = outputs_of(net, crops, deg)
            for stem, value in per_image_difference({k: image_gradient_map(v) for k, v in outputs[lam].items()},
                                                    reference).items():
                per_image.setdefault(stem, []).append(value)
        spec = degradation(deg)
        folder = osp.join(layout.modulation(), f'{len(filters)}kernels', spec.modulation_kind)
        rows = [(stem, [as_bgr(crop_center(outputs[lam][stem], 96)) for lam in s.lambdas])
                for stem in sorted(per_image)]
        contact_sheet(rows, [f'λ={lam:.2f}' for lam in s.lambdas], osp.join(folder, ResultsLayout.CONTACT_SHEET),
                      cell_width=110, title=f'{layout.net}: modulating the top 1% FAIG {spec.function} filters '
                      f'({len(filters)}), {layout.dataset} {spec.adjective} inputs (centre crops)')
        curves[deg] = {'lambdas': list(s.lambdas), 'per_image': per_image, 'filters': len(filters),
                       'output_difference': np.mean(list(per_image.values()), axis=0).tolist(),
                       'reference': 'target model (λ=1)',
                       'ranking': osp.join(layout.rankings('faig'), f'{deg}_index.txt')}
        files[osp.join(folder, ResultsLayout.MODULATION_RECORD)] = json_bytes(curves[deg])
    return curves, files


def masking_figure(net, baseline, faig_scores, s, crops, reference, stem, path):
    """The paper's teaser: per degraded input, the input, the target's output and the outputs with the top 1 %
    FAIG filters of each degradation masked (centre crops), with |masked − target| under each masked one."""
    other = dict(zip(s.degradations, reversed(s.degradations)))
    item = next(i for i in crops if i['name'] == stem)
    shown = {}
    for masked_deg in s.degradations:
        with masked(net, baseline, faig_scores.top(1, masked_deg, other[masked_deg]), space=faig_scores.space):
            shown[masked_deg] = {deg: outputs_of(net, [item], deg)[stem] for deg in s.degradations}
    rows = []
    for deg in s.degradations:
        lq = as_bgr(tensor_to_image(item[deg]))
        target = as_bgr(reference[deg][stem])
        cells = [crop_center(c, 160) for c in (upscale_nearest(lq, target.shape), target,
                                                *(as_bgr(shown[m][deg]) for m in s.degradations))]
        maps = [None, None, *(difference_map(c, cells[1]) for c in cells[2:])]
        rows.append((degradation(deg).input_title, cells, maps))
    labels = ['input', 'target model', *(f'1% {degradation(m).function}\nfilters masked' for m in s.degradations)]
    return save_figure(masking_sheet(rows, labels, title=f'FAIG filters, image {stem}'), path)


def study_key(s, baseline, target, photos):
    """What the results are made from: the models' weights, the photos' pixels, the settings."""
    settings = {k: v for k, v in asdict(s).items() if k not in ('baseline', 'target', 'images', 'out', 'force', 'redo',
                                                                  'device', 'lr_folders')}
    lr = {role: {n: content_sha1(p) for n, p in sorted(list_images(folder).items())}
          for role, folder in (s.lr_folders or {}).items()}
    return json.loads(json.dumps({'baseline': state_digest(baseline), 'target': state_digest(target),
                                  'photos': {stem: content_sha1(p) for stem, p in sorted(photos.items())},
                                  'lr_folders': lr, 'settings': settings}, default=str))


def outputs_unchanged(out):
    """Whether every file the study in ``out`` recorded writing is there with the contents it wrote."""
    record = read_record(osp.join(out, RECORD), 'study record', bad='skip')
    written = record.get('outputs') if record else None
    return bool(written) and all(osp.isfile(osp.join(out, p)) and sha1_file(osp.join(out, p)) == h
                                 for p, h in written.items())


def run_study(s, layout=None, progress=True):
    """Run the study of ``s``; returns its :class:`StudyRun` (None on the other ranks of a torchrun launch, which
    only share the attribution). ``layout``: where the results go for another report to read (the bundled
    ResultsLayout); default the study's own folder ``s.out``, with its report.md."""
    s.out = osp.abspath(osp.expanduser(s.out))
    s.images = osp.abspath(osp.expanduser(s.images))
    check_folders(s)
    photos = photos_of(s.images)
    for deg in s.degradations:
        degradation(deg)  # a known degradation before any work
    net, baseline, target, read = load_pair(s)
    channels = image_channels(net)[0]
    geometry = input_geometry(net, channels=channels, scale=s.scale, device=s.device)
    own = layout is None
    layout = layout or StudyFolder(s.out, s.label, osp.basename(s.images))
    key = study_key(s, baseline, target, photos)
    group = Ranks(s.device)
    timings = {}
    with contextlib.ExitStack() as held:
        def begin():
            """The study folder held and claimed, and its data made (the first rank); None: nothing to redo."""
            _say(f'{s.label}: {geometry.describe()}', progress)
            held.enter_context(FolderLock(s.out, 'the study folder'))
            claimed = claim_results(s.out, key, s.force, (RECORD, REPORT), meta_name=RECORD)
            if claimed == 'same' and not s.redo and outputs_unchanged(s.out):
                return None
            start = time.time()
            folders = make_data(s, geometry, photos, channels, progress)
            timings['data'] = time.time() - start
            return folders

        try:
            folders = group.decide(begin)
            if folders is not None:
                attribute_all(s, geometry, folders['crops'], layout, space_for_network(net).num_filters, timings,
                              progress and group.main)
        except BaseException as exc:
            group.stop(exc)
            raise
        group.close()
        if not group.main:
            return None
        if folders is None:
            _say(f'{s.out}: the results of these inputs and settings are there already', progress)
            record = read_record(osp.join(s.out, RECORD), 'study record')
            return StudyRun(record, {}, osp.join(s.out, REPORT) if own else None)
        return evaluate(s, layout, own, net, baseline, target, read, geometry, folders, key, timings, progress)


def evaluate(s, layout, own, net, baseline, target, read, geometry, folders, key, timings, progress):
    """The stages after the rankings (on the first rank alone), and the record that seals the study."""
    stems = sorted(photos_of(folders['whole']['gt']))
    channels = image_channels(net)[0]
    start = time.time()
    whole = load_sets(s, folders['whole'], stems, channels)
    psnr = {kind: psnr_of(net, state, whole, {role: folders['whole'][role] for role in lr_roles(s)}, geometry.scale)
            for kind, state in (('baseline', baseline), ('target', target))}
    timings['PSNR'] = time.time() - start
    del whole
    net.load_state_dict(target, strict=True)
    crops = load_sets(s, folders['crops'], stems, channels)
    scores = {name: FilterScores.load(layout.rankings(name), net) for name in METHOD_NAMES}
    a, b = s.degradations
    start = time.time()
    per_image, reference = compare(net, baseline, scores, s, crops, progress)
    means = mean_results(per_image)
    files = {osp.join(layout.metrics(), name): data
             for name, data in metric_files(per_image, METHOD_NAMES, s.proportions, s.degradations).items()}
    files[osp.join(layout.metrics(), 'meta.json')] = json_bytes({'run_key': key})
    plot_proportion_curves(means, METHOD_NAMES, list(s.proportions), f'{layout.net} on {layout.dataset}',
                           layout.figure('proportion_curves'), (a, b))
    teaser = s.teaser_image if s.teaser_image in stems else stems[0]
    masking_figure(net, baseline, scores['faig'], s, crops, reference, teaser, layout.figure('masking', teaser))
    timings['comparison'] = time.time() - start
    faig_scores = scores['faig']
    space = faig_scores.space
    rankings = {a: faig_scores.ranking(a, b), b: faig_scores.ranking(b, a)}
    plot_filter_distribution(space, rankings, 1, layout.net, layout.figure('filter_distribution'))
    start = time.time()
    curves, modulation = modulate(net, baseline, faig_scores, s, crops, layout)
    files.update(modulation)
    timings['modulation'] = time.time() - start
    for kind, table in psnr.items():
        files[layout.psnr_record(kind)] = json_bytes({'psnr': table, 'run_key': key})
    per_image_scores = read_per_image_scores(osp.join(layout.rankings('faig'), ResultsLayout.PER_IMAGE_SCORES),
                                             space.num_filters)
    image_location = {stem: location_stats(space, r, (a, b))
                      for stem, r in image_rankings(per_image_scores, (a, b)).items()}
    findings = net_findings(means, per_image, list(s.proportions), location_stats(space, rankings, (a, b)),
                            image_location, curves, (a, b))
    for folder in {osp.dirname(path) for path in files}:  # each folder's files land together
        commit_files(folder, {osp.basename(p): data for p, data in files.items() if osp.dirname(p) == folder},
                     replaces=METRIC_PATTERNS if folder == layout.metrics() else ())
    figures = [('proportion curves', layout.figure('proportion_curves')), ('masking', layout.figure('masking', teaser)),
               ('filter distribution', layout.figure('filter_distribution'))]
    report = osp.join(s.out, REPORT) if own else None
    if own:
        lines = report_lines(s, geometry, psnr, means, findings, figures, curves, sum(timings.values()), len(stems))
        commit_files(s.out, {REPORT: '\n'.join(lines).encode() + b'\n'})
    written = [*files, *(path for _, path in figures), *([report] if report else []),
               *(osp.join(layout.rankings(m), f) for m in METHOD_NAMES for f in sorted(os.listdir(layout.rankings(m)))
                 if any(fnmatch.fnmatch(f, p) for p in RANKING_PATTERNS))]
    record = {'run_key': key, 'checkpoints': read, 'geometry': asdict(geometry), 'psnr': psnr,
              'seconds': timings, 'generated': time.strftime('%Y-%m-%d %H:%M'),
              'findings': [{k: f[k] for k in ('id', 'title', 'holds', 'numbers', 'per_image')} for f in findings],
              'outputs': {osp.relpath(osp.abspath(p), s.out): sha1_file(p) for p in written}}
    commit_files(s.out, {RECORD: json.dumps(record, indent=1, default=float).encode()})
    return StudyRun(record, timings, report)


def report_lines(s, geometry, psnr, means, findings, figures, curves, seconds, count):
    """The lines of a study's own report.md."""
    a, b = s.degradations
    region = 'whole images' if s.crop is None else f'centre crops of {s.crop}×{s.crop} LR pixels (at most)'
    lines = [f'# FAIG study of {s.label}', '',
             f'Generated by `faig study` on {time.strftime("%Y-%m-%d %H:%M")} in {seconds:.0f} s. '
             f'Baseline `{s.baseline}`, target `{s.target}`, {count} photos from `{s.images}`; '
             f'{geometry.describe()}. Attribution: {s.steps} steps ({s.quadrature}) on {region}; masking and '
             'modulation on the same crops; PSNR on the whole images. Output difference = mean over images of '
             "the MSE between the gradient maps of the masked and the target's outputs, ×1000.", '',
             '## Findings', '']
    for f in findings:
        lines.append(f'- {f["title"]}: {verdict(f["holds"])}. {f["text"]} {describe_robustness(f["per_image"])}')
    lines += ['', '## PSNR (dB)', '', psnr_table(psnr).markdown(), '',
              '## Masking the top filters of each method', '',
              markdown_tables(means, METHOD_NAMES, s.proportions, s.degradations), '']
    for alt, path in figures:
        lines += [f'![{alt}]({osp.relpath(path, s.out)})', '']
    lines += ['## Modulation', '', *markdown_table(
        ['λ', *(f'{degradation(d).function} filters' for d in (a, b))],
        [[f'{lam:g}', *(f'{curves[d]["output_difference"][i]:.4f}' for d in (a, b))]
         for i, lam in enumerate(s.lambdas)])]
    lines += ['', 'Rankings (the original\'s index files): `rankings/<method>/`; the data the study made: `data/`; '
              'what it was made from: `study.json`. Retraining, degradation prediction and the --full comparison '
              'are studies of the bundled pairs (`scripts/retrain_study.py`, `scripts/predict_degradation_study.py`, '
              '`scripts/reproduce.py --full`) and have no record for this pair.', '']
    return lines
