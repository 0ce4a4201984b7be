"""BasicSR's train_pipeline as train.py runs it: the option file and ``--force_yml`` read as data (never ``eval()``ed
as by BasicSR's parser), checkpoints and training states written whole or not at all, and a failed write one
line and exit status 2 (BasicSR logs it and goes on)."""
import io
import os.path as osp
import random

import torch

from faig import compat
from faig.errors import InputError, WriteError, one_line
from faig.files import write_bytes
from faig.training_runs import read_options

compat.apply()  # before the first basicsr import

from basicsr import train as basicsr_train  # noqa: E402
from basicsr.models.base_model import BaseModel  # noqa: E402
from basicsr.utils import set_random_seed  # noqa: E402
from basicsr.utils.dist_util import get_dist_info, init_dist  # noqa: E402


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
