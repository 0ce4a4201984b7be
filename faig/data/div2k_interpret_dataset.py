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

from faig.data.degradations import INTERPOLATIONS, degrade, gaussian_kernel  # noqa: E402
from faig.data.image_io import IMAGE_EXTENSIONS, decode_checked  # noqa: E402
from faig.errors import InputError  # noqa: E402


@DATASET_REGISTRY.register()
class DIV2KInterpretDataset(data.Dataset):
    """GT images degraded on the fly: blur (prob. ``kernel_prob``) -> downsample -> noise (prob. ``noise_prob``).

    Options (the original YAML keys):
        dataroot_gt, io_backend (disk | lmdb), meta_info_file (optional), scale, phase,
        gt_size, use_flip, use_rot, kernel_prob, kernel_size, sigma_list, noise_prob,
        noise_list (sigma on the [0, 1] scale), mean/std (optional normalisation).
    New option:
        downsample_interpolation: bilinear (default, what the original effectively did) |
            bicubic | area | nearest.
    """

    @staticmethod
    def check_options(opt):
        """The first problem of the degradation options as ``'<key>: <problem>'``, or None.

        Called by ``faig.training.check_options`` before training starts (the same values would
        otherwise fail only in the first batch, after the experiment folder exists).
        """
        def number(value, low, high=None):
            return (isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= low
                    and (high is None or value <= high))

        for key in ('kernel_prob', 'noise_prob'):
            if key not in opt:
                return f'{key}: missing (a probability in [0, 1])'
            if not number(opt[key], 0, 1):
                return f'{key}: must be a probability in [0, 1], got {opt[key]!r}'
        size = opt.get('kernel_size')
        if not (isinstance(size, int) and not isinstance(size, bool) and size > 0 and size % 2 == 1):
            return f'kernel_size: must be a positive odd integer, got {size!r}'
        for key, low, what in (('sigma_list', 1e-12, 'positive numbers'), ('noise_list', 0, 'numbers >= 0')):
            values = opt.get(key)
            if not (isinstance(values, list) and values and all(number(v, low) for v in values)):
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

        self.kernel_prob = opt['kernel_prob']
        self.kernel_size = opt['kernel_size']
        self.sigma_list = opt['sigma_list']
        self.noise_prob = opt['noise_prob']
        self.noise_list = opt['noise_list']
        self.kernels = [gaussian_kernel(self.kernel_size, sigma) for sigma in self.sigma_list]

        logger = get_root_logger()
        logger.info(f'DIV2KInterpretDataset: {len(self.paths)} GT images from {self.gt_folder}; '
                    f'blur p={self.kernel_prob} (size {self.kernel_size}, sigma {self.sigma_list}), '
                    f'noise p={self.noise_prob} (sigma {self.noise_list}), x{opt["scale"]} {self.interpolation}')

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

        kernel = None
        if np.random.uniform() < self.kernel_prob:
            kernel = self.kernels[np.random.choice(len(self.kernels))]
        noise_sigma = None
        if np.random.uniform() < self.noise_prob:
            noise_sigma = self.noise_list[np.random.choice(len(self.noise_list))]
        img_lq = degrade(img_gt, scale, kernel, noise_sigma, self.interpolation).astype(np.float32)

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
