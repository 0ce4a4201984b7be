"""``train.py``: BasicSR's training command line, after faig.training has checked the option file.

Differences from ``basicsr/train.py``: one run per experiment at a time (a lock beside ``experiments/<name>``), and
those of faig.training_pipeline (options read as data, checkpoints written whole).
"""
import contextlib
import os.path as osp

from faig.errors import InputError, Parser, cli
from faig.files import require_output_folder
from faig.store import FolderLock


def parse_train_args(argv=None):
    """basicsr's train command line (utils/options.py::parse_options), with one-line errors."""
    parser = Parser(description='Train with BasicSR after checking the option file.')
    parser.add_argument('-opt', required=True, help='path to the option YAML file')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none', help='job launcher')
    parser.add_argument('--auto_resume', action='store_true')
    parser.add_argument('--debug', action='store_true')
    parser.add_argument('--local_rank', type=int, default=0)
    parser.add_argument('--force_yml', nargs='+', default=None,
                        help='override options, e.g. train:ema_decay=0.999 (checked like the file)')
    return parser.parse_args(argv)


@contextlib.contextmanager
def experiment_lock(root_path, name):
    """One train.py per experiment: a FolderLock held beside ``experiments/<name>`` (in ``experiments/.locks/``:
    a fresh run renames an existing ``experiments/<name>`` aside, and a lock inside would go with it)."""
    lock = FolderLock(osp.join(root_path, 'experiments', '.locks', name))
    try:
        lock.acquire()
    except InputError as exc:
        raise InputError(str(exc).replace(lock.folder, osp.join('experiments', name), 1)) from None
    try:
        yield lock
    finally:
        lock.release()


@cli
def train(root_path, argv=None):
    """Entry point of ``train.py``: same command line as BasicSR (-opt, --auto_resume, ...)."""
    args = parse_train_args(argv)
    # imported once the command line is read: importing torch and BasicSR first made --help and a wrong flag take
    # 24 s instead of 0.8 s (2 loaded cores)
    import torch

    from faig.training import check_options
    from faig.training_pipeline import run_pipeline
    if args.launcher != 'none' and not torch.cuda.is_available():
        raise InputError(f'--launcher: {args.launcher} needs CUDA GPUs (basicsr 1.4.2 has no distributed '
                         'training on the CPU); leave it out')
    opt = check_options(args.opt, args.auto_resume, force_yml=args.force_yml, root_path=root_path, debug=args.debug)
    name = f'debug_{opt["name"]}' if args.debug and not opt['name'].startswith('debug') else opt['name']
    require_output_folder(osp.join(root_path, 'experiments', name), 'the experiment folder')
    with experiment_lock(root_path, name):
        run_pipeline(root_path, args)
