"""Restore LR folders with a network, save the outputs and measure PSNR against GT."""
import os.path as osp

import numpy as np
import torch
from tqdm import tqdm

from basicsr.metrics.psnr_ssim import calculate_psnr
from basicsr.utils import img2tensor, tensor2img

from faig.data.image_io import pair_by_name, read_image, write_image
from faig.errors import InputError


def image_to_tensor(img, device='cpu'):
    """BGR HWC float [0, 1] -> RGB 1CHW tensor."""
    return img2tensor(img, bgr2rgb=True, float32=True).unsqueeze(0).to(device)


def check_lr_size(lq_path, lq, gt, scale):
    if lq.shape[0] * scale != gt.shape[0] or lq.shape[1] * scale != gt.shape[1]:
        raise InputError(f'{lq_path}: size {lq.shape[1]}x{lq.shape[0]} times scale {scale} does not match its GT '
                         f'({gt.shape[1]}x{gt.shape[0]})')


@torch.no_grad()
def restore(net, img, device='cpu'):
    """Network output for one BGR [0, 1] image, as a BGR uint8 image."""
    out = net(image_to_tensor(img, device))
    return tensor2img(out.squeeze(0).float().cpu(), rgb2bgr=True, min_max=(0, 1))


def restore_folder(net, lq_folder, gt_folder, save_folder, scale, device='cpu'):
    """Restore every image of ``lq_folder`` (paired with GT by name); returns {name: PSNR}."""
    pairs = pair_by_name({'lq': lq_folder, 'gt': gt_folder})
    psnrs = {}
    for pair in tqdm(pairs, desc=osp.basename(lq_folder), unit='img'):
        lq, gt = read_image(pair['lq']), read_image(pair['gt'], float32=False)
        check_lr_size(pair['lq'], lq, gt, scale)
        out = restore(net, lq, device)
        name = osp.basename(pair['lq'])
        if save_folder:
            write_image(osp.join(save_folder, osp.splitext(name)[0] + '.png'), out)
        psnrs[name] = float(calculate_psnr(out, gt, crop_border=scale))
    return psnrs


def mean(values):
    return float(np.mean(list(values)))
