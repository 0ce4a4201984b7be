"""Degraded test sets from a GT folder: blurry, noisy and clean LR images (scripts/generate_lr.py)."""
import os.path as osp
import zlib

import numpy as np
from tqdm import tqdm

from faig.data.degradations import degrade, gaussian_kernel
from faig.data.image_io import check_divisible, list_images, read_image, to_uint8, write_image


def default_folders(dataroot, scale, kernel_sigma, noise_sigma):
    """The original's folder names (x2: Blur2_LRbicx2, LRbicx2_noise0.1, LRbicx2, Linear_LRbicx2)."""
    return {
        'blur': osp.join(dataroot, f'Blur{kernel_sigma:g}_LRbicx{scale}'),
        'noise': osp.join(dataroot, f'LRbicx{scale}_noise{noise_sigma:g}'),
        'bicubic': osp.join(dataroot, f'LRbicx{scale}'),
        'bilinear': osp.join(dataroot, f'Linear_LRbicx{scale}'),
    }


def image_rng(seed, name):
    """A noise generator that depends only on the seed and the image name (not on the image order)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def generate(gt_folder, out_folders, scale=2, kernel_size=21, kernel_sigma=2.0, noise_sigma=0.1, seed=0):
    """Write the degraded LR sets.

    blur:     Gaussian blur (kernel_size, kernel_sigma) on the HR image -> bilinear x1/scale -> 8 bit
    noise:    bilinear x1/scale -> + N(0, noise_sigma^2) -> 8 bit
    bilinear: bilinear x1/scale -> 8 bit (the clean start of IG's input path)
    bicubic:  bicubic x1/scale -> 8 bit (clean validation input)
    Every GT image is checked before anything is written.
    """
    images = list_images(gt_folder)
    hr = {}
    for name, path in images.items():
        img = read_image(path)
        check_divisible(path, img, scale)
        hr[name] = img
    kernel = gaussian_kernel(kernel_size, kernel_sigma)
    recipes = {
        'blur': lambda img, name: degrade(img, scale, kernel=kernel),
        'noise': lambda img, name: degrade(img, scale, noise_sigma=noise_sigma, rng=image_rng(seed, name)),
        'bilinear': lambda img, name: degrade(img, scale),
        'bicubic': lambda img, name: degrade(img, scale, interpolation='bicubic'),
    }
    for name, img in tqdm(hr.items(), desc='generate LR', unit='img'):
        for role, folder in out_folders.items():
            if folder:
                write_image(osp.join(folder, name), to_uint8(recipes[role](img, name)))
    return sorted(hr)


def crop_test_set(src_root, dst_root, lr_size, scale, folders):
    """Centre crops of a test set (LR ``lr_size`` pixels, GT ``lr_size * scale``), same names and layout.

    Used to run the attribution on a budget; crops of the LR and GT images stay aligned.
    """
    for name, _ in list_images(osp.join(src_root, 'GTmod12')).items():
        gt = read_image(osp.join(src_root, 'GTmod12', name), float32=False)
        h, w = gt.shape[0] // scale, gt.shape[1] // scale
        size = min(lr_size, h, w)
        y, x = (h - size) // 2, (w - size) // 2
        write_image(osp.join(dst_root, 'GTmod12', name),
                    gt[y * scale:(y + size) * scale, x * scale:(x + size) * scale])
        for folder in folders:
            lr = read_image(osp.join(src_root, folder, name), float32=False)
            write_image(osp.join(dst_root, folder, name), lr[y:y + size, x:x + size])
