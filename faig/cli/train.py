"""``train.py``: BasicSR's training command line, after faig.training has checked the option file.

Differences from ``basicsr/train.py``: the options and ``--force_yml`` are read as data (never ``eval()``ed); one run
per experiment at a time (a lock beside ``experiments/<name>``); checkpoints are written whole or not at all, and a
failed write stops the run with one ``error:`` line and exit status 2 (BasicSR logs it and goes on).
"""
import contextlib
import io
import os.path as osp
import random

import torch

from faig import compat
from faig.errors import InputError, Parser, WriteError, cli, one_line
from faig.files import require_output_folder, write_bytes
from faig.outputs import FolderLock
from faig.training import check_options
from faig.training_runs import read_options

compat.apply()  # before the first basicsr import

from basicsr import train as basicsr_train  # noqa: E402
from basicsr.models.base_model import BaseModel  # noqa: E402
from basicsr.utils import set_random_seed  # noqa: E402
from basicsr.utils.dist_util import get_dist_info, init_dist  # noqa: E402


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


def parse_options(root_path, args):
    """basicsr's ``parse_options`` (utils/options.py) for train.py, with the file and ``--force_yml`` read as data
    (faig.training_runs.read_options) instead of through basicsr's parser, which ``eval()``s override values."""
    opt = read_options(args.opt, args.force_yml)
    opt['dist'] = args.launcher != 'none'
    if opt['dist']:
        if args.launcher == 'slurm' and 'dist_params' in opt:
            init_dist(args.launcher, **opt['dist_params'])
        else:
            init_dist(args.launcher)
    else:
        print('Disable distributed.', flush=True)
    opt['rank'], opt['world_size'] = get_dist_info()
    if opt.get('manual_seed') is None:
        opt['manual_seed'] = random.randint(1, 10000)
    set_random_seed(opt['manual_seed'] + opt['rank'])
    opt['auto_resume'] = args.auto_resume
    opt['is_train'] = True
    if args.debug and not opt['name'].startswith('debug'):
        opt['name'] = 'debug_' + opt['name']
    if opt['num_gpu'] == 'auto':
        opt['num_gpu'] = torch.cuda.device_count()
    for phase, dataset in opt['datasets'].items():
        dataset['phase'] = phase.split('_')[0]
        if 'scale' in opt:
            dataset['scale'] = opt['scale']
        for key in ('dataroot_gt', 'dataroot_lq'):
            if dataset.get(key) is not None:
                dataset[key] = osp.expanduser(dataset[key])
    for key, value in opt['path'].items():
        if value is not None and ('resume_state' in key or 'pretrain_network' in key):
            opt['path'][key] = osp.expanduser(value)
    root = osp.join(root_path, 'experiments', opt['name'])
    opt['path'].update(experiments_root=root, models=osp.join(root, 'models'), log=root,
                       training_states=osp.join(root, 'training_states'), visualization=osp.join(root, 'visualization'))
    if 'debug' in opt['name']:
        if 'val' in opt:
            opt['val']['val_freq'] = 8
        opt['logger']['print_freq'] = 1
        opt['logger']['save_checkpoint_freq'] = 8
    return opt, args


def save_whole(obj, path):
    """``torch.save`` that lands whole or not at all (temporary file, then rename): a full disk leaves the last
    complete checkpoint, never a truncated one under its name; the failure is a WriteError."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    try:
        write_bytes(path, buffer.getvalue())
    except InputError as exc:
        raise WriteError(f'{exc}; training stopped, the checkpoints written before are kept') from None


def save_network(self, net, net_label, current_iter, param_key='params'):
    """BaseModel.save_network written with save_whole: basicsr retries a failed save and then goes on
    ("Just ignore it"), ending with exit status 0 and a truncated or missing ``net_g_latest.pth``."""
    nets = net if isinstance(net, list) else [net]
    keys = param_key if isinstance(param_key, list) else [param_key]
    saved = {}
    for one, key in zip(nets, keys):
        state = self.get_bare_model(one).state_dict()
        saved[key] = {(name[len('module.'):] if name.startswith('module.') else name): value.cpu()
                      for name, value in state.items()}
    label = 'latest' if current_iter == -1 else current_iter
    save_whole(saved, osp.join(self.opt['path']['models'], f'{net_label}_{label}.pth'))


def save_training_state(self, epoch, current_iter):
    """BaseModel.save_training_state written with save_whole (see save_network)."""
    if current_iter == -1:
        return
    state = {'epoch': epoch, 'iter': current_iter, 'optimizers': [o.state_dict() for o in self.optimizers],
             'schedulers': [s.state_dict() for s in self.schedulers]}
    save_whole(state, osp.join(self.opt['path']['training_states'], f'{current_iter}.state'))


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


def run_pipeline(root_path, args):
    """basicsr's train_pipeline with the options of parse_options and checkpoints saved whole; an OS error
    (read-only or full disk) is one line."""
    basicsr_train.parse_options = lambda root, is_train=True: parse_options(root, args)
    BaseModel.save_network, BaseModel.save_training_state = save_network, save_training_state
    try:
        basicsr_train.train_pipeline(root_path)
    except OSError as exc:
        where = exc.filename or osp.join(root_path, 'experiments')
        raise WriteError(f'{where}: {exc.strerror or one_line(exc)}; training stopped') from None


@cli
def train(root_path, argv=None):
    """Entry point of ``train.py``: same command line as BasicSR (-opt, --auto_resume, ...)."""
    args = parse_train_args(argv)
    if args.launcher != 'none' and not torch.cuda.is_available():
        raise InputError(f'--launcher: {args.launcher} needs CUDA GPUs (basicsr 1.4.2 has no distributed '
                         'training on the CPU); leave it out')
    opt = check_options(args.opt, args.auto_resume, force_yml=args.force_yml, root_path=root_path, debug=args.debug)
    name = f'debug_{opt["name"]}' if args.debug and not opt['name'].startswith('debug') else opt['name']
    require_output_folder(osp.join(root_path, 'experiments', name), 'the experiment folder')
    with experiment_lock(root_path, name):
        run_pipeline(root_path, args)
