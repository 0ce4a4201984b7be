"""Restore LR folders with a network, save the outputs and measure PSNR against GT."""
import os.path as osp

import numpy as np
import torch
from tqdm import tqdm

from faig import compat

compat.apply()  # before the first basicsr import

from basicsr.metrics.psnr_ssim import calculate_psnr  # noqa: E402
from basicsr.utils import img2tensor, tensor2img  # noqa: E402

from faig.data.image_io import pair_by_name, read_image, write_image  # noqa: E402
from faig.errors import InputError  # noqa: E402
from faig.stamps import StampedFolder, files_digest, state_digest  # noqa: E402


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


def restore_cached(net, inputs, save_folder, device='cpu', progress=True):
    """{stem: BGR uint8 output} of ``net`` for ``inputs`` ({stem: LR path}).

    Reused from ``save_folder`` when its stamp says it holds this network's outputs (same weights)
    for these input contents; else every input is read first (a bad file fails before anything is
    written), restored and saved, and the folder is stamped anew (faig.stamps).
    """
    folder = StampedFolder(save_folder, {'model': state_digest(net.state_dict()),
                                         'inputs': files_digest(list(inputs.values()))})
    stems = sorted(inputs)
    if folder.fresh(stems):
        return {stem: read_image(folder.path(stem), float32=False) for stem in stems}
    images = {stem: read_image(inputs[stem]) for stem in stems}
    folder.invalidate()
    outputs = {}
    for stem in tqdm(stems, desc=osp.basename(osp.normpath(save_folder)), unit='img', leave=False,
                     disable=not progress):
        outputs[stem] = restore(net, images[stem], device)
        write_image(folder.path(stem), outputs[stem])
    folder.seal(stems)
    return outputs


def check_folder(lq_folder, gt_folder, scale):
    """Read every LR/GT pair and check sizes; returns (pairs, {LR name: GT uint8 image})."""
    pairs = pair_by_name({'lq': lq_folder, 'gt': gt_folder})
    gts = {}
    for pair in pairs:
        lq, gt = read_image(pair['lq']), read_image(pair['gt'], float32=False)
        check_lr_size(pair['lq'], lq, gt, scale)
        gts[osp.basename(pair['lq'])] = gt
    return pairs, gts


def restore_folder(net, lq_folder, gt_folder, save_folder, scale, device='cpu'):
    """Restore every image of ``lq_folder`` (paired with GT by name) into ``save_folder``; returns {name: PSNR}."""
    pairs, gts = check_folder(lq_folder, gt_folder, scale)  # every input checked before an output is written
    inputs = {osp.splitext(osp.basename(p['lq']))[0]: p['lq'] for p in pairs}
    outputs = restore_cached(net, inputs, save_folder, device)
    return {name: float(calculate_psnr(outputs[osp.splitext(name)[0]], gt, crop_border=scale))
            for name, gt in gts.items()}


def mean(values):
    return float(np.mean(list(values)))
