"""Degraded test sets from a GT folder: one LR set per registered degradation spec (blurry, noisy,
JPEG-compressed, ...) and the clean ones (scripts/generate_lr.py).

Every set is written as lossless PNG whatever the GT photo's format (``photo.jpg`` -> ``photo.png``):
a lossy format would compress the added degradation (noise through JPEG) and change what is measured.
Images are paired by name without extension (faig.data.image_io.pair_by_name)."""
import os
import os.path as osp
import zlib

import numpy as np
from tqdm import tqdm

from faig.data.degradations import degrade, degrade_with
from faig.data.image_io import (IMAGE_EXTENSIONS, check_divisible, check_output_folder, decode_checked, encode_image,
                                list_images, read_image, to_uint8, write_bytes, write_image)
from faig.errors import InputError
from faig.files import outermost_missing
from faig.specs import DEFAULT_PAIR, DEGRADATIONS, appliable_degradation
from faig.store import build_whole_folder


def default_folders(dataroot, scale, kernel_sigma=2.0, noise_sigma=0.1, degradations=DEFAULT_PAIR, params=None):
    """{role: folder}: each degradation's spec folder (``spec.lr_folder``; x2 with the defaults: Blur2_LRbicx2,
    LRbicx2_noise0.1, LRbicx2_jpeg30), then the clean LRbicx<scale> and Linear_LRbicx<scale>.

    ``params``: {degradation: {parameter: value}}; ``kernel_sigma``/``noise_sigma`` are the original's
    parameters of that name (overridden by ``params``)."""
    params = with_legacy_params(params, kernel_sigma=kernel_sigma, noise_sigma=noise_sigma)
    folders = {}
    for name in degradations:
        spec = appliable_degradation(name, '--degradations')
        folders[name] = osp.join(dataroot, spec.lr_folder(scale, **params.get(name, {})))
    folders['bicubic'] = osp.join(dataroot, f'LRbicx{scale}')
    folders['bilinear'] = osp.join(dataroot, f'Linear_LRbicx{scale}')
    return folders


def with_legacy_params(params, **original):
    """``params`` ({degradation: {parameter: value}}) with the original's arguments filled in where ``params``
    does not set them: each keyword is a parameter's original flag without its dashes (``kernel_sigma``)."""
    merged = {name: dict(values) for name, values in (params or {}).items()}
    for spec in DEGRADATIONS.values():
        for param in spec.params:
            value = original.get(param.flag[2:]) if param.flag else None
            if value is not None:
                merged.setdefault(spec.name, {}).setdefault(param.name, value)
    return merged


LR_EXTENSION = '.png'


def lr_name(name):
    """The file name of a degraded / clean LR image of the GT file ``name``: always lossless PNG."""
    return osp.splitext(name)[0] + LR_EXTENSION


def check_no_other_format(out, folder):
    """An image of the same name in another format (an earlier run's ``photo.jpg``) would be paired with
    the GT in place of the new ``photo.png``: refuse it rather than leave two candidates."""
    if not osp.isdir(folder):
        return
    stem = osp.splitext(osp.basename(out))[0]
    for other in os.listdir(folder):
        if other != osp.basename(out) and osp.splitext(other)[0] == stem and other.lower().endswith(IMAGE_EXTENSIONS):
            raise InputError(f'{osp.join(folder, other)}: the sets are written as {osp.basename(out)} (lossless PNG); '
                             'remove this earlier image of the same name or choose another output folder')


def image_rng(seed, name):
    """A noise generator that depends only on the seed and the image name (not on the image order)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def check_out_folders(gt_folder, out_folders, flags=None):
    """Refuse output folders that would overwrite the GT images or each other.

    ``flags``: role -> the option that named the folder (for the message), e.g.
    ``{'bicubic': '--save_bic_folder'}``. Folders are compared by real path (symlinks, ``..``).
    """
    flags = flags or {}
    gt_real = osp.realpath(gt_folder)
    seen = {}
    for role, folder in out_folders.items():
        if not folder:
            continue
        flag = flags.get(role, f'the {role} output folder')
        real = osp.realpath(folder)
        if real == gt_real:
            raise InputError(f'{folder}: {flag} is the GT folder (--ori_folder); it would overwrite the GT images')
        if real.startswith(gt_real.rstrip(os.sep) + os.sep):
            raise InputError(f'{folder}: {flag} is inside the GT folder (--ori_folder {gt_folder}); the LR images '
                             'would be mixed with the GT images')
        if real in seen:
            raise InputError(f'{folder}: {flag} and {seen[real]} are the same folder; '
                             'each output needs its own folder')
        for other, other_flag in seen.items():
            if real.startswith(other.rstrip(os.sep) + os.sep) or other.startswith(real.rstrip(os.sep) + os.sep):
                raise InputError(f'{folder}: {flag} and {other_flag} are nested folders; each output needs its '
                                 'own folder')
        seen[real] = flag
        check_output_folder(folder, flag)


def _same_image(path, data):
    """Whether the existing file ``path`` holds the image that ``data`` (encoded bytes) would write."""
    if osp.isdir(path):
        raise InputError(f'{path}: an output image would replace this folder')
    try:
        with open(path, 'rb') as f:
            if f.read() == data:
                return True
    except OSError:
        return False
    try:
        old = decode_checked(path)
    except InputError:
        return False
    new = decode_checked(path, data)
    return old.shape == new.shape and bool(np.array_equal(old, new))


def generate(gt_folder, out_folders, scale=2, kernel_size=21, kernel_sigma=2.0, noise_sigma=0.1, seed=0,
             overwrite=False, flags=None, params=None):
    """Write the degraded LR sets.

    ``out_folders``: {role: folder}; a role is a registered degradation (faig/specs.py) or a clean set:
    <degradation>: its spec's applier at its stage (``hr``: on the HR image, before the downsampling;
              ``lr``: after it) -> bilinear x1/scale -> 8 bit; random ones draw from a
              generator of the seed and the image name
    bilinear: bilinear x1/scale -> 8 bit (the clean start of IG's input path)
    bicubic:  bicubic x1/scale -> 8 bit (clean validation input)
    ``params``: {degradation: {parameter: value}} (the spec's defaults for the rest); ``kernel_size``,
    ``kernel_sigma`` and ``noise_sigma`` are the original's blur and noise parameters.
    Every output is a PNG named after the GT image (``photo.jpg`` -> ``photo.png``, :func:`lr_name`).

    Nothing is written unless everything can be: the output folders are checked
    (:func:`check_out_folders`: never the GT folder, never one folder for two outputs, creatable
    and writable), then every GT image is read and checked, then the existing output files are
    compared with what would be written. An existing output that already holds the same pixels is
    left alone; one that differs is an error unless ``overwrite`` -- a user's file is never
    replaced silently. Only then is the first file written, to a temporary name beside its place; once
    every image is written they are renamed into place. A failure (a full disk, Ctrl-C) before that removes
    them and the folders the run created: the sets are written whole or not at all.
    Returns the sorted image names.
    """
    params = with_legacy_params(params, kernel_size=kernel_size, kernel_sigma=kernel_sigma, noise_sigma=noise_sigma)
    steps = {}
    for role in out_folders:
        if role in ('bilinear', 'bicubic'):
            continue
        spec = appliable_degradation(role, '--degradations')
        values = {**spec.defaults, **params.get(role, {})}
        problem = spec.check_params(values)
        if problem:
            raise InputError(f'{role} {problem}')
        steps[role] = [(spec, values)]
    images = list_images(gt_folder)
    check_out_folders(gt_folder, out_folders, flags)
    out_folders = {role: folder for role, folder in out_folders.items() if folder}
    recipes = {
        'bilinear': lambda img, name: degrade(img, scale),
        'bicubic': lambda img, name: degrade(img, scale, interpolation='bicubic'),
    }
    for role, role_steps in steps.items():
        recipes[role] = (lambda role_steps: lambda img, name: degrade_with(
            img, scale, role_steps, rng=image_rng(seed, name)))(role_steps)

    def encoded(role, img, name, path):
        return encode_image(path, to_uint8(recipes[role](img, name)))

    unchanged = set()
    with _progress(len(images), 'check GT and outputs') as bar:
        for name, path in images.items():
            img = read_image(path)
            check_divisible(path, img, scale)
            for role, folder in out_folders.items():
                out = osp.join(folder, lr_name(name))
                check_no_other_format(out, folder)
                if not osp.lexists(out):
                    continue
                if _same_image(out, encoded(role, img, name, out)):
                    unchanged.add(out)
                elif not overwrite:
                    raise InputError(f'{out}: exists with different content; pass --overwrite to replace it '
                                     'or choose another output folder')
            bar.update()

    created = [outermost_missing(folder) for folder in out_folders.values()]
    staged = {}  # final path -> temporary file beside it
    try:
        with _progress(len(images), 'generate LR') as bar:
            for name, path in images.items():
                img = read_image(path)
                for role, folder in out_folders.items():
                    out = osp.join(folder, lr_name(name))
                    if out not in unchanged:
                        os.makedirs(folder, exist_ok=True)
                        staged[out] = _temporary_beside(out)
                        write_bytes(staged[out], encoded(role, img, name, out))
                bar.update()
        for out, tmp in staged.items():  # every image is written: the sets land together
            os.replace(tmp, out)
    except BaseException:
        _undo(staged, created)
        raise
    return sorted(images)


def _temporary_beside(path):
    """A new, short-named hidden file in the folder of ``path`` (never an image name: no set lists it)."""
    import tempfile
    try:
        fd, tmp = tempfile.mkstemp(dir=osp.dirname(path) or '.', prefix='.tmp-')
    except OSError as exc:
        raise InputError(f'{path}: cannot write ({exc.strerror or exc})') from None
    os.close(fd)
    return tmp


def _undo(staged, created):
    """After a failure: the temporary files go, then the folders this run created (empty by then); images
    already moved into place (a failure amid the final renames) are removed too, where their folder is new."""
    for out, tmp in staged.items():
        for path in (tmp, out):
            if path == out and not any(c and osp.abspath(out).startswith(c + os.sep) for c in created):
                continue  # already renamed into a folder that was there before: it stays (what it replaced is gone)
            if osp.lexists(path):
                os.remove(path)
    for folder in sorted({c for c in created if c}, key=len, reverse=True):
        for sub, _, _ in sorted(os.walk(folder), key=lambda entry: -len(entry[0])):
            try:
                os.rmdir(sub)
            except OSError:
                pass


def _progress(total, desc):
    """A progress bar on terminals only (``disable=None``), cleared when done or on an error, so that
    an error stays the only line on stderr."""
    return tqdm(total=total, desc=desc, unit='img', leave=False, disable=None)


def crop_test_set(src_root, dst_root, lr_size, scale, folders):
    """Centre crops of a test set (LR ``lr_size`` pixels, GT ``lr_size * scale``), same names and layout.

    Used to run the attribution on a budget; crops of the LR and GT images stay aligned and are written as
    PNG (a crop is not compressed again). The set is built whole (faig.store.build_whole_folder): a run stopped
    midway leaves no set of fewer images.
    """
    build_whole_folder(dst_root, lambda path: _write_crops(src_root, path, lr_size, scale, folders))


def _write_crops(src_root, dst_root, lr_size, scale, folders):
    from faig.data.image_io import pair_by_name
    roles = {'GTmod12': osp.join(src_root, 'GTmod12'), **{folder: osp.join(src_root, folder) for folder in folders}}
    for pair in pair_by_name(roles):
        gt = read_image(pair['GTmod12'], float32=False)
        h, w = gt.shape[0] // scale, gt.shape[1] // scale
        size = min(lr_size, h, w)
        y, x = (h - size) // 2, (w - size) // 2
        name = lr_name(osp.basename(pair['GTmod12']))
        write_image(osp.join(dst_root, 'GTmod12', name),
                    gt[y * scale:(y + size) * scale, x * scale:(x + size) * scale])
        for folder in folders:
            lr = read_image(pair[folder], float32=False)
            write_image(osp.join(dst_root, folder, name), lr[y:y + size, x:x + size])
