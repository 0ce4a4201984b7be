"""The files a training option file names, checked before train_pipeline makes any folder: the training set, the
state a resumed run starts from and every checkpoint it loads (faig.training.CHECKS runs them). Each check takes the
faig.training checker of the option file and fails with one line ``<yml>: <where>: <problem>``."""
import io
import numbers
import os.path as osp
import re
from types import SimpleNamespace

import cv2
import lmdb
import numpy as np
import torch
from PIL import Image

from faig import compat
from faig.errors import InputError, one_line
from faig.networks import arch_summary, load_params, strip_wrapper_prefix

compat.apply()  # before the first basicsr import

from basicsr.data.paired_image_dataset import PairedImageDataset  # noqa: E402
from basicsr.models.sr_model import SRModel  # noqa: E402
from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY  # noqa: E402

from faig.data.div2k_interpret_dataset import DIV2KInterpretDataset  # noqa: E402
from faig.data.image_io import _quiet_stderr  # noqa: E402


def check_model_options(c):
    """The model class's own check (e.g. ReTrainModel: its filter selection)."""
    checker = getattr(c.model, 'check_options', None)
    problem = checker(c.opt) if checker else None
    if problem:
        c.fail(problem)


# ---- the training set: what basicsr finds out only after making the experiment folder ---------------------------

def check_training_set(c):
    """A set too small for one batch (the sampler drops the last incomplete batch: 0 iterations, untrained weights
    saved), unreadable images, an LQ that is not its GT / scale, images smaller than gt_size (a crash in the first
    batch); for the dataset types whose file lists are known (DIV2KInterpretDataset, PairedImageDataset)."""
    where, dataset = 'datasets.train', c.opt['datasets']['train']
    images = _training_images(c, where, dataset, DATASET_REGISTRY.get(dataset['type']))
    if images is None:
        return
    ratio, batch = dataset.get('dataset_enlarge_ratio', 1), int(dataset['batch_size_per_gpu'])
    if (len(images) * int(ratio)) // batch == 0:
        c.fail(f'{where}.batch_size_per_gpu: {batch} is larger than the training set: {len(images)} image(s) x '
               f'dataset_enlarge_ratio {ratio} = {len(images) * int(ratio)} sample(s) per epoch, so 0 iterations '
               'per epoch (BasicSR drops the incomplete last batch)')
    scale, gt_size = c.opt['scale'], dataset.get('gt_size')
    for image in images:
        sizes = {}
        for role, (name, size) in image.items():
            sizes[role] = _image_size(name) if size is None else size
            if isinstance(sizes[role], str):
                c.fail(f'{where}: {name}: {sizes[role]}')
        (gt_name, _), gt = image['gt'], sizes['gt']
        if 'lq' in image and (sizes['lq'][0] * scale, sizes['lq'][1] * scale) != tuple(gt):
            c.fail(f'{where}: {image["lq"][0]}: height {sizes["lq"][0]}, width {sizes["lq"][1]} times scale {scale} '
                   f'does not match its GT {gt_name} (height {gt[0]}, width {gt[1]})')
        if 'lq' not in image and (gt[0] % scale or gt[1] % scale):  # DIV2KInterpretDataset: LQ = GT // scale
            c.fail(f'{where}: {gt_name}: height {gt[0]}, width {gt[1]} is not a multiple of scale {scale} '
                   '(the degraded LQ would not match its GT times the scale)')
        if isinstance(gt_size, numbers.Real) and (gt[0] < gt_size or gt[1] < gt_size):
            c.fail(f'{where}.gt_size: {gt_size:g} is larger than the training image {gt_name} '
                   f'(height {gt[0]}, width {gt[1]}); use a smaller gt_size or larger images')


def _training_images(c, where, dataset, dataset_cls):
    """``[{'gt': (name, size), 'lq': (name, size)}]`` (no 'lq' for a GT-only set; size ``(height, width)``, None for
    a file whose header is still to be read) as the dataset lists them; None for types not known here."""
    io_backend = dict(dataset.get('io_backend') or {})
    folders = {role: osp.expanduser(str(dataset.get(f'dataroot_{role}'))) for role in ('gt', 'lq')}
    if dataset_cls is PairedImageDataset:
        roles = ('gt', 'lq')
        for key in ('dataroot_gt', 'dataroot_lq'):
            if not dataset.get(key):
                c.fail(f'{where}: missing option {key!r} (needed by PairedImageDataset)')
    elif dataset_cls is DIV2KInterpretDataset:
        roles = ('gt', )
    else:
        return None
    try:
        if dataset_cls is PairedImageDataset:  # built as BasicSR builds it: it lists its pairs
            paths = PairedImageDataset({**dataset, 'io_backend': io_backend, 'dataroot_gt': folders['gt'],
                                        'dataroot_lq': folders['lq']}).paths
            listed = [{role: pair[f'{role}_path'] for role in roles} for pair in paths]
        else:  # its own listing (the dataset logs when built, which would take BasicSR's log file from the run)
            finder = SimpleNamespace(opt=dataset, gt_folder=folders['gt'], io_backend_opt=io_backend)
            listed = [{'gt': path} for path in DIV2KInterpretDataset._find_paths(finder)]
    except (InputError, AssertionError, ValueError, OSError) as exc:
        c.fail(f'{where}: {one_line(exc)}')
    if io_backend.get('type') != 'lmdb':
        return [{role: (path, None) for role, path in image.items()} for image in listed]
    sizes = {role: _lmdb_sizes(c, where, folders[role], [image[role] for image in listed]) for role in roles}
    return [{role: (f'{folders[role]} (lmdb key {key})', sizes[role][key]) for role, key in image.items()}
            for image in listed]


def _image_size(path):
    """``(height, width)`` of an image file from its header (PIL; OpenCV decodes what PIL cannot), or the problem
    of a missing, empty or unreadable file as text."""
    if not osp.isfile(path):
        return 'file not found'
    if osp.getsize(path) == 0:
        return 'empty file (0 bytes)'
    try:
        with Image.open(path) as img:
            return img.size[::-1]
    except Exception:  # noqa: BLE001 - PIL cannot parse it: let OpenCV try, as basicsr reads it
        pass
    try:
        with _quiet_stderr():  # OpenCV and libpng warn on stderr about broken files
            img = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except (cv2.error, OSError):
        img = None
    return 'not a readable image' if img is None else img.shape[:2]


def _lmdb_sizes(c, where, folder, keys):
    """``{key: (height, width)}`` of ``keys`` in the lmdb at ``folder``, read from each stored image's header: a key
    the database lacks, a value that is no image, or a size other than its meta_info.txt gives is refused."""
    listed = {}
    with open(osp.join(folder, 'meta_info.txt')) as f:
        for line in f:
            match = re.match(r'^(\S+)\s+\((\d+),\s*(\d+)', line.strip())
            if match:
                listed[match.group(1).split('.')[0]] = (int(match.group(2)), int(match.group(3)))
    try:
        env = lmdb.open(folder, readonly=True, lock=False, readahead=False, meminit=False)
    except lmdb.Error as exc:
        c.fail(f'{where}: {folder}: not a readable lmdb ({one_line(exc)})')
    sizes = {}
    with env, env.begin(write=False) as txn:
        for key in keys:
            value = txn.get(str(key).encode())
            if value is None:
                c.fail(f'{where}: {folder}: meta_info.txt lists {key!r}, which the lmdb does not hold')
            try:
                with Image.open(io.BytesIO(value)) as img:
                    sizes[key] = img.size[::-1]
            except Exception:  # noqa: BLE001 - whatever PIL says, the value is no image
                c.fail(f'{where}: {folder}: the value of key {key!r} is not an image')
            if listed.get(key, sizes[key]) != sizes[key]:
                c.fail(f'{where}: {folder}: meta_info.txt gives {key!r} height {listed[key][0]}, width '
                       f'{listed[key][1]}, but the stored image is height {sizes[key][0]}, width {sizes[key][1]}')
    return sizes


# ---- what the run resumes or starts from -------------------------------------------------------------------------

def check_resume(c):
    """The training state the run resumes from, as faig.compat.load_resume_state will choose it (reads only; it
    sets broken states aside later): a path.resume_state that cannot be resumed from is refused, and so is what
    the model's ``check_resume`` refuses (ReTrainModel: another selection)."""
    c.models_folder = osp.join(c.experiment, 'models')
    c.resume_iter, networks = None, compat.resumed_networks(c.opt)
    state = compat.find_resume_state(osp.join(c.experiment, 'training_states'), c.models_folder, networks)[1] \
        if c.auto_resume else None
    c.resume_where = '--auto_resume'
    if state is None and c.opt['path'].get('resume_state'):
        problem, state = compat.state_problem(osp.expanduser(str(c.opt['path']['resume_state'])), c.models_folder,
                                              networks)
        if problem:
            c.fail(f'path.resume_state: cannot resume: {problem}')
        c.resume_where = 'path.resume_state'
    if state is None:
        return
    c.resume_iter = state['iter']
    checker = getattr(c.model, 'check_resume', None)
    problem = checker(c.opt, c.experiment) if checker else None
    if problem:
        c.fail(problem)


def check_checkpoints(c):
    """Every checkpoint the run loads fits its network, under the key the options name.

    A resumed run loads ``<models>/net_<name>_<iter>.pth`` (basicsr's check_resume; ``params_ema`` becomes
    ``params``) for the networks not in ``path.ignore_resume_networks``; the others ``path.pretrain_network_<name>``.
    The key is ``path.param_key_<name>`` (default ``params``; ``~``: the file's root dict): basicsr falls back to
    ``params`` when it is missing, here it is refused. SRModel with ``train.ema_decay > 0`` also loads
    ``params_ema`` (or ``params``) into the EMA copy of network_g.
    """
    path_opt, ignored = c.opt['path'], c.opt['path'].get('ignore_resume_networks') or []
    ema_decay = c.opt['train'].get('ema_decay')
    ema = issubclass(c.model, SRModel) and isinstance(ema_decay, numbers.Real) and ema_decay > 0
    for net in c.networks:
        base = net[len('network_'):]
        key_option = f'param_key_{base}'
        key = path_opt.get(key_option, 'params')
        if c.resume_iter is not None and net not in ignored:
            ckpt, where = osp.join(c.models_folder, f'net_{base}_{c.resume_iter}.pth'), c.resume_where
            key = 'params' if key == 'params_ema' else key  # check_resume sets every param_key_* so
        elif path_opt.get(f'pretrain_{net}') is None:
            continue
        else:
            ckpt, where = osp.expanduser(str(path_opt[f'pretrain_{net}'])), f'path.pretrain_{net}'
            if not osp.isfile(ckpt):
                c.fail(f'{where} not found: {ckpt}')
        try:
            load_params(ckpt)  # a loadable dict of finite tensors (faig.networks' checks)
        except InputError as exc:
            c.fail(f'{where}: {exc}')
        stored = torch.load(ckpt, map_location='cpu', weights_only=True)
        if key is not None and key not in stored:
            if key_option in path_opt:
                c.fail(f'path.{key_option}: {key!r} is not in {ckpt} (its keys: {_keys_text(stored)})')
            plain = all(torch.is_tensor(value) for value in stored.values())
            c.fail(f'{where}: {ckpt} has no {key!r} (the default of path.{key_option}); its keys: '
                   f'{_keys_text(stored)}' + (f' (a plain state dict: set path.{key_option}: ~)' if plain else
                                              f'; set path.{key_option}'))
        to_fit = [key]
        if ema and base == 'g':  # SRModel.init_training_settings loads the EMA copy with 'params_ema'
            ema_key = next((k for k in ('params_ema', 'params') if k in stored), None)
            if ema_key is None:
                c.fail(f'{where}: {ckpt} has neither params_ema nor params, which the EMA copy of network_g loads '
                       f'(train.ema_decay > 0); its keys: {_keys_text(stored)}')
            to_fit += [ema_key] if ema_key != key else []
        arch_opt = dict(c.opt[net])
        arch = arch_opt.pop('type')
        try:
            expected = {k: v.shape for k, v in ARCH_REGISTRY.get(arch)(**arch_opt).state_dict().items()}
        except Exception as exc:  # noqa: BLE001 - the arch's own check of its arguments
            c.fail(f'{net}: cannot build {arch} {arch_summary(c.opt[net])} ({type(exc).__name__}: {one_line(exc)})')
        for name in to_fit:
            try:
                params = load_params(ckpt, name) if name is not None else strip_wrapper_prefix(stored)[0]
            except InputError as exc:
                c.fail(f'{where}: {exc}')
            if not all(torch.is_tensor(value) for value in params.values()):
                c.fail(f'{where}: {ckpt}: the file is not a dict of tensors')
            mismatch = _first_mismatch(expected, params, path_opt.get(f'strict_load_{base}', True))
            if mismatch:
                c.fail(f'{where}: {ckpt} ({name or "the file"}) does not fit {net} {arch} '
                       f'{arch_summary(c.opt[net])}: {mismatch}')


def _keys_text(mapping, limit=8):
    keys = [str(key) for key in mapping]
    return ', '.join(keys[:limit]) + (f', ... ({len(keys)} keys)' if len(keys) > limit else '') or 'none'


def _first_mismatch(expected, params, strict):
    """The first difference that makes basicsr's load_network fail or load nothing, as text; None if it fits.
    strict: the same keys and shapes; otherwise the common keys must have the same shapes (basicsr would silently
    skip them) and there must be some."""
    for key, shape in expected.items():
        if key not in params:
            if strict:
                return f'missing {key} (the checkpoint has {_keys_text(params, 3)})'
        elif tuple(params[key].shape) != tuple(shape):
            return f'size mismatch for {key}: {list(params[key].shape)} in the checkpoint, {list(shape)} in the network'
    extra = [key for key in params if key not in expected]
    if strict and extra:
        return f'unexpected {extra[0]} (not a parameter of the network)'
    if not strict and not set(expected) & set(params):
        return f'no parameter in common (the checkpoint has {_keys_text(params, 3)})'
    return None
