"""Training data for the FAIG study: clean GT images, degraded on the fly."""
import numbers
import os.path as osp

import numpy as np
from torch.utils import data
from torchvision.transforms.functional import normalize

from faig import compat

compat.apply()  # before the first basicsr import

from basicsr.data.data_util import paths_from_lmdb  # noqa: E402
from basicsr.data.transforms import augment, paired_random_crop  # noqa: E402
from basicsr.utils import FileClient, get_root_logger, img2tensor, scandir  # noqa: E402
from basicsr.utils.registry import DATASET_REGISTRY  # noqa: E402

from faig.data.degradations import INTERPOLATIONS, degrade_with  # noqa: E402
from faig.data.image_io import IMAGE_EXTENSIONS, decode_checked  # noqa: E402
from faig.errors import InputError  # noqa: E402
from faig.specs import appliable_degradation  # noqa: E402

LEGACY_KEYS = ('kernel_prob', 'kernel_size', 'sigma_list', 'noise_prob', 'noise_list')


def _number(value, low, high=None):
    return (isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high))


def legacy_entries(opt):
    """The original's keys as ``degradations`` entries: blur (kernel_prob, kernel_size, sigma_list), then
    noise (noise_prob, noise_list) -- the same random draws, in the same order, as the original dataset."""
    return [{'name': 'blur', 'prob': opt['kernel_prob'], 'kernel_size': opt['kernel_size'], 'sigma': opt['sigma_list']},
            {'name': 'noise', 'prob': opt['noise_prob'], 'sigma': opt['noise_list']}]


def entries_problem(entries):
    """The first problem of a ``degradations`` list as ``'degradations...: <problem>'``, or None.

    Each entry: ``name`` (a registered degradation with an applier), ``prob`` (applied with this
    probability) and the spec's parameters (its defaults for the rest), each a number, a list of numbers
    (one drawn uniformly per sample, like sigma_list) or ``{uniform: [low, high]}`` (drawn from the range;
    integers for integer parameters such as the JPEG quality)."""
    if not (isinstance(entries, list) and entries):
        return f'degradations: must be a non-empty list of {{name, prob, <parameter>: ...}} mappings, got {entries!r}'
    seen = set()
    for i, entry in enumerate(entries):
        where = f'degradations[{i}]'
        if not isinstance(entry, dict):
            return f'{where}: must be a mapping {{name, prob, <parameter>: ...}}, got {entry!r}'
        if 'name' not in entry:
            return f'{where}.name: missing (a registered degradation)'
        try:
            spec = appliable_degradation(entry['name'], f'{where}.name')
        except InputError as exc:
            return str(exc)
        if spec.name in seen:
            return f'{where}.name: {spec.name} is named twice'
        seen.add(spec.name)
        if 'prob' not in entry:
            return f'{where}.prob: missing (a probability in [0, 1])'
        if not _number(entry['prob'], 0, 1):
            return f'{where}.prob: must be a probability in [0, 1], got {entry["prob"]!r}'
        for key, value in entry.items():
            if key in ('name', 'prob'):
                continue
            param = spec.param(key)
            if param is None:
                return (f'{where}.{key}: not a parameter of {spec.name} (its parameters: '
                        f'{", ".join(p.name for p in spec.params) or "none"})')
            if isinstance(value, dict):
                ends = value.get('uniform')
                if set(value) != {'uniform'} or not (isinstance(ends, list) and len(ends) == 2):
                    return f'{where}.{key}: a range is {{uniform: [low, high]}}, got {value!r}'
                candidates = ends
                if all(param.problem(v) is None for v in ends) and ends[0] > ends[1]:
                    return f'{where}.{key}: uniform range [{ends[0]}, {ends[1]}] has low > high'
            elif isinstance(value, list):
                if not value:
                    return f'{where}.{key}: an empty list of values'
                candidates = value
            else:
                candidates = [value]
            for candidate in candidates:
                problem = param.problem(candidate)
                if problem:
                    return f'{where}.{key}: {problem}'
    return None


def compile_entries(entries):
    """[(spec, prob, {parameter: value | list | ('uniform', low, high)})] of checked entries."""
    compiled = []
    for entry in entries:
        spec = appliable_degradation(entry['name'], 'degradations')
        values = {p.name: entry.get(p.name, p.default) for p in spec.params}
        for key, value in values.items():
            if isinstance(value, dict):
                values[key] = ('uniform', *value['uniform'])
        compiled.append((spec, entry['prob'], values))
    return compiled


def draw_steps(compiled, rng=np.random):
    """The degradations of one sample: [(spec, params)].

    Per entry, in order: one uniform draw against its probability; when applied, one draw per listed or
    ranged parameter (in the spec's parameter order). For the original's keys this is exactly the
    original dataset's sequence of draws (``uniform`` then ``choice`` for blur, then for noise)."""
    steps = []
    for spec, prob, values in compiled:
        if not rng.uniform() < prob:
            continue
        params = {}
        for param in spec.params:
            value = values[param.name]
            if isinstance(value, list):
                value = value[rng.choice(len(value))]
            elif isinstance(value, tuple):
                _, low, high = value
                if param.integer:
                    integers = getattr(rng, 'integers', None) or rng.randint
                    value = int(integers(low, high + 1))
                else:
                    value = float(rng.uniform(low, high))
            params[param.name] = value
        steps.append((spec, params))
    return steps


def describe_entries(compiled):
    def shown(value):
        return f'uniform [{value[1]}, {value[2]}]' if isinstance(value, tuple) else str(value)
    return ', '.join(f'{spec.name} p={prob} (' + ', '.join(f'{k} {shown(v)}' for k, v in values.items()) + ')'
                     for spec, prob, values in compiled)


@DATASET_REGISTRY.register()
class DIV2KInterpretDataset(data.Dataset):
    """GT images degraded on the fly: blur (prob. ``kernel_prob``) -> downsample -> noise (prob. ``noise_prob``),
    or any registered degradations (faig/specs.py) through ``degradations``.

    Options (the original YAML keys):
        dataroot_gt, io_backend (disk | lmdb), meta_info_file (optional), scale, phase,
        gt_size, use_flip, use_rot, kernel_prob, kernel_size, sigma_list, noise_prob,
        noise_list (sigma on the [0, 1] scale), mean/std (optional normalisation).
    New options:
        downsample_interpolation: bilinear (default, what the original effectively did) |
            bicubic | area | nearest.
        degradations: instead of the five blur/noise keys, a list of registered degradations, each
            applied with its probability at its stage of the pipeline, e.g. a JPEG + noise target:
                degradations:
                  - {name: jpeg, prob: 0.5, quality: [30]}
                  - {name: noise, prob: 0.5, sigma: [0.1]}
            a parameter is a number, a list (one value drawn per sample) or {uniform: [low, high]};
            see :func:`entries_problem`. The original's keys are the list [blur, noise] (same draws).
    """

    @staticmethod
    def check_options(opt):
        """The first problem of the degradation options as ``'<key>: <problem>'``, or None.

        Called by ``faig.training.check_options`` before training starts (the same values would
        otherwise fail only in the first batch, after the experiment folder exists).
        """
        if opt.get('degradations') is not None:
            legacy = [key for key in LEGACY_KEYS if key in opt]
            if legacy:
                return (f'{legacy[0]}: the original blur/noise keys and degradations cannot be combined; '
                        'give one of them (e.g. the blur/noise ones as degradations entries)')
            problem = entries_problem(opt['degradations'])
            if problem:
                return problem
        else:
            for key in ('kernel_prob', 'noise_prob'):
                if key not in opt:
                    return f'{key}: missing (a probability in [0, 1])'
                if not _number(opt[key], 0, 1):
                    return f'{key}: must be a probability in [0, 1], got {opt[key]!r}'
            size = opt.get('kernel_size')
            if not (isinstance(size, int) and not isinstance(size, bool) and size > 0 and size % 2 == 1):
                return f'kernel_size: must be a positive odd integer, got {size!r}'
            for key, low, what in (('sigma_list', 1e-12, 'positive numbers'), ('noise_list', 0, 'numbers >= 0')):
                values = opt.get(key)
                if not (isinstance(values, list) and values and all(_number(v, low) for v in values)):
                    return f'{key}: must be a non-empty list of {what}, got {values!r}'
        interpolation = opt.get('downsample_interpolation', 'bilinear')
        if interpolation not in INTERPOLATIONS:
            return f'downsample_interpolation: unknown value {interpolation!r}; choose from {sorted(INTERPOLATIONS)}'
        if opt.get('phase', 'train') == 'train':
            for key in ('gt_size', 'use_flip', 'use_rot'):
                if key not in opt:
                    return f'{key}: missing (needed for training)'
        return None

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.file_client = None
        self.io_backend_opt = dict(opt['io_backend'])
        self.mean = opt.get('mean')
        self.std = opt.get('std')
        self.gt_folder = opt['dataroot_gt']
        problem = self.check_options(opt)
        if problem:
            raise InputError(f'dataset {opt.get("name", "")!s}: {problem}')
        self.interpolation = opt.get('downsample_interpolation', 'bilinear')
        self.paths = self._find_paths()

        logger = get_root_logger()
        if opt.get('degradations') is None:
            self.kernel_prob = opt['kernel_prob']
            self.kernel_size = opt['kernel_size']
            self.sigma_list = opt['sigma_list']
            self.noise_prob = opt['noise_prob']
            self.noise_list = opt['noise_list']
            self.degradations = compile_entries(legacy_entries(opt))
            described = (f'blur p={self.kernel_prob} (size {self.kernel_size}, sigma {self.sigma_list}), '
                         f'noise p={self.noise_prob} (sigma {self.noise_list})')
        else:
            self.degradations = compile_entries(opt['degradations'])
            described = describe_entries(self.degradations)
        logger.info(f'DIV2KInterpretDataset: {len(self.paths)} GT images from {self.gt_folder}; '
                    f'{described}, x{opt["scale"]} {self.interpolation}')

    def _find_paths(self):
        backend = self.io_backend_opt['type']
        if not osp.exists(self.gt_folder):
            raise InputError(f'{self.gt_folder}: GT folder not found (dataroot_gt)')
        if backend == 'lmdb':
            if not osp.isfile(osp.join(self.gt_folder, 'meta_info.txt')):
                raise InputError(f'{self.gt_folder}: not an lmdb made by scripts/create_lmdb.py (no meta_info.txt)')
            self.io_backend_opt['db_paths'] = [self.gt_folder]
            self.io_backend_opt['client_keys'] = ['gt']
            paths = paths_from_lmdb(self.gt_folder)
        elif 'meta_info_file' in self.opt:
            meta = self.opt['meta_info_file']
            if not osp.isfile(meta):
                raise InputError(f'{meta}: meta_info_file not found')
            with open(meta) as fin:
                paths = [osp.join(self.gt_folder, line.split(' ')[0].strip()) for line in fin if line.strip()]
        else:
            paths = sorted(p for p in scandir(self.gt_folder, full_path=True) if p.lower().endswith(IMAGE_EXTENSIONS))
        if not paths:
            raise InputError(f'{self.gt_folder}: no GT images found')
        return paths

    def __getitem__(self, index):
        if self.file_client is None:
            opt = dict(self.io_backend_opt)
            self.file_client = FileClient(opt.pop('type'), **opt)
        scale = self.opt['scale']
        gt_path = self.paths[index]
        img_gt = decode_checked(gt_path, self.file_client.get(gt_path, 'gt')).astype(np.float32) / 255.

        steps = draw_steps(self.degradations, np.random)  # the global generator, as the original
        img_lq = degrade_with(img_gt, scale, steps, self.interpolation, np.random).astype(np.float32)

        if self.opt['phase'] == 'train':
            img_gt, img_lq = paired_random_crop(img_gt, img_lq, self.opt['gt_size'], scale, gt_path)
            img_gt, img_lq = augment([img_gt, img_lq], self.opt['use_flip'], self.opt['use_rot'])

        img_gt, img_lq = img2tensor([img_gt, img_lq], bgr2rgb=True, float32=True)
        if self.mean is not None or self.std is not None:
            normalize(img_gt, self.mean, self.std, inplace=True)
            normalize(img_lq, self.mean, self.std, inplace=True)
        return {'gt': img_gt, 'lq': img_lq, 'gt_path': gt_path}

    def __len__(self):
        return len(self.paths)
