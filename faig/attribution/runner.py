"""Pieces of the attribution pipeline (faig.attribution.pipeline): image sets and their identity."""
import os.path as osp

from faig.data.image_io import read_image
from faig.errors import InputError, memory_guard
from faig.inference import check_lr_size, image_to_tensor
from faig.store import files_digest


def inputs_digest(pairs):
    """{role: {file name: sha1}} of paired image sets: what a resumed run must find unchanged."""
    roles = pairs[0].keys() if pairs else ()
    return {role: files_digest([p[role] for p in pairs]) for role in roles}


def read_image_set(pair, scale, gt_role='gt', channels=(3, 3)):
    """Read one image set (role -> path) as [0, 1] arrays, BGR or gray as the network's (input, output)
    ``channels`` say (faig.inference.image_channels); LR sizes are checked against the GT (or, without a
    GT, against each other)."""
    images = {role: read_image(path, channels=channels[1] if role == gt_role else channels[0])
              for role, path in pair.items()}
    if gt_role in images:
        for role, img in images.items():
            if role != gt_role:
                check_lr_size(pair[role], img, images[gt_role], scale)
    else:
        first = next(iter(images))
        for role, img in images.items():
            if img.shape != images[first].shape:
                raise InputError(f'{pair[role]}: size {img.shape[1]}x{img.shape[0]} differs from '
                                 f'{pair[first]} ({images[first].shape[1]}x{images[first].shape[0]})')
    return images


def check_image_sets(pairs, scale, gt_role='gt', channels=(3, 3)):
    """Read every image once before any work, so a bad file fails the run before anything is written."""
    for pair in pairs:
        with memory_guard(next(iter(pair.values())), 'use smaller (cropped) images or a machine with more memory'):
            read_image_set(pair, scale, gt_role, channels)


def load_image_set(pair, scale, device, gt_role='gt', channels=(3, 3)):
    """:func:`read_image_set` as RGB (or gray) 1CHW tensors on ``device``."""
    return {role: image_to_tensor(img, device)
            for role, img in read_image_set(pair, scale, gt_role, channels).items()}


def show_steps(pairs, tensors, pixels=128 * 128):
    """A per-step progress bar for large images or short runs, where one image takes a while."""
    lr = next(t for role, t in tensors.items() if role != 'gt')
    return len(pairs) < 4 or lr.shape[-1] * lr.shape[-2] >= pixels


def image_name(pair):
    return osp.splitext(osp.basename(next(iter(pair.values()))))[0]
