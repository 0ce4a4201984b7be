"""Reproduce the FAIG pipeline and the paper's findings on the bundled default, on CPU.

    python scripts/reproduce.py              # default budget (see --help), about 6 min on 2 cores
    python scripts/reproduce.py --full       # the paper's settings: 100 steps, whole images; its records go to
                                             # results/reference/<net>/, which the default run reads, never writes
    python scripts/reproduce.py --force      # redo finished stages
    python scripts/reproduce.py --full --nets srcnn_style   # one network only
    python scripts/reproduce.py --models_dir experiments/pretrained/next --nets srcnn_style   # a pair staged there
                                   # (its results: results/staged/experiments/pretrained/next/; next/ is empty
                                   # between pairs: the last one became the bundled srcnn_style on 2026-12-02)

Stages (each reused when its outputs exist and were made from the same models and settings; a FAIG or IG
stage stopped part-way resumes with the images it had finished):
sample data -> LR test sets -> models (bundled, or trained with --train) -> inference with
PSNR -> FAIG / IG / |θ−θ̄| / random rankings for both networks -> comparison tables and
figures -> filter distribution -> modulation ->
results/report.md (a staged pair's, --models_dir: results/staged/<that folder>/report.md, and the
bundled pairs' results stay as they were).
"""
import argparse
import os
import os.path as osp
import runpy
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
NETS = ('srresnet', 'srcnn_style')
DATA = 'datasets/SampleSet'
LR_FOLDERS = ('Blur2_LRbicx2', 'LRbicx2_noise0.1', 'Linear_LRbicx2')
from faig.errors import InputError, cli  # noqa: E402  (after the sys.path entry above)
from faig.paths import BUNDLED_MODELS as BUNDLED  # noqa: E402


def run(call, args, title):
    """Run one stage in this process: ``call(argv)`` (a CLI function) or a script path run as __main__."""
    print(f'\n=== {title}\n$ python {call if isinstance(call, str) else call.__name__} {" ".join(args)}', flush=True)
    start = time.time()
    if isinstance(call, str):
        saved = sys.argv
        sys.argv = [call, *args]
        try:
            runpy.run_path(osp.join(ROOT, call), run_name='__main__')
        finally:
            sys.argv = saved
    else:
        call(list(args))
    seconds = time.time() - start
    print(f'--- {title}: {seconds:.1f} s', flush=True)
    return seconds


def tool(name, net):
    """The CLI function behind analysis/tools/<net>/<name>.py (or inference/inference_<net>.py), bound to ``net``."""
    from faig.cli import per_network_tools
    functions = per_network_tools()

    def call(argv):
        return functions[name](net, argv)

    call.__name__ = f'inference/inference_{net}.py' if name == 'inference' else f'analysis/tools/{net}/{name}.py'
    return call


def script(name, module, function):
    """The CLI function behind analysis/scripts/<name>.py."""
    import importlib
    func = getattr(importlib.import_module(module), function)

    def call(argv):
        return func(argv)

    call.__name__ = f'analysis/scripts/{name}.py'
    return call


def exists(path):
    return osp.exists(osp.join(ROOT, path))


def complete_lr_sets():
    """Every degraded test set holds every GT image (a generate_lr run stopped midway is run again)."""
    from faig.data.image_io import list_images
    stems = {osp.splitext(n)[0] for n in list_images(osp.join(ROOT, DATA, 'GTmod12'))}
    for folder in (*LR_FOLDERS, 'LRbicx2'):
        path = osp.join(ROOT, DATA, folder)
        if not osp.isdir(path) or not stems <= {osp.splitext(n)[0] for n in os.listdir(path)}:
            return False
    return True


def report_folder():
    """``<results folder>/report`` (the stage records, in the folder of the study being run)."""
    from faig.specs import results_folder
    return osp.join(ROOT, results_folder(), 'report')


def record(name):
    """The record of stage ``name`` (faig.stamps.StageRecord: key + hash of each output)."""
    from faig.stamps import StageRecord
    return StageRecord(osp.join(report_folder(), 'stages', f'{name}.json'))


def stage_done(name, key, outputs=None):
    """Whether stage ``name`` ran under ``key`` and its outputs are the files it made. A stage that an
    earlier version marked done (``results/report/<name>.done`` holding the key) is taken over with the
    ``outputs`` there now, once, instead of being run again (hours for a --full run)."""
    if record(name).done(key, ROOT):
        return True
    legacy = osp.join(report_folder(), f'{name}.done')
    if outputs and isinstance(key, str) and osp.isfile(legacy) and all(exists(f) for f in outputs):
        with open(legacy) as f:
            if f.read().strip() == key:
                mark_done(name, key, outputs)
                os.remove(legacy)
                return True
    return False


def mark_done(name, key, outputs):
    record(name).finish(key, outputs, ROOT)


def modulation_outputs(layout, deg):
    """The record and contact sheet of the 1 % modulation of ``deg`` (relative to the repository): the folder the
    report reads (``<n>kernels`` with n = 1 % of the ranked filters), checked to be made from the current FAIG
    ranking."""
    import json
    from faig.evaluation.masking import num_selected
    from faig.specs import ResultsLayout, degradation
    from faig.stamps import sha1_file
    ranking = osp.join(ROOT, layout.rankings('faig'), f'{deg}_index.txt')
    with open(ranking) as f:
        filters = sum(1 for line in f if line.strip())
    folder = osp.join(layout.modulation(), f'{num_selected(filters, 1)}kernels', degradation(deg).modulation_kind)
    path = osp.join(ROOT, folder, ResultsLayout.MODULATION_RECORD)
    with open(path) as f:
        if json.load(f).get('run_key', {}).get('ranking') != sha1_file(ranking):
            raise RuntimeError(f'{path}: not made from the current ranking {ranking}')
    return [osp.join(folder, ResultsLayout.MODULATION_RECORD), osp.join(folder, ResultsLayout.CONTACT_SHEET)]


def ranking_outputs(folder):
    """The files of a ranking folder (relative to the repository), as the stage records hash them."""
    from faig.attribution.ranking import RANKING_PATTERNS
    import fnmatch
    full = osp.join(ROOT, folder)
    return [osp.join(folder, f) for f in sorted(os.listdir(full))
            if any(fnmatch.fnmatch(f, p) for p in RANKING_PATTERNS)] if osp.isdir(full) else []


def attribution_stage(stamp, key, force, method, job, command, title):
    """Run a long attribution stage (``rank_dataset(method, job)``, in this process) once per ``key``
    (settings, model and image contents).

    A run stopped part-way (the machine's time up, Ctrl-C) leaves its record ``started`` and the pipeline's
    per-image results; the next run with the same key resumes, so that only the missing images are
    computed (the pipeline checks its own settings again before reusing any). ``command``: the
    equivalent command line, printed. Returns ``(title, seconds)`` of this run (the title says when it
    resumed), or None when the stage was already done.
    """
    from faig.attribution.pipeline import rank_dataset
    if not force and stage_done(stamp, key, ranking_outputs(job.out)):
        return None
    resume = not force and record(stamp).started(key)
    record(stamp).start(key)
    title += ' (resumed)' if resume else ''
    # the stage owns its folder: earlier results of other settings are replaced (force); a stopped
    # run of the same key continues (resume: the pipeline checks its settings again)
    job.resume, job.force = resume, True
    print(f'\n=== {title}\n$ python {command}{" --resume" if resume else ""} --force', flush=True)
    start = time.time()
    from faig.cli.attribution import report
    report(method, job, rank_dataset(method, job))
    seconds = time.time() - start
    print(f'--- {title}: {seconds:.1f} s', flush=True)
    mark_done(stamp, key, ranking_outputs(job.out))
    return title, seconds


def attribution_jobs(net, models, attr_root, steps, quadrature, layout):
    """{name: (method, job, command line)} of ``net``'s ranking stages: built from the command line of each
    tool (faig.cli.attribution: the same flags, checks and defaults), which is printed as it is run."""
    from faig.attribution.methods import get_method
    from faig.cli import ATTRIBUTION_SCRIPTS
    from faig.cli.attribution import build_job, method_parser
    lr = ['--blur_folder', f'{attr_root}/Blur2_LRbicx2', '--noise_folder', f'{attr_root}/LRbicx2_noise0.1',
          '--total_step', str(steps)]
    base, target = ['--baseline_model_path', models[0]], ['--target_model_path', models[1]]
    argv = {'faig': [*base, *target, '--gt_folder', f'{attr_root}/GTmod12', *lr, '--quadrature', quadrature],
            'ig': [*target, '--bic_folder', f'{attr_root}/Linear_LRbicx2', *lr],
            'abs_filter_change': [*base, *target], 'random': []}
    scripts = {method: script for script, method in ATTRIBUTION_SCRIPTS.items()}
    jobs = {}
    for name, args in argv.items():
        args = [*args, '--record_filters_folder', layout.rankings(name)]
        cls = get_method(name)
        parser, root = method_parser(cls, net)
        method, job = build_job(cls, parser.parse_args(args), net, root)
        jobs[name] = (method, job, f'analysis/tools/{net}/{scripts[name]}.py {" ".join(args)}')
    return jobs


def library_run(method, job, command, title):
    """One quick ranking stage, in this process (``command``: its command line, printed)."""
    from faig.attribution.pipeline import rank_dataset
    from faig.cli.attribution import report
    print(f'\n=== {title}\n$ python {command} --force', flush=True)
    start = time.time()
    job.force = True
    report(method, job, rank_dataset(method, job))
    print(f'--- {title}: {time.time() - start:.1f} s', flush=True)


@cli
def main():
    from faig.attribution.quadrature import METHODS as RULES
    from faig.cli.args import Parser, positive_int
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--force', action='store_true', help='redo finished stages')
    parser.add_argument('--train', action='store_true',
                        help='train new pairs from scratch with options/cpu/*.yml (about 4 h on 2 cores), in place of the bundled '
                        'ones, which were trained longer, in several resumed periods (experiments/pretrained/README.md)')
    parser.add_argument('--full', action='store_true',
                        help="the paper's settings: --steps 100 on whole images; its records go to "
                        "results/reference/<net>/ (to be committed), which other runs read and never write")
    parser.add_argument('--steps', type=positive_int, default=None,
                        help='FAIG/IG quadrature nodes (default 16; --full 100)')
    parser.add_argument('--crop', type=positive_int, default=None,
                        help='attribute on centre crops of this LR size (default 64; --full: whole images)')
    parser.add_argument('--quadrature', default='riemann_left', choices=RULES,
                        help='FAIG quadrature rule (default: riemann_left, the original)')
    parser.add_argument('--nets', nargs='+', choices=NETS, default=list(NETS),
                        help='networks to run and report (default: both); a long --full run can so be split')
    parser.add_argument('--models_dir', default=None,
                        help='folder with <net>/{baseline,target}_model.pth (default: the bundled pairs, '
                        f'{BUNDLED}); e.g. {BUNDLED}/next, a pair being trained in resumed periods; its results go to '
                        'results/staged/<that folder>/')
    args = parser.parse_args()
    nets = [net for net in NETS if net in args.nets]  # the report's order, each once
    # the default is the repository's bundled pairs wherever the command is run from; a given folder is
    # read relative to the current folder, as any path on a command line
    models_dir = BUNDLED if args.models_dir is None else osp.relpath(osp.abspath(args.models_dir), ROOT)
    if models_dir != BUNDLED:
        if args.train:
            parser.error(f'--train: retrains the bundled pairs in {BUNDLED}, not --models_dir {args.models_dir}')
        for net in nets:
            for kind in ('baseline', 'target'):
                if not osp.isfile(osp.join(ROOT, models_dir, net, f'{kind}_model.pth')):
                    raise InputError(f'{osp.join(args.models_dir, net, kind + "_model.pth")}: not found (--models_dir '
                                     'needs both models of each net in --nets)')
    os.chdir(ROOT)  # every stage reads and writes relative to the repository, as the original
    from faig.specs import results_in, study_results_folder
    # a staged pair's study has its own results folder: the bundled pairs' results stay as they were
    with results_in(study_results_folder(models_dir)):
        study(args, nets, models_dir)


def study(args, nets, models_dir):
    """The stages, in the results folder the caller set (``faig.specs.results_in``)."""
    from faig.specs import results_folder
    steps = args.steps or (100 if args.full else 16)
    crop = None if args.full else (args.crop if args.crop is not None else 64)
    force = ['--overwrite'] if args.force else []
    timings = {}
    print(f'settings: FAIG/IG with {steps} steps ({args.quadrature}) on '
          f'{"whole images" if crop is None else f"centre crops of {crop}x{crop} LR pixels"} of the 6 test images; '
          f'masking, modulation and figures on the same images; PSNR of the models on whole images', flush=True)
    import torch
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    print(f'device: {device} ({torch.cuda.get_device_name(0) if device == "cuda" else f"{os.cpu_count()} CPU cores"})',
          flush=True)
    print(f'models: {models_dir}/<net>/{{baseline,target}}_model.pth; results -> {results_folder()}/', flush=True)

    if args.force or not exists(f'{DATA}/GTmod12'):
        timings['sample data'] = run('scripts/prepare_sample_data.py', force, 'sample data')
    if args.force or not complete_lr_sets():  # (generate_lr leaves the images it would write again as they are)
        timings['LR sets'] = run('scripts/generate_lr.py', ['--ori_folder', f'{DATA}/GTmod12', *force], 'LR test sets')
    for net in nets:
        if args.train or not exists(f'{models_dir}/{net}/target_model.pth'):
            import subprocess  # BasicSR configures its logger once per process: training runs apart
            start = time.time()
            subprocess.run([sys.executable, 'scripts/train_cpu_models.py', '--net', net], cwd=ROOT, check=True)
            timings[f'train {net}'] = time.time() - start

    attr_root = DATA
    if crop is not None:
        attr_root = f'datasets/SampleSet_crop{crop}'
        if args.force or not exists(f'{attr_root}/GTmod12'):
            from faig.data.lr_sets import crop_test_set
            crop_test_set(osp.join(ROOT, DATA), osp.join(ROOT, attr_root), crop, 2, LR_FOLDERS)
            print(f'attribution crops -> {attr_root}')
    setting = f'steps{steps}_{args.quadrature}_' + ('full' if crop is None else f'crop{crop}')
    dataset = osp.basename(attr_root)

    from faig.specs import ResultsLayout
    from faig.stamps import data_digest, sha1_file
    data_keys = {root: data_digest(osp.join(ROOT, root))[:12] for root in {DATA, attr_root}}
    for net in nets:
        models = [f'{models_dir}/{net}/{kind}_model.pth' for kind in ('baseline', 'target')]
        # stages are redone when the models or images they used have changed (contents, not paths)
        model_keys = [sha1_file(osp.join(ROOT, m))[:12] for m in models]
        for kind, model, model_key in zip(('baseline', 'target'), models, model_keys):
            key = f'{model_key} data {data_keys[DATA]}'
            out = ResultsLayout(net, dataset).model_outputs(kind)
            psnr = ResultsLayout(net, dataset).psnr_record(kind)
            if args.force or not stage_done(f'{net}_{kind}_inference', key, [psnr]):
                timings[f'{net} {kind} inference'] = run(tool('inference', net), [
                    '--dataroot', DATA, '--model_path', model, '--save_root', out,
                    '--folders', *LR_FOLDERS, '--psnr_json', psnr, '--force'], f'{net} {kind} inference + PSNR')
                mark_done(f'{net}_{kind}_inference', key, [psnr])
        layout = ResultsLayout(net, dataset)
        model_args = ['--baseline_model_path', models[0], '--target_model_path', models[1]]
        stamp = f'{net}_rankings_{setting}'
        rankings_key = f'{setting} models {" ".join(model_keys)} data {data_keys[attr_root]}'
        ranking_files = lambda: [f for m in ('faig', 'ig', 'abs_filter_change', 'random')  # noqa: E731
                                 for f in ranking_outputs(layout.rankings(m))]
        if args.force or not stage_done(stamp, rankings_key, ranking_files()):
            jobs = attribution_jobs(net, models, attr_root, steps, args.quadrature, layout)
            for name, title in (('faig', 'FAIG'), ('ig', 'IG')):
                method, job, command = jobs[name]
                ran = attribution_stage(f'{net}_{name}_{setting}', rankings_key, args.force,
                                        method, job, command, f'{net} {title}')
                if ran:
                    timings[ran[0]] = ran[1]
            for name, title in (('abs_filter_change', '|θ−θ̄|'), ('random', 'random')):
                method, job, command = jobs[name]
                library_run(method, job, command, f'{net} {title}')
            mark_done(stamp, rankings_key, ranking_files())
        # the comparison is current while the rankings it read are the files the rankings stage made (their
        # index and score files: a rerun that writes the same rankings with another meta.json changes nothing)
        comparison_key = {'rankings': {f: h for f, h in record(stamp).outputs().items()
                                       if f.endswith(('_index.txt', '_scores.npy'))}, 'models': model_keys,
                          'data': data_keys[attr_root]}
        if args.force or not stage_done(f'{net}_comparison_{dataset}', comparison_key):
            timings[f'{net} comparison'] = run(tool('comparison', net), [
                *model_args, '--dataset', dataset,
                '--target_model_output_root', osp.join(layout.target_outputs(), dataset), '--teaser_image',
                ResultsLayout.TEASER_IMAGE, '--force'], f'{net} comparison')
            metrics = layout.metrics()
            mark_done(f'{net}_comparison_{dataset}', comparison_key,
                      [osp.join(metrics, f) for f in (ResultsLayout.COMPARISON_CSV, ResultsLayout.COMPARISON_MD, 'meta.json')])
        # the distribution and modulation read the rankings (and the models, the modulation the images too):
        # current while those are the files the rankings stage made, like the comparison
        distribution_key = {'rankings': comparison_key['rankings'], 'target': model_keys[1]}
        figure = layout.figure('filter_distribution')
        if args.force or not stage_done(f'{net}_distribution_{dataset}', distribution_key):
            distribution = script('vis_filters_distribution', 'faig.cli.analysis', 'distribution_main')
            timings[f'{net} distribution'] = run(distribution, [
                '--net', net, '--dataset', dataset,
                '--target_model_path', models[1], '--save_path', figure], f'{net} filter distribution')
            mark_done(f'{net}_distribution_{dataset}', distribution_key, [figure])
        for deg in ('blur', 'noise'):
            modulation_key = {**distribution_key, 'baseline': model_keys[0], 'data': data_keys[attr_root],
                              'degradation': deg}
            if args.force or not stage_done(f'{net}_modulation_{deg}_{dataset}', modulation_key):
                modulation = script('filter_modulation', 'faig.cli.analysis', 'modulation_main')
                timings[f'{net} modulation {deg}'] = run(modulation, [
                    '--net', net, '--dataset', dataset, '--degradation', deg,
                    *model_args, '--force'], f'{net} modulation ({deg})')
                mark_done(f'{net}_modulation_{deg}_{dataset}', modulation_key, modulation_outputs(layout, deg))

    from faig.reporting.report import write_report
    # only --full writes the reference records (results/reference/<net>/) that every report compares with
    path = write_report(ROOT, nets, dataset, {'steps': steps, 'quadrature': args.quadrature, 'crop': crop,
                                              'timings': timings, 'setting': setting, 'device': device,
                                              'models_dir': models_dir, 'reference': args.full})
    print(f'\nreport -> {path}')


if __name__ == '__main__':
    main()
