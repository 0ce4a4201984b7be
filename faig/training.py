"""A BasicSR training option file, checked before train_pipeline makes any folder, and read as data.

BasicSR checks little before it creates ``experiments/<name>``: a typo'd key is ignored (an unknown ``path`` key
even becomes a folder) and a wrong value crashes mid-run. What is checked elsewhere is left there: checkpoints
load through faig.networks.load_params, a dataset or model class checks its own options (``check_options``,
ReTrainModel's ``check_resume``), the registries know their types. :data:`CHECKS` are the checks the project
adds, in the order they run, each with an example of the one line it fails with (``<yml>: <where>: <problem>``).
"""
import difflib
import inspect
import numbers
import operator
import os.path as osp
import re
from importlib.util import find_spec

import torch
from faig import compat, register
from faig.errors import InputError
from faig.paths import sample_data_hint
from faig.training_runs import read_options

compat.apply()  # before the first basicsr import

from basicsr.models import lr_scheduler  # noqa: E402
from basicsr.models.base_model import BaseModel  # noqa: E402
from basicsr.utils.file_client import FileClient  # noqa: E402
from basicsr.utils.registry import (ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY,  # noqa: E402
                                    MODEL_REGISTRY)

from faig.data.div2k_interpret_dataset import LEGACY_KEYS  # noqa: E402
from faig.training_inputs import check_checkpoints, check_model_options, check_resume, check_training_set  # noqa: E402

# ---- the keys basicsr 1.4.2 and the project's classes read, per section ------------------------------------------
TOP_LEVEL_KEYS = {
    'name', 'model_type', 'scale', 'num_gpu', 'manual_seed', 'datasets', 'path', 'train', 'val', 'logger',
    'dist_params', 'find_unused_parameters',
    'is_train', 'dist', 'rank', 'world_size', 'auto_resume', 'root_path',  # set by train.py; harmless when present
}
SECTION_KEYS = {
    'logger': {'print_freq', 'save_checkpoint_freq', 'use_tb_logger', 'wandb'},
    'logger.wandb': {'project', 'resume_id'},
    'dist_params': {'backend', 'port'},
    'val': {'val_freq', 'save_img', 'metrics', 'pbar', 'suffix'},
}
PATH_KEYS = {'resume_state', 'ignore_resume_networks',  # and what train.py sets (overwritten there)
             'experiments_root', 'models', 'training_states', 'log', 'visualization', 'results_root'}
PATH_KEYS_PER_NETWORK = ('pretrain_network_{}', 'strict_load_{}', 'param_key_{}')  # {} = g for network_g, ...
# a model's train keys add to those of its bases; an undeclared model gets no check of its train keys
MODEL_TRAIN_KEYS = {
    'BaseModel': {'total_iter', 'warmup_iter'},
    'SRModel': {'ema_decay', 'optim_g', 'scheduler', 'pixel_opt', 'perceptual_opt'},
    'FastSRModel': {'autocast_bf16', 'channels_last'},
    'ReTrainModel': {'finetuned_neuron_index_file', 'neuron_ratio', 'finetuned_filters', 'filter_layers',
                     'allow_other_selection', 'allow_other_models'},
}
# keys of every dataset (basicsr's loader); use_shuffle is read by no code of basicsr 1.4.2 but is in its option files
DATASET_LOADER_KEYS = {
    'name', 'type', 'phase', 'scale', 'use_shuffle', 'num_worker_per_gpu', 'batch_size_per_gpu',
    'dataset_enlarge_ratio', 'prefetch_mode', 'pin_memory', 'persistent_workers', 'num_prefetch_queue',
}
DATASET_KEYS = {  # a dataset type not declared here gets no check of its own keys
    'DIV2KInterpretDataset': {'dataroot_gt', 'meta_info_file', 'io_backend', 'gt_size', 'use_flip', 'use_rot',
                              *LEGACY_KEYS, 'degradations', 'downsample_interpolation', 'mean', 'std'},
    'PairedImageDataset': {'dataroot_gt', 'dataroot_lq', 'meta_info_file', 'filename_tmpl', 'io_backend', 'gt_size',
                           'use_hflip', 'use_rot', 'color', 'mean', 'std'},
}
# options read as booleans wherever they appear (and path.strict_load_<net>)
BOOL_KEYS = {'use_flip', 'use_hflip', 'use_rot', 'use_shuffle', 'pin_memory', 'persistent_workers', 'save_img', 'pbar',
             'autocast_bf16', 'channels_last', 'use_tb_logger', 'find_unused_parameters', 'test_y_channel'}
SCHEDULERS = {'MultiStepLR': 'MultiStepRestartLR', 'MultiStepRestartLR': 'MultiStepRestartLR',
              'CosineAnnealingRestartLR': 'CosineAnnealingRestartLR'}
# experiments/<name> that are the project's own (bundled models, the study scripts' records), not a run's
RESERVED_EXPERIMENT_NAMES = ('pretrained', 'README.md', 'retrain_study')
_COMPARE = {'>=': operator.ge, '>': operator.gt, '<': operator.lt}


class _Checker:
    """One option file being checked: every problem is an InputError ``<yml>: <where>: <problem>``. The checks
    leave what later ones read here: ``model`` (check_top_level), ``resume_iter`` (check_resume)."""

    def __init__(self, opt_path, opt, root_path, auto_resume, debug, check_files):
        self.path, self.opt, self.auto_resume, self.check_files = opt_path, opt, auto_resume, check_files
        self.root_path, self.debug = root_path, debug
        self.networks = sorted(key for key in opt if str(key).startswith('network_'))
        name = str(opt.get('name'))
        self.name = f'debug_{name}' if debug and not name.startswith('debug') else name  # train.py --debug
        self.experiment = osp.join(root_path if root_path is not None else '.', 'experiments', self.name)

    def fail(self, message):
        raise InputError(f'{self.path}: {message}')

    def section(self, where, value):
        """A mapping section (``None`` counts as empty)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(f'{where}: expected a mapping of options, got {type(value).__name__}')
        return value

    def registered(self, registry, kind, name, where=''):
        if not isinstance(name, str) or name not in registry:
            self.fail(f'{where}unknown {kind} {name!r}; registered: {", ".join(sorted(n for n, _ in registry))}')
        return registry.get(name)

    def known_keys(self, where, section, known):
        """Refuse a key of ``section`` that is not in ``known``, naming the closest known key."""
        for key in section:
            if key not in known:
                name = f'{where}.{key}' if where else str(key)
                close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
                self.fail(f'unknown option {name!r} ' + (f'(did you mean {close[0]!r}?)' if close else
                                                         f'(known here: {", ".join(sorted(known))})'))

    def arguments(self, where, section, func, skip=(), extra=(), ignore_var_keyword=False):
        """A section with ``type`` whose other keys are the keyword arguments of ``func`` (unless it takes
        ``**kwargs``; ``ignore_var_keyword``: functions whose ``**kwargs`` only swallow extra options)."""
        params = inspect.signature(func).parameters
        named = {n: p for n, p in params.items() if n not in skip and p.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
        if ignore_var_keyword or all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in params.values()):
            self.known_keys(where, section, set(named) | {'type'} | set(extra))
            for key, param in named.items():
                if param.default is inspect.Parameter.empty and key not in section:
                    self.fail(f'{where}: missing option {key!r} (needed by {section.get("type")})')
                if isinstance(param.default, bool) and key in section:
                    self.boolean(f'{where}.{key}', section[key])

    def boolean(self, where, value):
        """true or false (a text such as "no" is truthy in Python: refused, not read as True)."""
        if value is not None and not isinstance(value, bool):
            hint = ' (YAML reads yes/no/on/off unquoted as true/false)' if isinstance(value, str) else ''
            self.fail(f'{where}: must be true or false, got {value!r}{hint}')

    def number(self, where, value, *bounds, integer=False):
        """A number (YAML int or float, not bool) within ``bounds`` such as ``'>= 1'``; integer: a whole number."""
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value and \
            (not integer or float(value).is_integer()) and \
            all(_COMPARE[op](value, float(bound)) for op, bound in map(str.split, bounds))
        if not ok:
            rule = ' '.join(filter(None, ('an integer' if integer else 'a number', ' and '.join(bounds))))
            hint = f' (YAML reads {value} as text; write !!float {value})' if isinstance(value, str) and \
                re.fullmatch(r'[-+]?[\d.]+(e[-+]?\d+)?', value, re.I) else ''
            self.fail(f'{where}: must be {rule}, got {value!r}{hint}')


def experiment_name_problem(name, root_path=None, debug=False):
    """Why ``name`` cannot name a training run, or None. A fresh run renames an existing ``experiments/<name>``
    (and ``tb_logger/<name>``) aside before it writes there: a name with a path separator or ``..`` reaches
    outside experiments/, a reserved one or one of a file or of a folder that is not a run's would move
    the project's or the user's files."""
    if not isinstance(name, str) or not name.strip() or any(sep in name for sep in ('/', '\\', '\0', '\n')) or \
            name.startswith('.') or name != name.strip():
        return ('must be a non-empty name without slashes, a leading dot or surrounding spaces (it names '
                f'experiments/<name>), got {name!r}')
    if debug and not name.startswith('debug'):
        name = f'debug_{name}'
    if name.lower() in {reserved.lower() for reserved in RESERVED_EXPERIMENT_NAMES}:
        return f'{name!r} is reserved (experiments/{name} holds the project\'s own files); choose another name'
    entry = osp.join(root_path if root_path is not None else '.', 'experiments', name)
    if osp.islink(entry) or (osp.lexists(entry) and not osp.isdir(entry)):
        return f'experiments/{name} exists and is not a training run\'s folder; choose another name'
    if osp.isdir(entry) and not any(osp.isdir(osp.join(entry, sub)) for sub in ('models', 'training_states')):
        return (f'experiments/{name} is a folder of other files, not a training run\'s (no models/ or '
                'training_states/); choose another name')
    return None


# ---- the checks -------------------------------------------------------------------------------------------------

def check_top_level(c):
    for key in ('name', 'model_type', 'scale', 'num_gpu', 'network_g', 'datasets', 'path', 'train', 'logger'):
        if key not in c.opt:
            c.fail(f'missing option {key!r}')
    c.model = c.registered(MODEL_REGISTRY, 'model_type', c.opt['model_type'])
    c.known_keys('', c.opt, TOP_LEVEL_KEYS | set(c.networks))
    problem = experiment_name_problem(c.opt['name'], c.root_path, c.debug)
    if problem:
        c.fail(f'name: {problem}')
    _check_booleans(c, '', c.opt)
    c.number('scale', c.opt['scale'], '>= 1', integer=True)
    if c.opt['num_gpu'] != 'auto':
        c.number('num_gpu', c.opt['num_gpu'], '>= 0', integer=True)
        if c.opt['num_gpu'] and c.check_files and not torch.cuda.is_available():
            c.fail(f'num_gpu: {c.opt["num_gpu"]} but no CUDA GPU is available; use auto or 0 for the CPU')
    if c.opt.get('manual_seed') is not None:
        c.number('manual_seed', c.opt['manual_seed'], '>= 0', integer=True)


def _check_booleans(c, where, value):
    """Every boolean option of ``value`` (a section, walked): true or false."""
    if isinstance(value, dict):
        for key, item in value.items():
            name = f'{where}.{key}' if where else str(key)
            if key in BOOL_KEYS or str(key).startswith('strict_load_'):
                c.boolean(name, item)
            _check_booleans(c, name, item)
    elif isinstance(value, list):
        for item in value:
            _check_booleans(c, where, item)


def check_networks(c):
    for net in c.networks:
        section = c.section(net, c.opt[net])
        arch = c.registered(ARCH_REGISTRY, f'{net} type', section.get('type'))
        c.arguments(net, section, arch.__init__, skip=('self', ))
        for key in ('upscale', 'scale'):
            if key in section and section[key] != c.opt['scale']:
                c.fail(f'{net}.{key}: {section[key]!r} differs from scale: {c.opt["scale"]}')
    per_network = {pattern.format(net[len('network_'):]) for net in c.networks for pattern in PATH_KEYS_PER_NETWORK}
    c.known_keys('path', c.section('path', c.opt['path']), PATH_KEYS | per_network)


def check_train(c):
    """The train section: its keys, the iterations, the optimizers, the scheduler and the losses."""
    train_opt = c.section('train', c.opt['train'])
    if c.model.__name__ in MODEL_TRAIN_KEYS:
        c.known_keys('train', train_opt, set().union(*(MODEL_TRAIN_KEYS.get(k.__name__, ()) for k in c.model.__mro__)))
    if 'total_iter' not in train_opt:
        c.fail("train: missing option 'total_iter'")
    c.number('train.total_iter', train_opt['total_iter'], '>= 1', integer=True)
    if train_opt.get('warmup_iter') is not None:
        c.number('train.warmup_iter', train_opt['warmup_iter'], '>= -1', integer=True)
    if train_opt.get('ema_decay') is not None:
        c.number('train.ema_decay', train_opt['ema_decay'], '>= 0', '< 1')
    for key, value in train_opt.items():
        where = f'train.{key}'
        if key.startswith('optim_'):
            section = c.section(where, value)
            kind = section.get('type')
            if getattr(c.model, 'get_optimizer', None) is BaseModel.get_optimizer and kind != 'Adam':
                c.fail(f'{where}.type: basicsr 1.4.2 supports only Adam, got {kind!r}')
            optimizer = getattr(torch.optim, str(kind), None)
            if not (inspect.isclass(optimizer) and issubclass(optimizer, torch.optim.Optimizer)):
                c.fail(f'{where}.type: unknown optimizer {kind!r}')
            c.arguments(where, section, optimizer.__init__, skip=('self', 'params'))
            if 'lr' in section:
                c.number(f'{where}.lr', section['lr'], '> 0')
        elif key == 'scheduler':
            section = c.section(where, value)
            if section.get('type') not in SCHEDULERS:
                c.fail(f'{where}.type: unknown scheduler {section.get("type")!r}; basicsr 1.4.2 has '
                       f'{", ".join(sorted(SCHEDULERS))}')
            c.arguments(where, section, getattr(lr_scheduler, SCHEDULERS[section['type']]).__init__,
                        skip=('self', 'optimizer'))
            periods = section.get('periods')
            if isinstance(periods, list) and all(isinstance(p, numbers.Real) for p in periods) and \
                    sum(periods) < train_opt['total_iter']:  # the cosine schedule would crash at its end
                c.fail(f'{where}.periods: they sum to {sum(periods):g}, less than train.total_iter '
                       f'{train_opt["total_iter"]:g} (the cosine schedule would end before the training)')
        elif key.endswith('_opt') and value is not None:
            section = c.section(where, value)
            loss = c.registered(LOSS_REGISTRY, 'loss', section.get('type'), f'{where}.type: ')
            c.arguments(where, section, loss.__init__, skip=('self', ))


def check_val_and_logger(c):
    if c.opt.get('val') is not None:
        val_opt = c.section('val', c.opt['val'])
        c.known_keys('val', val_opt, SECTION_KEYS['val'])
        if 'val_freq' not in val_opt:
            c.fail("val: missing option 'val_freq'")
        c.number('val.val_freq', val_opt['val_freq'], '> 0')
        for metric, metric_opt in c.section('val.metrics', val_opt.get('metrics')).items():
            where = f'val.metrics.{metric}'
            metric_opt = c.section(where, metric_opt)
            func = c.registered(METRIC_REGISTRY, f'{where} type', metric_opt.get('type'))
            c.arguments(where, metric_opt, func, skip=('img', 'img2'), extra=('better', ), ignore_var_keyword=True)
            if metric_opt.get('better', 'higher') not in ('higher', 'lower'):
                c.fail(f"{where}.better: must be 'higher' or 'lower', got {metric_opt['better']!r}")
    logger_opt = c.section('logger', c.opt['logger'])
    wandb_opt = c.section('logger.wandb', logger_opt.get('wandb'))
    for where, section in (('logger', logger_opt), ('logger.wandb', wandb_opt),
                           ('dist_params', c.section('dist_params', c.opt.get('dist_params')))):
        c.known_keys(where, section, SECTION_KEYS[where])
    if logger_opt.get('use_tb_logger') is None:
        c.fail('logger.use_tb_logger must be set (true needs tensorboard)')
    for key in ('print_freq', 'save_checkpoint_freq'):
        if key not in logger_opt:
            c.fail(f'logger: missing option {key!r}')
        c.number(f'logger.{key}', logger_opt[key], '> 0')
    if c.check_files and logger_opt['use_tb_logger'] and find_spec('tensorboard') is None:
        c.fail('logger.use_tb_logger: true needs tensorboard, which is not installed (set it to false)')
    if wandb_opt.get('project') is not None and 'debug' not in c.name:  # as basicsr's init_tb_loggers
        if not logger_opt['use_tb_logger']:
            c.fail('logger.wandb.project: wandb logging needs logger.use_tb_logger: true')
        if c.check_files and find_spec('wandb') is None:
            c.fail('logger.wandb.project: wandb is not installed (set project to ~)')


def check_datasets(c):
    """Every dataset's keys and the values basicsr's loader would crash on later; the files it names."""
    datasets = c.section('datasets', c.opt['datasets'])
    if 'train' not in datasets:
        c.fail("datasets: missing the 'train' dataset")
    for phase, dataset in datasets.items():
        where = f'datasets.{phase}'
        if phase != 'train' and str(phase).split('_')[0] != 'val':
            c.fail(f"{where}: unknown dataset phase {phase!r}; use 'train', 'val' or 'val_<n>'")
        dataset = c.section(where, dataset)
        dataset_cls = c.registered(DATASET_REGISTRY, f'dataset type ({where})', dataset.get('type'))
        if dataset_cls.__name__ in DATASET_KEYS:
            c.known_keys(where, dataset, DATASET_LOADER_KEYS | DATASET_KEYS[dataset_cls.__name__])
        io_backend = c.section(f'{where}.io_backend', dataset.get('io_backend'))
        if io_backend.get('type') not in FileClient._backends:
            c.fail(f'{where}.io_backend.type: must be one of {", ".join(sorted(FileClient._backends))}, '
                   f'got {io_backend.get("type")!r}')
        if phase == 'train':
            _check_loader_values(c, where, dataset)
        checker = getattr(dataset_cls, 'check_options', None)
        problem = checker({**dataset, 'phase': str(phase).split('_')[0]}) if checker else None
        if problem:
            c.fail(f'{where}.{problem}')
        if c.check_files:
            for key in ('dataroot_gt', 'dataroot_lq', 'meta_info_file'):
                path = dataset.get(key)
                if path and not osp.exists(osp.expanduser(str(path))):
                    c.fail(f'{where}.{key} not found: {path}{sample_data_hint(path)}')
            if dataset.get('prefetch_mode') == 'cuda' and not torch.cuda.is_available():
                c.fail(f'{where}.prefetch_mode: cuda but no CUDA GPU is available; use ~ on the CPU '
                       f'(--force_yml datasets:{phase}:prefetch_mode=~)')


def _check_loader_values(c, where, dataset):
    for key in ('batch_size_per_gpu', 'num_worker_per_gpu'):
        if key not in dataset:
            c.fail(f'{where}: missing option {key!r}')
    c.number(f'{where}.batch_size_per_gpu', dataset['batch_size_per_gpu'], '>= 1', integer=True)
    c.number(f'{where}.num_worker_per_gpu', dataset['num_worker_per_gpu'], '>= 0', integer=True)
    if 'dataset_enlarge_ratio' in dataset:
        c.number(f'{where}.dataset_enlarge_ratio', dataset['dataset_enlarge_ratio'], '>= 1', integer=True)
    if 'gt_size' in dataset:
        c.number(f'{where}.gt_size', dataset['gt_size'], '>= 1', integer=True)
        if dataset['gt_size'] % c.opt['scale']:
            c.fail(f'{where}.gt_size: {dataset["gt_size"]} is not divisible by scale {c.opt["scale"]}')
    prefetch = dataset.get('prefetch_mode')
    if prefetch not in (None, 'cpu', 'cuda'):
        c.fail(f"{where}.prefetch_mode: must be ~, cpu or cuda, got {prefetch!r}")
    if prefetch == 'cuda' and dataset.get('pin_memory') is not True:
        c.fail(f'{where}.prefetch_mode: cuda needs pin_memory: true')


# (check, example of the one line it fails with); the ones after check_datasets also read the files the options name
CHECKS = (
    (check_top_level, "unknown option 'manul_seed' (did you mean 'manual_seed'?)"),
    (check_networks, 'network_g.upscale: 4 differs from scale: 2'),
    (check_train, "train.optim_g.lr: must be a number > 0, got '2e-4' (YAML reads 2e-4 as text; write !!float 2e-4)"),
    (check_val_and_logger, "logger.save_checkpoint_freq: must be a number > 0, got 0"),
    (check_datasets, 'datasets.train.dataroot_gt not found: datasets/SampleTrain/HR_sub; make the sample data ...'),
    (check_model_options, 'train.neuron_ratio: 1e-06 of the 1234 filters selects none (rounded down)'),
    (check_training_set, 'datasets.train.gt_size: 50 is larger than the training image gt/img1.png (height 48, ...)'),
    (check_resume, 'path.resume_state: cannot resume: the training state 4.state is empty (0 bytes)'),
    (check_checkpoints, "path.param_key_g: 'parms_ema' is not in base.pth (its keys: params, params_ema)"),
)
FILE_CHECKS = (check_model_options, check_training_set, check_resume, check_checkpoints)


def check_options(opt_path, auto_resume=False, check_files=True, force_yml=None, root_path=None, debug=False):
    """Raise InputError for an option file that train_pipeline would fail on or misread; return its options.

    check_files: also check the files they name (data, checkpoints, training states, tensorboard; off for a file
    meant for another machine). force_yml: train.py's ``--force_yml`` overrides, applied first. root_path: the root
    that train_pipeline gets (default: the working directory); debug: train.py's ``--debug`` (``debug_<name>``).
    """
    register()
    opt = read_options(opt_path, force_yml)
    c = _Checker(opt_path, opt, root_path, auto_resume, debug, check_files)
    for check, _ in CHECKS:
        if check_files or check not in FILE_CHECKS:
            check(c)
    return opt
