"""Pieces of the attribution pipeline (faig.attribution.pipeline): image sets, resumable partial results."""
import io
import json
import os
import os.path as osp
import shutil
import zipfile

import numpy as np

from faig.data.image_io import read_image, write_bytes
from faig.errors import InputError, memory_guard
from faig.inference import check_lr_size, image_to_tensor
from faig.stamps import files_digest


def inputs_digest(pairs):
    """{role: {file name: sha1}} of paired image sets: what a resumed run must find unchanged."""
    roles = pairs[0].keys() if pairs else ()
    return {role: files_digest([p[role] for p in pairs]) for role in roles}


class PartialStore:
    """Per-image results of a long run in ``<folder>/.partial``, so a killed run can ``--resume``.

    Results are only reused when the run's configuration (model contents, image contents,
    steps, method, layout; not the paths, see ``ignore``) is the same as the one that wrote them. Partial results of an interrupted run
    are never dropped silently: a run without ``--resume`` refuses them unless ``force``. A
    partial state that cannot be read (corrupt ``config.json``, a truncated ``.npz``) is set aside
    with a notice and recomputed. A run that fails on bad input removes the folder it created
    (:meth:`discard`); a killed run, or one that could not write (disk full), leaves it for ``--resume``.
    """

    def __init__(self, folder, config, resume, force=False, ignore=()):
        """``ignore``: keys of ``config`` that do not decide whether results can be reused (paths: the same
        models and images moved elsewhere are the same run)."""
        from faig.outputs import read_json_or_set_aside, set_aside
        self.folder = self.check_folder(folder)
        self.config = json.loads(json.dumps(config, sort_keys=True))
        config_path = osp.join(self.folder, 'config.json')
        if osp.isdir(self.folder):
            old = read_json_or_set_aside(config_path, 'the settings of the partial results')
            done = self.finished()
            kept = lambda c: {k: v for k, v in c.items() if k not in ignore} if isinstance(c, dict) else c  # noqa: E731
            same = isinstance(old, dict) and kept(old) == kept(self.config)
            if old is None:
                set_aside(self.folder, 'partial results without readable settings')
            elif not same and not force:
                from faig.outputs import key_difference
                raise InputError(f'{self.folder}: partial results of an interrupted run with other settings '
                                 f'({key_difference(kept(old), kept(self.config))}); pass --force to discard them and start over')
            elif not resume and not force and done:
                raise InputError(f'{self.folder}: partial results of an interrupted run ({len(done)} image(s) '
                                 'finished); pass --resume to continue it, or --force to start over')
            elif osp.isdir(self.folder) and (not same or not resume):
                shutil.rmtree(self.folder)
        self.created = not osp.isdir(self.folder)
        os.makedirs(self.folder, exist_ok=True)
        write_bytes(config_path, json.dumps(self.config, sort_keys=True).encode())

    @staticmethod
    def check_folder(folder):
        """``<folder>/.partial``; an entry there that is not a plain folder (a file, a symbolic link) is refused:
        partial results are never written through a link or over a file the run did not make."""
        from faig.outputs import odd_entry
        partial = osp.join(folder, '.partial')
        odd = odd_entry(partial, 'folder')
        if odd:
            raise InputError(f'{partial}: {odd} (a run keeps its partial results in a folder there); remove it or '
                             'write elsewhere')
        return partial

    @staticmethod
    def previous_config(folder):
        """Settings of the partial results in ``folder`` (None if there are none or they are unreadable)."""
        path = osp.join(PartialStore.check_folder(folder), 'config.json')
        try:
            with open(path) as f:
                config = json.load(f)
            return config if isinstance(config, dict) else None
        except (OSError, ValueError, UnicodeDecodeError):
            return None

    def finished(self):
        return sorted(osp.splitext(f)[0] for f in os.listdir(self.folder) if f.endswith('.npz')) \
            if osp.isdir(self.folder) else []

    def _path(self, name):
        return osp.join(self.folder, f'{name}.npz')

    def get(self, name):
        path = self._path(name)
        if not osp.isfile(path):
            return None
        try:
            with np.load(path) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
            from faig.outputs import set_aside
            set_aside(path, 'a partial result that cannot be read (truncated?); it is computed again')
            return None

    def put(self, name, arrays):
        from faig.errors import WriteError
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        try:
            write_bytes(self._path(name), buffer.getvalue())
        except InputError as exc:
            raise WriteError(f'{exc}; the images finished before are kept in {self.folder} for --resume') from None

    def clear(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def discard(self):
        """After an error: remove the folder if this run made it (a resumed run's earlier work stays)."""
        if self.created:
            self.clear()


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
