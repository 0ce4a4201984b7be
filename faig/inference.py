"""Restore LR folders with a network, save the outputs and measure PSNR against GT.

basicsr (tensor2img, calculate_psnr) is imported where it is used: the attribution tools only need
:func:`image_to_tensor` and :func:`image_channels`, and importing basicsr costs seconds (docs/benchmarks.md,
"Fixed costs of a whole --fast run")."""
import os
import os.path as osp

import numpy as np
import torch
from tqdm import tqdm

from faig import compat
from faig.data.image_io import pair_by_name, read_image, write_image
from faig.errors import InputError, memory_guard
from faig.store import StampedFolder, files_digest, is_within, network_digest

compat.apply()  # before the first basicsr import


def image_to_tensor(img, device='cpu'):
    """BGR HWC float [0, 1] -> RGB 1CHW tensor; a gray image (HW or HW1) -> 1x1xHxW.

    BasicSR's ``img2tensor(img, bgr2rgb=True, float32=True)`` step for step (float64 cast to float32, a
    contiguous RGB copy, its CHW view: the same values and strides, so the same convolution kernels run),
    without importing basicsr (tests/test_fixed_costs.py)."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 3:
        if img.dtype == np.float64:
            img = img.astype(np.float32)
        img = np.ascontiguousarray(img[..., ::-1])
    return torch.from_numpy(img.transpose(2, 0, 1)).float().unsqueeze(0).to(device)


def tensor_to_image(tensor):
    """Network output (1CHW or CHW, [0, 1]) -> uint8 image: BGR HWC for 3 channels, gray HW for 1."""
    from basicsr.utils import tensor2img
    tensor = tensor.detach().float().cpu()
    if tensor.ndim == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f'one image expected, got a batch of {tensor.shape[0]}')
        tensor = tensor[0]
    img = tensor2img(tensor, rgb2bgr=tensor.shape[0] == 3, min_max=(0, 1))
    return img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img


def image_channels(net):
    """(input channels, output channels) of an image network, found by a forward pass on a small blank input
    (in eval mode, the network's mode restored after; BatchNorm statistics untouched): the input channels of
    its first conv when that is 1 or 3, else the first of 3 and 1 it runs on (RRDBNet at x2 unshuffles its
    input into 12 channels), and the channels of its output (SwinIR's 'pixelshuffledirect' ends in a conv of
    scale² times more channels than the image). A network that runs on no probe: its first conv's in- and
    last conv's out-channels; 3 for a network without convolutions. Images are read with this many channels
    (1: gray, see faig.data.image_io.read_image)."""
    convs = [m for m in net.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)]
    if not convs:
        return 3, 3
    first = convs[0].in_channels
    param = next(net.parameters())
    training = net.training
    net.eval()
    try:
        for c_in in ([first] if first in (1, 3) else [3, 1]):
            for size in (16, 64):
                try:
                    with torch.no_grad():
                        out = net(torch.zeros(1, c_in, size, size, dtype=param.dtype, device=param.device))
                except (RuntimeError, ValueError, TypeError, AssertionError, IndexError) as exc:
                    if 'out of memory' in str(exc).lower() or 'cuda' in str(exc).lower():
                        raise
                    continue
                if out.ndim == 4:
                    return c_in, int(out.shape[1])
    finally:
        net.train(training)
    return first, convs[-1].out_channels


def check_lr_size(lq_path, lq, gt, scale):
    if lq.shape[0] * scale != gt.shape[0] or lq.shape[1] * scale != gt.shape[1]:
        raise InputError(f'{lq_path}: size {lq.shape[1]}x{lq.shape[0]} times scale {scale} does not match its GT '
                         f'({gt.shape[1]}x{gt.shape[0]})')


@torch.no_grad()
def restore(net, img, device='cpu'):
    """Network output for one BGR [0, 1] image (gray HW for a 1-channel net), as a uint8 image
    (BGR HWC, or gray HW for a 1-channel output)."""
    return tensor_to_image(net(image_to_tensor(img, device)))


def restore_cached(net, inputs, save_folder, device='cpu', progress=True):
    """{stem: BGR uint8 output} of ``net`` for ``inputs`` ({stem: LR path}).

    Reused from ``save_folder`` when its stamp says it holds this network's outputs (same weights and options)
    for these input contents; else every input is read first (a bad file fails before anything is
    written), restored and saved, and the folder is stamped anew (faig.store). Inputs and outputs
    are read with the network's channel counts (:func:`image_channels`).
    """
    for path in {osp.dirname(p) for p in inputs.values()}:  # whichever tool asks: never into the inputs' folder
        if is_within(save_folder, path):
            raise InputError(f'{save_folder}: outputs would go into the folder of their inputs ({path}), '
                             'overwriting them; choose another output folder')
    in_channels, out_channels = image_channels(net)
    folder = StampedFolder(save_folder, {'model': network_digest(net),
                                         'inputs': files_digest(list(inputs.values()))})
    stems = sorted(inputs)
    if folder.fresh(stems):
        return {stem: read_image(folder.path(stem), float32=False, channels=out_channels) for stem in stems}
    images = {stem: read_image(inputs[stem], channels=in_channels) for stem in stems}
    folder.invalidate()
    outputs = {}
    hint = 'use smaller (cropped) images or a machine with more memory'
    with tqdm(stems, desc=osp.basename(osp.normpath(save_folder)), unit='img', leave=False,
              disable=not progress) as bar:
        try:
            for stem in bar:
                with memory_guard(inputs[stem], hint):
                    outputs[stem] = restore(net, images[stem], device)
                write_image(folder.path(stem), outputs[stem])
        except BaseException:
            for stem in outputs:  # no half-restored folder: the outputs of this call go again
                if osp.isfile(folder.path(stem)):
                    os.remove(folder.path(stem))
            raise
    folder.seal(stems)
    return outputs


def check_folder(lq_folder, gt_folder, scale, channels=(3, 3)):
    """Read every LR/GT pair and check sizes; returns (pairs, {LR name: GT uint8 image}).

    ``channels``: (LR, GT) channel counts, the network's :func:`image_channels`; a 1-channel GT is
    read gray (a colour GT as its Y), so that the PSNR compares like with like."""
    pairs = pair_by_name({'lq': lq_folder, 'gt': gt_folder})
    gts = {}
    for pair in pairs:
        lq = read_image(pair['lq'], channels=channels[0])
        gt = read_image(pair['gt'], float32=False, channels=channels[1])
        check_lr_size(pair['lq'], lq, gt, scale)
        gts[osp.basename(pair['lq'])] = gt
    return pairs, gts


def restore_folder(net, lq_folder, gt_folder, save_folder, scale, device='cpu'):
    """Restore every image of ``lq_folder`` (paired with GT by name) into ``save_folder``; returns {name: PSNR}."""
    # every input checked before an output is written
    pairs, gts = check_folder(lq_folder, gt_folder, scale, image_channels(net))
    inputs = {osp.splitext(osp.basename(p['lq']))[0]: p['lq'] for p in pairs}
    outputs = restore_cached(net, inputs, save_folder, device)
    from basicsr.metrics.psnr_ssim import calculate_psnr
    return {name: float(calculate_psnr(outputs[osp.splitext(name)[0]], gt, crop_border=scale))
            for name, gt in gts.items()}


def mean(values):
    return float(np.mean(list(values)))
