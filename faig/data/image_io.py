"""Reading, pairing and writing images with clear errors and atomic writes."""
import contextlib
import os
import os.path as osp
import sys

import cv2
import numpy as np

from faig.errors import InputError
from faig.files import write_bytes  # images and other files land the same way

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.ppm', '.webp')


def list_images(folder):
    """Image files of ``folder`` as ``{file name: path}``; errors if the folder is missing or empty."""
    if not osp.exists(folder):
        raise InputError(f'{folder}: folder not found')
    if not osp.isdir(folder):
        raise InputError(f'{folder}: not a folder')
    try:
        entries = os.listdir(folder)
    except OSError as exc:
        raise InputError(f'{folder}: cannot list folder ({exc.strerror or exc})') from exc
    names = sorted(n for n in entries if n.lower().endswith(IMAGE_EXTENSIONS))
    for name in names:
        check_name(osp.join(folder, name))
    if not names:
        raise InputError(f'{folder}: no images found (looked for {", ".join(IMAGE_EXTENSIONS)})')
    stems = {}
    for name in names:  # results are keyed by stem (camera.png -> camera): two files of one stem would collide
        stem = osp.splitext(name)[0]
        if stem in stems:
            raise InputError(f'{osp.join(folder, name)}: has the same name as {stems[stem]} (stem {stem!r}); '
                             'results are filed by name, so keep one of them')
        stems[stem] = name
    return {name: osp.join(folder, name) for name in names}


def shown(path):
    """``path`` printable whatever its bytes: a byte that is not UTF-8 shows as ``\\xff``."""
    return os.fsencode(path).decode('utf-8', 'backslashreplace')


def shown_text(text):
    """``text`` with the bytes of a file name that are not UTF-8 (read as surrogates) shown as ``\\xff``: text
    that holds such a name can still be drawn, encoded and written."""
    return str(text).encode('utf-8', 'surrogateescape').decode('utf-8', 'backslashreplace')


def check_name(path):
    """Refuse a file whose name is not UTF-8 text (legal on Linux, where a name is any bytes): image names
    become keys of the results (``meta.json``, ``per_image_scores.npz``, the comparison's CSV), which hold
    text, so such a file is refused before any work rather than after it."""
    try:
        osp.basename(path).encode('utf-8')
    except UnicodeEncodeError:
        raise InputError(f'{shown(path)}: the file name is not UTF-8 text; results are filed by image name, so '
                         'rename the file') from None


def check_output_folder(folder, what='output folder'):
    """Refuse an output folder that cannot be created or written, before anything is written.

    ``what`` names the option in the message, e.g. ``'--save_bic_folder'``.
    Checks: the path is not an existing file; its nearest existing ancestor is a folder; that
    folder is writable (``os.access``; root passes it, write_bytes still catches the OSError).
    """
    if osp.exists(folder) and not osp.isdir(folder):
        raise InputError(f'{folder}: {what} is an existing file, not a folder')
    parent = osp.normpath(folder)
    while parent and not osp.exists(parent):
        parent = osp.dirname(parent)
    parent = parent or '.'
    if not osp.isdir(parent):
        raise InputError(f'{parent}: not a folder, so {what} {folder} cannot be created')
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f'{parent}: no write permission ({what} {folder})')


def pair_by_name(folders):
    """Pair images across folders by file name without its extension, never by sorted position: the
    degraded sets of a ``photo.jpg`` are ``photo.png`` (lossless, whatever the photo's format).

    Args:
        folders (dict): role -> folder, e.g. ``{'gt': ..., 'blur': ..., 'noise': ...}``.
    Returns:
        list of dicts role -> path, one per image, in the order of the first folder's file names.
    """
    listings = {role: list_images(folder) for role, folder in folders.items()}
    if not listings:
        return []
    by_stem = {role: {osp.splitext(name)[0]: name for name in listing} for role, listing in listings.items()}
    all_stems = set().union(*by_stem.values())
    for role, stems in by_stem.items():
        missing = sorted(all_stems - set(stems))
        if missing:
            shown = [next(s[m] for s in by_stem.values() if m in s) for m in missing]
            raise InputError(f'{folders[role]}: missing {len(missing)} image(s) present in the other folders: '
                             f'{", ".join(shown)}')
    first = next(iter(by_stem.values()))
    stems = sorted(all_stems, key=lambda stem: first[stem])
    return [{role: listings[role][by_stem[role][stem]] for role in listings} for stem in stems]


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 for a moment: libpng and OpenCV print warnings for broken files
    straight to stderr ("libpng error: ..."), which would add lines to the one-line error."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (e.g. a captured stream)
        yield
        return
    try:
        with open(os.devnull, 'wb') as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def read_file_bytes(path):
    """The bytes of ``path`` as a uint8 array; a missing, unreadable or empty file is an InputError."""
    if osp.isdir(path):
        raise InputError(f'{path}: is a folder, not an image file')
    if not osp.isfile(path):
        raise InputError(f'{path}: file not found')
    try:
        buffer = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise InputError(f'{path}: cannot read ({exc.strerror or exc})') from exc
    return buffer


# BT.601 luma of a [0, 1] BGR image on the studio range [16, 235] / 255: the weights and offset of
# BasicSR's ``bgr2ycbcr(img, y_only=True)`` (basicsr.utils.color_util), in B, G, R order.
Y_WEIGHTS_BGR = np.array([24.966, 128.553, 65.481], dtype=np.float64)
Y_OFFSET = 16.0


def bgr_to_y(img_bgr_uint8):
    """uint8 Y channel (HW) of a uint8 BGR image, as BasicSR's ``bgr2ycbcr(img, y_only=True)`` gives it
    for a uint8 image: ``round(img / 255 . [24.966, 128.553, 65.481] + 16)``."""
    y = np.asarray(img_bgr_uint8, dtype=np.float32) / 255. @ Y_WEIGHTS_BGR.astype(np.float32) + Y_OFFSET
    return np.clip(y.round(), 0, 255).astype(np.uint8)


def as_bgr(img):
    """A gray (HW or HW1) image as 3-channel BGR (the same value in each channel); BGR images as they are."""
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img


def decode_checked(path, buffer=None, channels=3):
    """Decode an 8-bit image with ``channels`` channels: 3 (BGR HWC, the default) or 1 (gray HW).

    ``channels=3``: grayscale, RGBA and 16-bit inputs are refused.
    ``channels=1`` (a network with one input channel, e.g. trained on Y): a grayscale file is read
    as it is; a colour (3-channel) file is converted to its BT.601 Y channel on the studio range,
    as BasicSR's ``bgr2ycbcr(img, y_only=True)`` (the Y that BasicSR's Y-channel PSNR and Y-trained
    networks use), see :func:`bgr_to_y`; RGBA and 16-bit files are refused.
    ``buffer``: the file's bytes when they come from elsewhere (lmdb); read from ``path`` otherwise.
    An empty file is ``<path>: empty file (0 bytes)``; a truncated or non-image file is
    ``<path>: not a readable image`` (the decoder's own warnings are kept off stderr).
    """
    if channels not in (1, 3):
        raise InputError(f'{path}: cannot read an image for a network with {channels} input channels '
                         '(1 or 3 are supported)')
    if buffer is None:
        buffer = read_file_bytes(path)
    buffer = np.frombuffer(buffer, np.uint8)
    if buffer.size == 0:
        raise InputError(f'{path}: empty file (0 bytes)')
    try:
        with _quiet_stderr():
            img = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None:
        raise InputError(f'{path}: not a readable image')
    gray = img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1)
    if gray and channels == 3:
        raise InputError(f'{path}: grayscale image; expected 3-channel RGB (convert it, e.g. with '
                         'cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))')
    if not gray and img.shape[2] == 4:
        raise InputError(f'{path}: image has an alpha channel (RGBA); expected '
                         f'{"3-channel RGB" if channels == 3 else "a grayscale or 3-channel image"}')
    if not gray and img.shape[2] != 3:
        raise InputError(f'{path}: image has {img.shape[2]} channels; expected {channels}')
    if img.dtype != np.uint8:
        raise InputError(f'{path}: {img.dtype} image; expected 8-bit')
    if channels == 1:
        return img.reshape(img.shape[:2]) if gray else bgr_to_y(img)
    return img


def read_image(path, float32=True, channels=3):
    """Read an 8-bit image: BGR HWC for ``channels=3``, gray HW for ``channels=1`` (a colour file
    becomes its BT.601 Y, see :func:`decode_checked`); in [0, 1] float32, or uint8 with ``float32=False``."""
    img = decode_checked(path, channels=channels)
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


def encode_image(path, img):
    """PNG/JPEG/... bytes of ``img``, the format given by the extension of ``path``."""
    ext = osp.splitext(path)[1] or '.png'
    ok, encoded = cv2.imencode(ext, img)
    if not ok:
        raise InputError(f'{path}: could not encode image')
    return encoded.tobytes()


def write_image(path, img):
    """Write an image atomically (temporary file + rename): a killed run leaves no half image."""
    write_bytes(path, encode_image(path, img))
