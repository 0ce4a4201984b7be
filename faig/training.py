"""``train.py``: check the YAML options, then run BasicSR's training pipeline.

The check turns the usual crash deep inside basicsr (unknown arch, missing data folder,
missing pretrained model, a typo'd key, a value of the wrong type) into one line naming the
option file and the problem, before any experiment folder is created:

    error: <yml>: unknown option 'train.totl_iter' (did you mean 'total_iter'?)

Known keys are the ones basicsr 1.4.2 reads (utils/options.py, train.py, utils/logger.py,
utils/misc.py, data/__init__.py, models/base_model.py), the ones the model and dataset classes
read (found in their source: ``opt['key']``, ``opt.get('key')``, ``'key' in opt``, and
``train_opt[...]`` / ``self.opt['train'][...]`` / ``self.opt['val'][...]`` in models), and the
constructor arguments of the classes named by ``type`` (network, optimizer, scheduler, losses).
A typo'd key is not just ignored by basicsr: an unknown ``path`` key, for one, becomes a folder
(``make_exp_dirs`` creates every ``path`` entry it does not know).
"""
import contextlib
import difflib
import importlib.util
import inspect
import numbers
import os.path as osp
import re
import tempfile
from types import SimpleNamespace

import yaml

from faig import safe_yaml
from faig.errors import InputError, WriteError, cli, one_line
from faig.paths import sample_data_hint

# keys basicsr itself reads, per section (basicsr 1.4.2)
TOP_LEVEL_KEYS = {
    'name', 'model_type', 'scale', 'num_gpu', 'manual_seed', 'datasets', 'path', 'train', 'val', 'logger',
    'dist_params', 'find_unused_parameters',
    # set by basicsr's parse_options / train_pipeline; harmless when present
    'is_train', 'dist', 'rank', 'world_size', 'auto_resume', 'root_path',
}
TRAIN_KEYS = {'total_iter', 'warmup_iter'}  # basicsr/train.py; the model adds its own
VAL_KEYS = {'val_freq', 'save_img', 'metrics', 'pbar', 'suffix'}
LOGGER_KEYS = {'print_freq', 'save_checkpoint_freq', 'use_tb_logger', 'wandb'}
WANDB_KEYS = {'project', 'resume_id'}
DIST_PARAMS_KEYS = {'backend', 'port'}
PATH_KEYS = {
    'resume_state', 'ignore_resume_networks',
    # computed by parse_options (overwritten there); harmless when present
    'experiments_root', 'models', 'training_states', 'log', 'visualization', 'results_root',
}
PATH_KEYS_PER_NETWORK = ('pretrain_network_{}', 'strict_load_{}', 'param_key_{}')  # {} = g for network_g, ...
# dataset keys read by basicsr's parse_options / train.py / build_dataloader for any dataset type;
# use_shuffle is read by no code of basicsr 1.4.2 but is in all its (and our) option files
DATASET_LOADER_KEYS = {
    'name', 'type', 'phase', 'scale', 'use_shuffle', 'num_worker_per_gpu', 'batch_size_per_gpu',
    'dataset_enlarge_ratio', 'prefetch_mode', 'pin_memory', 'persistent_workers', 'num_prefetch_queue',
}
SCHEDULERS = {'MultiStepLR': 'MultiStepRestartLR', 'MultiStepRestartLR': 'MultiStepRestartLR',
              'CosineAnnealingRestartLR': 'CosineAnnealingRestartLR'}

_KEY = r'''(?:\[\s*|\.get\(\s*)['"](\w+)['"]'''
_OPT_KEY = re.compile(r'(?<![\w.])(?:self\.)?opt' + _KEY)
_IN_OPT = re.compile(r'''['"](\w+)['"]\s+(?:not\s+)?in\s+(?:self\.)?opt\b''')
_TRAIN_KEY = re.compile(r'''(?:(?<![\w.])train_opt|self\.opt\[\s*['"]train['"]\s*\])''' + _KEY)
_VAL_KEY = re.compile(r'''self\.opt\[\s*['"]val['"]\s*\]''' + _KEY)


def _registry_names(registry):
    return sorted(name for name, _ in registry)


def _class_source(cls):
    """Source of ``cls`` and its bases (not torch's or builtins'); None when it is not available."""
    parts = []
    for klass in cls.__mro__:
        module = klass.__module__ or ''
        if module == 'builtins' or module.startswith('torch'):
            continue
        try:
            parts.append(inspect.getsource(klass))
        except (OSError, TypeError):
            return None
    return '\n'.join(parts)


def keys_read(cls):
    """Keys that the source of ``cls`` reads: ``{'top': ..., 'train': ..., 'val': ...}``; None if unknown."""
    source = _class_source(cls)
    if source is None:
        return None
    return {
        'top': set(_OPT_KEY.findall(source)) | set(_IN_OPT.findall(source)),
        'train': set(_TRAIN_KEY.findall(source)),
        'val': set(_VAL_KEY.findall(source)),
    }


def signature_keys(func, skip=(), ignore_var_keyword=False):
    """``(accepted, required)`` keyword names of ``func``; accepted is None when it takes ``**kwargs``
    (unless ``ignore_var_keyword``: for functions whose ``**kwargs`` only swallows extra options)."""
    params = inspect.signature(func).parameters
    if not ignore_var_keyword and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None, set()
    named = {n: p for n, p in params.items()
             if n not in skip and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    required = {n for n, p in named.items() if p.default is inspect.Parameter.empty}
    return set(named), required


class _Checker:
    """Checks of one option file; every problem is an InputError ``<yml>: <where>: <problem>``."""

    def __init__(self, opt_path, opt):
        self.path = opt_path
        self.opt = opt

    def fail(self, message):
        raise InputError(f'{self.path}: {message}')

    def section(self, where, value):
        """A mapping section (``None`` counts as empty)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(f'{where}: expected a mapping of options, got {type(value).__name__}')
        return value

    def known_keys(self, where, section, known):
        """Refuse keys of ``section`` that are not in ``known``; suggest the closest known key."""
        for key in section:
            if key in known:
                continue
            name = f'{where}.{key}' if where else str(key)
            close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            if close:
                self.fail(f'unknown option {name!r} (did you mean {close[0]!r}?)')
            self.fail(f'unknown option {name!r} (known here: {", ".join(sorted(known))})')

    def typed_section(self, where, section, func, skip=(), extra=(), registry_kind=None, ignore_var_keyword=False):
        """A section with ``type`` whose other keys are the keyword arguments of ``func``."""
        accepted, required = signature_keys(func, skip, ignore_var_keyword)
        if accepted is not None:
            self.known_keys(where, section, accepted | {'type'} | set(extra))
        for key in sorted(required):
            if key not in section:
                self.fail(f'{where}: missing option {key!r} (needed by {registry_kind or section.get("type")})')
        for key, param in inspect.signature(func).parameters.items():
            if isinstance(param.default, bool) and key in section:
                self.boolean(f'{where}.{key}', section[key])

    def boolean(self, where, value):
        """true or false (a text such as "no" is truthy in Python: refused, not read as True)."""
        if value is not None and not isinstance(value, bool):
            hint = ' (YAML reads yes/no/on/off unquoted as true/false)' if isinstance(value, str) else ''
            self.fail(f'{where}: must be true or false, got {value!r}{hint}')

    def number(self, where, value, low=None, high=None, integer=False, low_open=False, high_open=False):
        """A number (YAML int or float, not bool) within bounds; integer: a whole number (``!!float 1e4`` ok)."""
        def within(v):
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and v == v
            if ok and integer:
                ok = float(v).is_integer()
            if ok and low is not None:
                ok = v > low if low_open else v >= low
            if ok and high is not None:
                ok = v < high if high_open else v <= high
            return ok
        if not within(value):
            kind = 'an integer' if integer else 'a number'
            bounds = []
            if low is not None:
                bounds.append(f'{">" if low_open else ">="} {low:g}')
            if high is not None:
                bounds.append(f'{"<" if high_open else "<="} {high:g}')
            rule = f'{kind} {" and ".join(bounds)}' if bounds else kind
            hint = ''
            if isinstance(value, str) and _is_float(value):
                if not within(float(value)):  # (BasicSR's --force_yml reads -5 as text): the number is the problem
                    self.fail(f'{where}: must be {rule}, got {value}')
                hint = f' (YAML reads {value} as text; write !!float {value})'
            self.fail(f'{where}: must be {rule}, got {value!r}{hint}')


# options read as booleans wherever they appear (datasets, train, val, logger, path: strict_load_<net>)
BOOL_KEYS = {'use_flip', 'use_hflip', 'use_rot', 'use_shuffle', 'pin_memory', 'persistent_workers', 'save_img', 'pbar',
             'autocast_bf16', 'channels_last', 'use_tb_logger', 'find_unused_parameters', 'test_y_channel'}


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


# experiments/<name> that are the project's own (bundled models, the study scripts' records), not a run's
RESERVED_EXPERIMENT_NAMES = ('pretrained', 'README.md', 'retrain_study')


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


def _is_float(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_options(opt_path, auto_resume=False, check_files=True, force_yml=None, root_path=None, debug=False):
    """Raise InputError for an option file that train_pipeline would fail on or misread.

    check_files: also check that data folders, the pretrained model and tensorboard exist (off for
    checking the keys and values of a file meant for another machine).
    force_yml: train.py's ``--force_yml`` overrides, applied before the check.
    root_path: the root that train_pipeline gets (experiments/ is under it; default: the working
    directory); debug: train.py's ``--debug`` (it renames the experiment to ``debug_<name>``).
    With check_files, also checked before anything is written: the training set (its images exist and
    are readable, at least one batch per epoch, every image large enough for gt_size), the training
    state a resumed run would start from, and every checkpoint the run would load (pretrain_network_*
    or the resumed net_*_<iter>.pth: loadable, param_key present, fitting its network).
    Returns the options as checked.
    """
    import faig
    faig.register()
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

    opt = read_options(opt_path, force_yml)
    c = _Checker(opt_path, opt)
    for key in ('name', 'model_type', 'scale', 'num_gpu', 'network_g', 'datasets', 'path', 'train', 'logger'):
        if key not in opt:
            c.fail(f'missing option {key!r}')

    def known(registry, kind, name):
        if not isinstance(name, str) or name not in registry:
            c.fail(f'unknown {kind} {name!r}; registered: {", ".join(_registry_names(registry))}')
        return registry.get(name)

    model_cls = known(MODEL_REGISTRY, 'model_type', opt['model_type'])
    model_keys = keys_read(model_cls)
    networks = sorted(key for key in opt if str(key).startswith('network_'))

    # top level
    top_known = TOP_LEVEL_KEYS | set(networks) | (model_keys['top'] if model_keys else set())
    if model_keys is not None:
        c.known_keys('', opt, top_known)
    problem = experiment_name_problem(opt['name'], root_path, debug)
    if problem:
        c.fail(f'name: {problem}')
    name = opt['name']
    _check_booleans(c, '', opt)
    c.number('scale', opt['scale'], low=1, integer=True)
    scale = int(opt['scale'])
    num_gpu = opt['num_gpu']
    if num_gpu != 'auto':
        c.number('num_gpu', num_gpu, low=0, integer=True)
        if num_gpu and check_files:
            import torch
            if not torch.cuda.is_available():
                c.fail(f'num_gpu: {num_gpu} but no CUDA GPU is available; use auto or 0 for the CPU')
    if opt.get('manual_seed') is not None:
        c.number('manual_seed', opt['manual_seed'], low=0, integer=True)

    # networks
    for net in networks:
        section = c.section(net, opt[net])
        arch = known(ARCH_REGISTRY, f'{net} type', section.get('type'))
        c.typed_section(net, section, arch.__init__, skip=('self', ), registry_kind=section['type'])
        for key in ('upscale', 'scale'):
            if key in section and section[key] != scale:
                c.fail(f'{net}.{key}: {section[key]!r} differs from scale: {scale}')

    # path
    path_opt = c.section('path', opt['path'])
    per_network = {pattern.format(net[len('network_'):]) for net in networks for pattern in PATH_KEYS_PER_NETWORK}
    c.known_keys('path', path_opt, PATH_KEYS | per_network)

    # train
    train_opt = c.section('train', opt['train'])
    if model_keys is not None:
        c.known_keys('train', train_opt, TRAIN_KEYS | model_keys['train'])
    if 'total_iter' not in train_opt:
        c.fail("train: missing option 'total_iter'")
    c.number('train.total_iter', train_opt['total_iter'], low=1, integer=True)
    if train_opt.get('warmup_iter') is not None:
        c.number('train.warmup_iter', train_opt['warmup_iter'], low=-1, integer=True)
    if train_opt.get('ema_decay') is not None:
        c.number('train.ema_decay', train_opt['ema_decay'], low=0, high=1, high_open=True)
    _check_train_sections(c, train_opt, model_cls, LOSS_REGISTRY)

    # val
    if opt.get('val') is not None:
        val_opt = c.section('val', opt['val'])
        c.known_keys('val', val_opt, VAL_KEYS | (model_keys['val'] if model_keys else set()))
        if 'val_freq' not in val_opt:
            c.fail("val: missing option 'val_freq'")
        c.number('val.val_freq', val_opt['val_freq'], low=0, low_open=True)
        for metric, metric_opt in c.section('val.metrics', val_opt.get('metrics')).items():
            where = f'val.metrics.{metric}'
            metric_opt = c.section(where, metric_opt)
            func = known(METRIC_REGISTRY, f'{where} type', metric_opt.get('type'))
            # basicsr's metric functions end in **kwargs that only swallow unused options
            c.typed_section(where, metric_opt, func, skip=('img', 'img2'), extra=('better', ), ignore_var_keyword=True)
            if metric_opt.get('better', 'higher') not in ('higher', 'lower'):
                c.fail(f"{where}.better: must be 'higher' or 'lower', got {metric_opt['better']!r}")

    # logger
    logger_opt = c.section('logger', opt['logger'])
    c.known_keys('logger', logger_opt, LOGGER_KEYS)
    wandb_opt = c.section('logger.wandb', logger_opt.get('wandb'))
    c.known_keys('logger.wandb', wandb_opt, WANDB_KEYS)
    if logger_opt.get('use_tb_logger') is None:
        c.fail('logger.use_tb_logger must be set (true needs tensorboard)')
    if not isinstance(logger_opt['use_tb_logger'], bool):
        c.fail(f'logger.use_tb_logger: must be true or false, got {logger_opt["use_tb_logger"]!r}')
    for key in ('print_freq', 'save_checkpoint_freq'):
        if key not in logger_opt:
            c.fail(f'logger: missing option {key!r}')
        c.number(f'logger.{key}', logger_opt[key], low=0, low_open=True)
    if check_files and logger_opt['use_tb_logger'] and importlib.util.find_spec('tensorboard') is None:
        c.fail('logger.use_tb_logger: true needs tensorboard, which is not installed (set it to false)')
    if wandb_opt.get('project') is not None and 'debug' not in str(name):  # as basicsr's init_tb_loggers
        if not logger_opt['use_tb_logger']:
            c.fail('logger.wandb.project: wandb logging needs logger.use_tb_logger: true')
        if check_files and importlib.util.find_spec('wandb') is None:
            c.fail('logger.wandb.project: wandb is not installed (set project to ~)')
    c.known_keys('dist_params', c.section('dist_params', opt.get('dist_params')), DIST_PARAMS_KEYS)

    # datasets
    datasets = c.section('datasets', opt['datasets'])
    if 'train' not in datasets:
        c.fail("datasets: missing the 'train' dataset")
    for phase, dataset in datasets.items():
        where = f'datasets.{phase}'
        if phase != 'train' and str(phase).split('_')[0] != 'val':
            c.fail(f"{where}: unknown dataset phase {phase!r}; use 'train', 'val' or 'val_<n>'")
        dataset = c.section(where, dataset)
        dataset_cls = known(DATASET_REGISTRY, f'dataset type ({where})', dataset.get('type'))
        dataset_keys = keys_read(dataset_cls)
        if dataset_keys is not None:
            c.known_keys(where, dataset, DATASET_LOADER_KEYS | dataset_keys['top'])
        _check_dataset_values(c, where, phase, dataset, scale)
        checker = getattr(dataset_cls, 'check_options', None)
        if checker is not None:
            problem = checker({**dataset, 'phase': str(phase).split('_')[0]})
            if problem:
                c.fail(f'{where}.{problem}')
        if check_files:
            for key in ('dataroot_gt', 'dataroot_lq', 'meta_info_file'):
                path = dataset.get(key)
                if path and not osp.exists(osp.expanduser(str(path))):
                    c.fail(f'{where}.{key} not found: {path}{sample_data_hint(path)}')
            if dataset.get('prefetch_mode') == 'cuda':
                import torch
                if not torch.cuda.is_available():  # basicsr's CUDAPrefetcher would crash after making the run
                    c.fail(f'{where}.prefetch_mode: cuda but no CUDA GPU is available; use ~ on the CPU '
                           f'(--force_yml datasets:{phase}:prefetch_mode=~)')

    model_checker = getattr(model_cls, 'check_options', None)  # e.g. ReTrainModel: its filter selection
    if check_files and model_checker is not None:
        problem = model_checker(opt)
        if problem:
            c.fail(problem)
    if check_files:
        train_cls = DATASET_REGISTRY.get(datasets['train']['type'])
        _check_training_data(c, c.section('datasets.train', datasets['train']), train_cls, scale)
        resume_iter, resume_where, models_folder = _check_resume_state(c, auto_resume, root_path, debug)
        resume_checker = getattr(model_cls, 'check_resume', None)  # e.g. ReTrainModel: the same selection
        if resume_iter is not None and resume_checker is not None:
            problem = resume_checker(opt, osp.dirname(models_folder))
            if problem:
                c.fail(problem)
        _check_checkpoints(c, networks, model_cls, resume_iter, resume_where, models_folder)
    return opt


def _check_train_sections(c, train_opt, model_cls, loss_registry):
    """Optimizers, the scheduler and the losses of ``train``: known types and their arguments."""
    import torch

    from basicsr.models import lr_scheduler
    from basicsr.models.base_model import BaseModel

    for key, value in train_opt.items():
        where = f'train.{key}'
        if key.startswith('optim_'):
            section = c.section(where, value)
            kind = section.get('type')
            if getattr(model_cls, 'get_optimizer', None) is BaseModel.get_optimizer and kind != 'Adam':
                c.fail(f'{where}.type: basicsr 1.4.2 supports only Adam, got {kind!r}')
            optimizer = getattr(torch.optim, str(kind), None)
            if not (inspect.isclass(optimizer) and issubclass(optimizer, torch.optim.Optimizer)):
                c.fail(f'{where}.type: unknown optimizer {kind!r}')
            c.typed_section(where, section, optimizer.__init__, skip=('self', 'params'), registry_kind=kind)
            if 'lr' in section:
                c.number(f'{where}.lr', section['lr'], low=0, low_open=True)
        elif key == 'scheduler':
            section = c.section(where, value)
            kind = section.get('type')
            if kind not in SCHEDULERS:
                c.fail(f'{where}.type: unknown scheduler {kind!r}; basicsr 1.4.2 has {", ".join(sorted(SCHEDULERS))}')
            scheduler = getattr(lr_scheduler, SCHEDULERS[kind])
            c.typed_section(where, section, scheduler.__init__, skip=('self', 'optimizer'), registry_kind=kind)
            _check_scheduler_lists(c, where, kind, section, train_opt.get('total_iter'))
        elif key.endswith('_opt') and value is not None:
            section = c.section(where, value)
            if section.get('type') not in loss_registry:
                c.fail(f'{where}.type: unknown loss {section.get("type")!r}; registered: '
                       f'{", ".join(_registry_names(loss_registry))}')
            c.typed_section(where, section, loss_registry.get(section['type']).__init__, skip=('self', ),
                            registry_kind=section['type'])


def _check_scheduler_lists(c, where, kind, section, total_iter):
    """basicsr asserts equal list lengths; a cosine schedule shorter than total_iter crashes at its end."""
    pair = ('periods', 'restart_weights') if kind == 'CosineAnnealingRestartLR' else ('restarts', 'restart_weights')
    lists = {key: section.get(key, [0] if key == 'restarts' else [1]) for key in pair}
    for key, values in lists.items():
        if not isinstance(values, list) or not values:
            c.fail(f'{where}.{key}: must be a non-empty list, got {values!r}')
        for value in values:
            c.number(f'{where}.{key}', value, low=0)
    if len(lists[pair[0]]) != len(lists[pair[1]]):
        c.fail(f'{where}: {pair[0]} and {pair[1]} must have the same length '
               f'({len(lists[pair[0]])} vs {len(lists[pair[1]])})')
    if kind == 'CosineAnnealingRestartLR' and isinstance(total_iter, numbers.Real) and \
            sum(lists['periods']) < total_iter:
        c.fail(f'{where}.periods: they sum to {sum(lists["periods"]):g}, less than train.total_iter {total_iter:g} '
               '(the cosine schedule would end before the training)')


def _check_dataset_values(c, where, phase, dataset, scale):
    """Values basicsr's loader would crash on later."""
    io_backend = c.section(f'{where}.io_backend', dataset.get('io_backend'))
    from basicsr.utils.file_client import FileClient
    if io_backend.get('type') not in FileClient._backends:
        c.fail(f'{where}.io_backend.type: must be one of {", ".join(sorted(FileClient._backends))}, '
               f'got {io_backend.get("type")!r}')
    if phase == 'train':
        for key in ('batch_size_per_gpu', 'num_worker_per_gpu'):
            if key not in dataset:
                c.fail(f'{where}: missing option {key!r}')
        c.number(f'{where}.batch_size_per_gpu', dataset['batch_size_per_gpu'], low=1, integer=True)
        c.number(f'{where}.num_worker_per_gpu', dataset['num_worker_per_gpu'], low=0, integer=True)
        if dataset.get('dataset_enlarge_ratio') is not None:
            c.number(f'{where}.dataset_enlarge_ratio', dataset['dataset_enlarge_ratio'], low=1, integer=True)
        if 'gt_size' in dataset:
            c.number(f'{where}.gt_size', dataset['gt_size'], low=1, integer=True)
            if dataset['gt_size'] % scale:
                c.fail(f'{where}.gt_size: {dataset["gt_size"]} is not divisible by scale {scale}')
        prefetch = dataset.get('prefetch_mode')
        if prefetch not in (None, 'cpu', 'cuda'):
            c.fail(f"{where}.prefetch_mode: must be ~, cpu or cuda, got {prefetch!r}")
        if prefetch == 'cuda' and dataset.get('pin_memory') is not True:
            c.fail(f'{where}.prefetch_mode: cuda needs pin_memory: true')


# ---- the training set, the resumed state and the checkpoints (check_files) ------------------------------

_ON_DISK = object()  # _training_images: the size is read from the file's header


def _image_size(path):
    """``(height, width)`` of an image file from its header (PIL; OpenCV decodes what PIL cannot);
    a missing, empty or unreadable file is a problem string instead."""
    if not osp.isfile(path):
        return 'file not found'
    if osp.getsize(path) == 0:
        return 'empty file (0 bytes)'
    try:
        from PIL import Image
        with Image.open(path) as img:
            width, height = img.size
        return height, width
    except Exception:  # noqa: BLE001 - PIL cannot parse it: let OpenCV try, as basicsr would read it
        pass
    import cv2
    import numpy as np

    from faig.data.image_io import _quiet_stderr
    try:
        with _quiet_stderr():  # OpenCV and libpng warn on stderr about broken files
            img = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except (cv2.error, OSError):
        img = None
    return 'not a readable image' if img is None else img.shape[:2]


def _lmdb_sizes(folder):
    """``{key: (height, width)}`` from the meta_info.txt of an lmdb made by basicsr (key: name without
    extension, as basicsr's paths_from_lmdb); entries whose shape cannot be parsed are left out."""
    sizes = {}
    meta = osp.join(folder, 'meta_info.txt')
    if osp.isfile(meta):
        with open(meta) as f:
            for line in f:
                match = re.match(r'^(\S+)\s+\((\d+),\s*(\d+)', line.strip())
                if match:
                    sizes[match.group(1).split('.')[0]] = (int(match.group(2)), int(match.group(3)))
    return sizes


def _lmdb_checked_sizes(c, where, folder, keys):
    """``{key: (height, width)}`` of the lmdb at ``folder`` for ``keys`` (the ones its meta_info.txt lists),
    each read from the image header of its stored value: a key missing from the database, a value that is
    not an image, or a size other than meta_info.txt says is refused here (basicsr would crash mid-training)."""
    import io

    import lmdb as lmdb_module
    from PIL import Image
    listed = _lmdb_sizes(folder)
    sizes = {}
    try:
        env = lmdb_module.open(folder, readonly=True, lock=False, readahead=False, meminit=False)
    except lmdb_module.Error as exc:
        c.fail(f'{where}: {folder}: not a readable lmdb ({one_line(exc)})')
    with env, env.begin(write=False) as txn:
        for key in keys:
            value = txn.get(str(key).encode())
            if value is None:
                c.fail(f'{where}: {folder}: meta_info.txt lists {key!r}, which the lmdb does not hold')
            try:
                with Image.open(io.BytesIO(value)) as img:
                    width, height = img.size
            except Exception:  # noqa: BLE001 - whatever PIL says, the value is no image
                c.fail(f'{where}: {folder}: the value of key {key!r} is not an image')
            if listed.get(key) is not None and tuple(listed[key]) != (height, width):
                c.fail(f'{where}: {folder}: meta_info.txt gives {key!r} height {listed[key][0]}, width '
                       f'{listed[key][1]}, but the stored image is height {height}, width {width}')
            sizes[key] = (height, width)
    return sizes


def _training_images(c, where, dataset, dataset_cls):
    """The training images as ``[{'gt': (name, size), 'lq': (name, size)}]`` (no 'lq' for a GT-only set;
    size: ``(height, width)`` from an lmdb's meta_info.txt, None when unknown, _ON_DISK for a file whose
    header is to be read), for the dataset types whose file lists are known: DIV2KInterpretDataset and
    basicsr's PairedImageDataset. None for other types."""
    from basicsr.data.paired_image_dataset import PairedImageDataset

    from faig.data.div2k_interpret_dataset import DIV2KInterpretDataset
    io_backend = dict(dataset.get('io_backend') or {})
    lmdb = io_backend.get('type') == 'lmdb'
    if dataset_cls is DIV2KInterpretDataset:
        gt_folder = osp.expanduser(str(dataset.get('dataroot_gt')))
        finder = SimpleNamespace(opt=dataset, gt_folder=gt_folder, io_backend_opt=io_backend)
        try:
            paths = DIV2KInterpretDataset._find_paths(finder)  # the list the dataset reads
        except InputError as exc:
            c.fail(f'{where}: {one_line(exc)}')
        if lmdb:
            sizes = _lmdb_checked_sizes(c, where, gt_folder, paths)
            return [{'gt': (f'{gt_folder} (lmdb key {key})', sizes.get(key))} for key in paths]
        return [{'gt': (path, _ON_DISK)} for path in paths]
    if dataset_cls is PairedImageDataset:
        from basicsr.data.data_util import (paired_paths_from_folder, paired_paths_from_lmdb,
                                            paired_paths_from_meta_info_file)
        for key in ('dataroot_gt', 'dataroot_lq'):
            if not dataset.get(key):
                c.fail(f'{where}: missing option {key!r} (needed by PairedImageDataset)')
        folders = [osp.expanduser(str(dataset['dataroot_lq'])), osp.expanduser(str(dataset['dataroot_gt']))]
        template = dataset.get('filename_tmpl', '{}')
        try:
            if lmdb:
                pairs = paired_paths_from_lmdb(folders, ['lq', 'gt'])
            elif dataset.get('meta_info_file') is not None:
                pairs = paired_paths_from_meta_info_file(folders, ['lq', 'gt'], dataset['meta_info_file'], template)
            else:
                pairs = paired_paths_from_folder(folders, ['lq', 'gt'], template)
        except (AssertionError, ValueError, OSError) as exc:
            c.fail(f'{where}: {one_line(exc)}')
        if lmdb:
            lq_sizes = _lmdb_checked_sizes(c, where, folders[0], [p['lq_path'] for p in pairs])
            gt_sizes = _lmdb_checked_sizes(c, where, folders[1], [p['gt_path'] for p in pairs])
            return [{'gt': (f'{folders[1]} (lmdb key {p["gt_path"]})', gt_sizes.get(p['gt_path'])),
                     'lq': (f'{folders[0]} (lmdb key {p["lq_path"]})', lq_sizes.get(p['lq_path']))} for p in pairs]
        return [{'gt': (p['gt_path'], _ON_DISK), 'lq': (p['lq_path'], _ON_DISK)} for p in pairs]
    return None


def _check_training_data(c, dataset, dataset_cls, scale):
    """What basicsr only finds out after making the experiment folder: a training set too small for
    one batch (its sampler drops the last incomplete batch, so the run ends after 0 iterations and
    saves untrained weights), unreadable images, and images smaller than gt_size (a crash in the first
    batch). For the dataset types whose file lists are known (see _training_images)."""
    where = 'datasets.train'
    images = _training_images(c, where, dataset, dataset_cls)
    if images is None:
        return
    ratio = dataset.get('dataset_enlarge_ratio', 1)
    if ratio is None:
        c.fail(f'{where}.dataset_enlarge_ratio: must be an integer >= 1, got None (leave it out for 1)')
    ratio, batch = int(ratio), int(dataset['batch_size_per_gpu'])
    samples = len(images) * ratio
    if samples // batch == 0:
        c.fail(f'{where}.batch_size_per_gpu: {batch} is larger than the training set: {len(images)} image(s) x '
               f'dataset_enlarge_ratio {ratio} = {samples} sample(s) per epoch, so 0 iterations per epoch '
               '(BasicSR drops the incomplete last batch)')
    gt_size = dataset.get('gt_size')
    from faig.data.div2k_interpret_dataset import DIV2KInterpretDataset
    divisible = dataset_cls is DIV2KInterpretDataset  # it makes the LQ by w // scale, h // scale
    for image in images:
        sizes = {}
        for role in ('gt', 'lq'):
            if role not in image:
                continue
            name, size = image[role]
            size = _image_size(name) if size is _ON_DISK else size
            if isinstance(size, str):
                c.fail(f'{where}: {name}: {size}')
            sizes[role] = size
        gt_name, gt = image['gt'][0], sizes.get('gt')
        if gt is None:
            continue
        if 'lq' in image and sizes.get('lq') is not None:
            lq_name, lq = image['lq'][0], sizes['lq']
            if (lq[0] * scale, lq[1] * scale) != tuple(gt):
                c.fail(f'{where}: {lq_name}: height {lq[0]}, width {lq[1]} times scale {scale} does not match '
                       f'its GT {gt_name} (height {gt[0]}, width {gt[1]})')
        elif divisible and (gt[0] % scale or gt[1] % scale):
            c.fail(f'{where}: {gt_name}: height {gt[0]}, width {gt[1]} is not a multiple of scale {scale} '
                   '(the degraded LQ would not match its GT times the scale)')
        if isinstance(gt_size, numbers.Real) and (gt[0] < gt_size or gt[1] < gt_size):
            c.fail(f'{where}.gt_size: {gt_size:g} is larger than the training image {gt_name} '
                   f'(height {gt[0]}, width {gt[1]}); use a smaller gt_size or larger images')


def _check_resume_state(c, auto_resume, root_path, debug):
    """``(iter, where, models folder)`` of the training state the run resumes from (iter None: no resume),
    as faig.compat.load_resume_state will choose it (reads only; it sets broken states aside later).
    A ``path.resume_state`` that cannot be resumed from is refused."""
    from faig import compat
    opt = c.opt
    name = str(opt['name'])
    if debug and not name.startswith('debug'):
        name = f'debug_{name}'
    experiment = osp.join(root_path if root_path is not None else '.', 'experiments', name)
    models_folder = osp.join(experiment, 'models')
    networks = compat.resumed_networks(opt)
    state = None
    if auto_resume:
        _, state, _ = compat.find_resume_state(osp.join(experiment, 'training_states'), models_folder, networks)
        if state is not None:
            return state['iter'], '--auto_resume', models_folder
    explicit = opt['path'].get('resume_state')
    if explicit:
        problem, state = compat.state_problem(osp.expanduser(str(explicit)), models_folder, networks)
        if problem:
            c.fail(f'path.resume_state: cannot resume: {problem}')
        return state['iter'], 'path.resume_state', models_folder
    return None, None, models_folder


def _read_checkpoint(c, where, path):
    """The dict a checkpoint file holds (``torch.load(..., weights_only=True)`` on the CPU)."""
    import torch
    if osp.getsize(path) == 0:
        c.fail(f'{where}: {path}: empty file (0 bytes), not a checkpoint')
    try:
        loaded = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling error is a bad file for the user
        c.fail(f'{where}: {path}: not a loadable checkpoint ({type(exc).__name__}: {one_line(exc)})')
    if not isinstance(loaded, dict):
        c.fail(f'{where}: {path}: not a checkpoint (a dict of parameters), got a {type(loaded).__name__}')
    return loaded


def _keys_text(mapping, limit=8):
    keys = [str(key) for key in mapping]
    return ', '.join(keys[:limit]) + (f', ... ({len(keys)} keys)' if len(keys) > limit else '') or 'none'


def _first_mismatch(expected, params, strict):
    """The first difference that makes basicsr's load_network fail or load nothing, as text; None if it fits.

    strict: the same keys and shapes (load_state_dict(strict=True)); otherwise the common keys must have
    the same shapes (basicsr would silently skip them) and there must be some.
    """
    for key, shape in expected.items():
        if key not in params:
            if strict:
                return f'missing {key} (the checkpoint has {_keys_text(params, 3)})'
        elif tuple(params[key].shape) != tuple(shape):
            return (f'size mismatch for {key}: {list(params[key].shape)} in the checkpoint, '
                    f'{list(shape)} in the network')
    if strict:
        extra = [key for key in params if key not in expected]
        if extra:
            return f'unexpected {extra[0]} (not a parameter of the network)'
    elif not set(expected) & set(params):
        return f'no parameter in common (the checkpoint has {_keys_text(params, 3)})'
    return None


def _check_checkpoints(c, networks, model_cls, resume_iter, resume_where, models_folder):
    """Every checkpoint the run will load: loadable, with its param key, and fitting its network.

    A resumed run loads ``<models>/net_<name>_<iter>.pth`` (basicsr's check_resume; ``params_ema``
    becomes ``params``) for the networks not in ``path.ignore_resume_networks``; the others load
    ``path.pretrain_network_<name>``. The key is ``path.param_key_<name>`` (default ``params``; ``~``: the
    file's root dict). basicsr falls back to ``params`` when the key is missing; here a key that is not
    in the file is refused (naming the keys it has). SRModel with ``train.ema_decay > 0`` also loads
    ``params_ema`` (or ``params``) into the EMA copy of network_g.
    """
    from basicsr.models.sr_model import SRModel
    from basicsr.utils.registry import ARCH_REGISTRY

    from faig.networks import arch_summary, check_finite
    opt, path_opt = c.opt, c.opt['path']
    ignored = path_opt.get('ignore_resume_networks') or []
    ema = inspect.isclass(model_cls) and issubclass(model_cls, SRModel) and \
        isinstance(opt['train'].get('ema_decay'), numbers.Real) and opt['train']['ema_decay'] > 0
    for net in networks:
        base = net[len('network_'):]
        key_option = f'param_key_{base}'
        key = path_opt.get(key_option, 'params')
        if resume_iter is not None and key == 'params_ema':  # check_resume sets every param_key_* so
            key = 'params'
        if resume_iter is not None and net not in ignored:
            ckpt, where = osp.join(models_folder, f'net_{base}_{resume_iter}.pth'), resume_where
        else:
            ckpt = path_opt.get(f'pretrain_{net}')
            if ckpt is None:
                continue
            ckpt, where = osp.expanduser(str(ckpt)), f'path.pretrain_{net}'
            if not osp.isfile(ckpt):
                c.fail(f'{where} not found: {ckpt}')
        loaded = _read_checkpoint(c, where, ckpt)
        if key is None:
            params = loaded
        elif key in loaded:
            params = loaded[key]
        elif key_option in path_opt:
            c.fail(f'path.{key_option}: {key!r} is not in {ckpt} (its keys: {_keys_text(loaded)})')
        else:
            plain = loaded and all(hasattr(value, 'shape') for value in loaded.values())
            hint = f' (a plain state dict: set path.{key_option}: ~)' if plain else f'; set path.{key_option}'
            c.fail(f'{where}: {ckpt} has no {key!r} (the default of path.{key_option}); '
                   f'its keys: {_keys_text(loaded)}{hint}')
        to_fit = [(key if key is not None else 'the file', params)]
        if ema and base == 'g':  # SRModel.init_training_settings loads the EMA copy with 'params_ema'
            ema_key = next((k for k in ('params_ema', 'params') if k in loaded), None)
            if ema_key is None:
                c.fail(f'{where}: {ckpt} has neither params_ema nor params, which the EMA copy of network_g loads '
                       f'(train.ema_decay > 0); its keys: {_keys_text(loaded)}')
            if ema_key != key:
                to_fit.append((ema_key, loaded[ema_key]))
        arch_opt = dict(opt[net])
        arch = arch_opt.pop('type')
        try:
            expected = {k: v.shape for k, v in ARCH_REGISTRY.get(arch)(**arch_opt).state_dict().items()}
        except Exception as exc:  # noqa: BLE001 - the arch's own check of its arguments
            c.fail(f'{net}: cannot build {arch} {arch_summary(opt[net])} ({type(exc).__name__}: {one_line(exc)})')
        strict = path_opt.get(f'strict_load_{base}', True)
        for name, params in to_fit:
            if not isinstance(params, dict) or not all(hasattr(v, 'shape') for v in params.values()):
                c.fail(f'{where}: {ckpt}: {name} is not a dict of tensors')
            params = {k[len('module.'):] if str(k).startswith('module.') else k: v for k, v in params.items()}
            try:
                check_finite(params, ckpt)
            except InputError as exc:
                c.fail(f'{where}: {exc}')
            mismatch = _first_mismatch(expected, params, strict)
            if mismatch:
                c.fail(f'{where}: {ckpt} ({name}) does not fit {net} {arch} {arch_summary(opt[net])}: {mismatch}')


def read_options(opt_path, force_yml=None):
    """The options of the YAML file ``opt_path`` with ``--force_yml`` applied, read as data (faig.safe_yaml)."""
    if not osp.isfile(opt_path):
        raise InputError(f'{opt_path}: option file not found')
    opt = safe_yaml.load_file(opt_path)
    if not isinstance(opt, dict):
        raise InputError(f'{opt_path}: expected a mapping of options')
    return apply_force_yml(opt_path, opt, force_yml)


def apply_force_yml(opt_path, opt, entries):
    """Apply ``--force_yml a:b=value`` overrides to ``opt``. The value is read as YAML reads it (``no`` is false,
    ``[1, 2]`` a list, ``'[v2] a.pth'`` a text), never evaluated: basicsr's own parser ``eval()``s a value
    starting with ``[``, and train.py does not use it. A malformed entry, a value that is not YAML or a
    missing parent section is an InputError."""
    for entry in entries or ():
        keys, sep, text = (part.strip() for part in entry.partition('='))
        if not sep or not keys:
            raise InputError(f'--force_yml: expected section:key=value, got {entry!r}')
        if not text:
            raise InputError(f'--force_yml: {entry!r}: no value (write ~ for none)')
        try:
            value = safe_yaml.parse_value(text, f'--force_yml: {entry!r}')
        except InputError as exc:
            raise InputError(f'{exc}; quote a text value: {keys}="..."') from None
        set_option(opt, keys, value, f'--force_yml: {entry!r}: ', opt_path)
    return opt


def set_option(opt, keys, value, where, opt_path):
    """``opt[a][b] = value`` for ``keys`` ``a:b`` (the parent sections must exist); ``where`` starts the error."""
    *parents, last = keys.split(':')
    section = opt
    for depth, key in enumerate(parents):
        if not isinstance(section, dict) or key not in section:
            raise InputError(f'{where}{opt_path} has no section {":".join(parents[:depth + 1])!r}')
        section = section[key]
    if not isinstance(section, dict) or not last:
        raise InputError(f'{where}{":".join(parents) or "the top level"} is not a section')
    section[last] = value


@contextlib.contextmanager
def options_file(config, settings):
    """A copy of the option file ``config`` with ``settings`` ({'section:key': value}) set, in a temporary folder
    (removed afterwards; train.py copies the file into the experiment folder): how the project's scripts give
    train.py paths and other values as data, not as --force_yml text that would be parsed again."""
    opt = read_options(config)
    for keys, value in settings.items():
        set_option(opt, keys, value, f'{keys}: ', config)
    with tempfile.TemporaryDirectory(prefix='faig-options-') as folder:
        path = osp.join(folder, osp.basename(config))
        with open(path, 'w', encoding='utf-8') as f:
            yaml.safe_dump(opt, f, sort_keys=False, allow_unicode=True)
        yield path


def parse_train_args(argv=None):
    """basicsr's train command line (utils/options.py::parse_options), with one-line errors."""
    from faig.errors import Parser
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
    (read_options) instead of through basicsr's parser, which ``eval()``s override values."""
    import random

    import torch
    from basicsr.utils import set_random_seed
    from basicsr.utils.dist_util import get_dist_info, init_dist
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
    import io

    import torch

    from faig.data.image_io import write_bytes
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
    from faig.outputs import FolderLock
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
    from basicsr import train as basicsr_train
    from basicsr.models.base_model import BaseModel
    basicsr_train.parse_options = lambda root, is_train=True: parse_options(root, args)
    BaseModel.save_network, BaseModel.save_training_state = save_network, save_training_state
    try:
        basicsr_train.train_pipeline(root_path)
    except OSError as exc:
        where = exc.filename or osp.join(root_path, 'experiments')
        raise WriteError(f'{where}: {exc.strerror or one_line(exc)}; training stopped') from None


@cli
def train(root_path):
    """Entry point of ``train.py``: same command line as BasicSR (-opt, --auto_resume, ...)."""
    args = parse_train_args()
    if args.launcher != 'none':
        import torch
        if not torch.cuda.is_available():
            raise InputError(f'--launcher: {args.launcher} needs CUDA GPUs (basicsr 1.4.2 has no distributed '
                             'training on the CPU); leave it out')
    opt = check_options(args.opt, args.auto_resume, force_yml=args.force_yml, root_path=root_path, debug=args.debug)
    name = opt['name'] if args.debug is False or opt['name'].startswith('debug') else f'debug_{opt["name"]}'
    from faig.files import require_output_folder
    require_output_folder(osp.join(root_path, 'experiments', name), 'the experiment folder')
    with experiment_lock(root_path, name):
        run_pipeline(root_path, args)
