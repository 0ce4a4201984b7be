"""Reproduce the FAIG pipeline and the paper's findings on the bundled default, on CPU: `faig study` on the
bundled pairs and sample data, then the report of both networks.

    python scripts/reproduce.py              # default budget (see --help), about 6 min on 2 cores
    python scripts/reproduce.py --full       # the paper's settings: 100 steps, whole images; its records go to
                                             # results/reference/<net>/, which the default run reads, never writes
    python scripts/reproduce.py --force      # redo everything
    python scripts/reproduce.py --full --nets srcnn_style   # one network only
    python scripts/reproduce.py --models_dir experiments/pretrained/next --nets srcnn_style   # a pair staged there
                                   # (its results: results/staged/experiments/pretrained/next/; next/ is empty
                                   # between pairs: the last one became the bundled srcnn_style on 2026-12-02)

Stages: sample data -> LR test sets -> models (bundled, or trained with --train) -> the study of each pair
(faig.study: PSNR, FAIG / IG / |θ−θ̄| / random rankings, comparison tables and figures, filter distribution,
modulation; a study whose models, images and settings are unchanged is reused, and a FAIG or IG ranking stopped
part-way resumes with the images it had finished) -> results/report.md (a staged pair's, --models_dir:
results/staged/<that folder>/report.md, and the bundled pairs' results stay as they were).
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
# (after the sys.path entry above; the modules that import torch are imported where they are used: --help
# answers in 0.2 s rather than 4 s of CPU)
from faig.attribution.quadrature import METHODS as RULES  # noqa: E402
from faig.cli.args import Parser, positive_int  # noqa: E402
from faig.errors import InputError, cli  # noqa: E402
from faig.paths import BUNDLED_MODELS as BUNDLED  # noqa: E402
from faig.paths import SAMPLE_TEST_ROOT as DATA  # noqa: E402
from faig.specs import CLEAN_FOLDER, DEFAULT_PAIR, NETWORKS, ResultsLayout, degradation  # noqa: E402

NETS = tuple(NETWORKS)  # the bundled pairs: one per network of faig/specs.py
SCALE = 2
LR_FOLDERS = (*(degradation(deg).folder for deg in DEFAULT_PAIR), CLEAN_FOLDER)  # what the study reads (x2)


def lr_sets():
    """{role: folder} of the LR test sets generate_lr makes by default: the degraded and the clean ones."""
    from faig.data.lr_sets import default_folders
    return default_folders(DATA, SCALE, degradations=DEFAULT_PAIR)


def complete_lr_sets():
    """Every degraded test set holds every GT image (a generate_lr run stopped midway is run again)."""
    from faig.data.image_io import list_images
    stems = {osp.splitext(n)[0] for n in list_images(osp.join(ROOT, DATA, 'GTmod12'))}
    for folder in lr_sets().values():
        path = osp.join(ROOT, folder)
        if not osp.isdir(path) or not stems <= {osp.splitext(n)[0] for n in os.listdir(path)}:
            return False
    return True


def timed(title, step, timings):
    """Run ``step()``, print and keep its seconds under ``title``."""
    print(f'\n=== {title}', flush=True)
    start = time.time()
    step()
    timings[title] = time.time() - start
    print(f'--- {title}: {timings[title]:.1f} s', flush=True)


def bundled_study(net, models_dir, args, device):
    """The study settings of ``net``'s pair on the sample data (the study's own folder: ``<results>/study/<net>``)."""
    from faig.networks import preset
    from faig.specs import results_folder
    from faig.study import StudySettings
    lr_folders = dict(zip((*DEFAULT_PAIR, 'clean'), (osp.join(DATA, folder) for folder in LR_FOLDERS)))
    return StudySettings(
        network=preset(net, SCALE), baseline=f'{models_dir}/{net}/baseline_model.pth',
        target=f'{models_dir}/{net}/target_model.pth', images=osp.join(DATA, 'GTmod12'),
        out=osp.join(results_folder(), 'study', net), scale=SCALE, degradations=DEFAULT_PAIR, lr_folders=lr_folders,
        steps=args.steps or (100 if args.full else 16), crop=None if args.full else (args.crop or 64),
        quadrature=args.quadrature, device=device, force=True, redo=args.force, net_name=net,
        teaser_image=ResultsLayout.TEASER_IMAGE)


@cli
def main():
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--force', action='store_true', help='redo everything, reused results included')
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
                        help='networks to run and report (default: all); a long --full run can so be split')
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
        reproduce(args, nets, models_dir)


def reproduce(args, nets, models_dir):
    """The data, the models, each pair's study and the report, in the results folder the caller set
    (``faig.specs.results_in``)."""
    import torch

    from faig.data.lr_sets import generate
    from faig.data.sample_data import prepare
    from faig.reporting.report import write_report
    from faig.specs import results_folder
    from faig.study import run_study
    timings = {}
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    studies = {net: bundled_study(net, models_dir, args, device) for net in nets}
    first = studies[nets[0]]
    dataset = osp.basename(DATA) + ('' if first.crop is None else f'_crop{first.crop}')
    print(f'settings: FAIG/IG with {first.steps} steps ({args.quadrature}) on '
          f'{"whole images" if first.crop is None else f"centre crops of {first.crop}x{first.crop} LR pixels"} of the '
          'test images; masking, modulation and figures on the same images; PSNR of the models on whole images',
          flush=True)
    print(f'device: {device} ({torch.cuda.get_device_name(0) if device == "cuda" else f"{os.cpu_count()} CPU cores"})',
          flush=True)
    print(f'models: {models_dir}/<net>/{{baseline,target}}_model.pth; results -> {results_folder()}/', flush=True)

    if args.force or not osp.isdir(f'{DATA}/GTmod12'):
        timed('sample data', lambda: prepare(osp.dirname(DATA), overwrite=args.force), timings)
    if args.force or not complete_lr_sets():  # (generate leaves the images it would write again as they are)
        timed('LR sets', lambda: generate(f'{DATA}/GTmod12', lr_sets(), SCALE, overwrite=args.force), timings)
    for net in nets:
        if args.train or not osp.isfile(studies[net].target):
            # BasicSR configures its logger once per process: training runs apart
            timed(f'train {net}', lambda: subprocess.run(
                [sys.executable, 'scripts/train_cpu_models.py', '--net', net], cwd=ROOT, check=True), timings)
    for net, settings in studies.items():
        print(f'\n=== {net} study -> {settings.out}', flush=True)
        run = run_study(settings, ResultsLayout(net, dataset))
        timings.update({f'{net} {stage}': seconds for stage, seconds in run.timings.items()})
    # only --full writes the reference records (results/reference/<net>/) that every report compares with
    path = write_report(ROOT, nets, dataset, {'steps': first.steps, 'quadrature': args.quadrature, 'crop': first.crop,
                                              'timings': timings, 'device': device, 'models_dir': models_dir,
                                              'reference': args.full})
    print(f'\nreport -> {path}')


if __name__ == '__main__':
    main()
