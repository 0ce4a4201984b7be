"""Reading, pairing and writing images with clear errors and atomic writes."""
import os
import os.path as osp
import tempfile

import cv2
import numpy as np

from faig.errors import InputError

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.ppm', '.webp')


def list_images(folder):
    """Image files of ``folder`` as ``{file name: path}``; errors if the folder is missing or empty."""
    if not osp.isdir(folder):
        raise InputError(f'{folder}: folder not found')
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise InputError(f'{folder}: no images found (looked for {", ".join(IMAGE_EXTENSIONS)})')
    return {name: osp.join(folder, name) for name in names}


def pair_by_name(folders):
    """Pair images across folders by file name, never by sorted position.

    Args:
        folders (dict): role -> folder, e.g. ``{'gt': ..., 'blur': ..., 'noise': ...}``.
    Returns:
        list of dicts role -> path, one per image name, in name order.
    """
    listings = {role: list_images(folder) for role, folder in folders.items()}
    all_names = set().union(*listings.values())
    for role, listing in listings.items():
        missing = sorted(all_names - set(listing))
        if missing:
            raise InputError(f'{folders[role]}: missing {len(missing)} image(s) present in the other folders: '
                             f'{", ".join(missing)}')
    return [{role: listing[name] for role, listing in listings.items()} for name in sorted(all_names)]


def decode_checked(path, buffer=None):
    """Decode an 8-bit, 3-channel (BGR) image; grayscale, RGBA and 16-bit inputs are refused."""
    if buffer is None:
        if not osp.isfile(path):
            raise InputError(f'{path}: file not found')
        buffer = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(np.frombuffer(buffer, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(f'{path}: not a readable image')
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
        raise InputError(f'{path}: grayscale image; expected 3-channel RGB (convert it, e.g. with '
                         'cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))')
    if img.shape[2] == 4:
        raise InputError(f'{path}: image has an alpha channel (RGBA); expected 3-channel RGB')
    if img.shape[2] != 3:
        raise InputError(f'{path}: image has {img.shape[2]} channels; expected 3')
    if img.dtype != np.uint8:
        raise InputError(f'{path}: {img.dtype} image; expected 8-bit')
    return img


def read_image(path, float32=True):
    """Read a 3-channel 8-bit image as BGR HWC, in [0, 1] float32 (or uint8 with ``float32=False``)."""
    img = decode_checked(path)
    return img.astype(np.float32) / 255. if float32 else img


def check_divisible(path, img, scale):
    """Refuse HR images whose size is not a multiple of ``scale``."""
    h, w = img.shape[:2]
    if h % scale or w % scale:
        raise InputError(f'{path}: size {w}x{h} is not divisible by scale {scale} '
                         '(crop it first, e.g. to a multiple of 12 as in GTmod12)')


def to_uint8(img):
    """[0, 1] float image -> uint8 with rounding and clipping."""
    return np.clip((np.asarray(img) * 255.0).round(), 0, 255).astype(np.uint8)


def write_image(path, img):
    """Write an image atomically (temporary file + rename): a killed run leaves no half image."""
    ext = osp.splitext(path)[1] or '.png'
    ok, encoded = cv2.imencode(ext, img)
    if not ok:
        raise InputError(f'{path}: could not encode image')
    write_bytes(path, encoded.tobytes())


def write_bytes(path, data):
    """Atomically write ``data`` (bytes) to ``path``."""
    folder = osp.dirname(path) or '.'
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-', suffix=osp.basename(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
