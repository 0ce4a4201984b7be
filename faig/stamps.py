"""Content keys for caches and resumed runs: a cache is reused only when the contents it came
from (model weights, input images, its own output files) are unchanged -- never on paths alone.

A stamped folder holds outputs plus ``.source.json``: the key it was made from and a hash of
every output file. Whoever writes into the folder removes the stamp first and writes a new one
last, so a folder changed by another tool, or half-written by a killed run, is never fresh.
"""
import hashlib
import json
import os
import os.path as osp

import cv2
import numpy as np

from faig.data.image_io import IMAGE_EXTENSIONS

STAMP = '.source.json'


def sha1_bytes(data):
    return hashlib.sha1(data).hexdigest()


def sha1_file(path):
    """Hash of a file's whole content."""
    digest = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def files_digest(paths):
    """{file name: sha1} of a list of files (the identity of an input set)."""
    return {osp.basename(p): sha1_file(p) for p in sorted(paths)}


def read_record(path, what):
    """A JSON object read from ``path``; anything else (unreadable, not JSON, not an object) is one
    InputError naming ``what`` the file should have been."""
    from faig.errors import InputError
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f'{path}: not a readable {what} ({type(exc).__name__})') from None
    if not isinstance(data, dict):
        raise InputError(f'{path}: not a {what}')
    return data


def pixels_sha1(path):
    """Hash of an image's decoded pixels (shape, dtype, values): the same image whichever PNG encoder wrote
    it; a file that does not decode as an image is hashed as bytes."""
    pixels = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        return sha1_file(path)
    digest = hashlib.sha1(f'{pixels.shape}:{pixels.dtype};'.encode())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


def content_sha1(path):
    """Pixel hash for an image file, byte hash for any other file."""
    return pixels_sha1(path) if osp.splitext(path)[1].lower() in IMAGE_EXTENSIONS else sha1_file(path)


def data_digest(root):
    """One hash of every file under ``root`` (names, and pixels for images, bytes for other files): the
    identity of a data set, the same on every machine that made the same pixels. Hidden folders (a build
    stopped midway, faig.outputs.build_whole_folder) are not part of it."""
    digest = hashlib.sha1()
    walked = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith('.')]
        walked.append((folder, files))
    for folder, files in sorted(walked):
        for name in sorted(files):
            path = osp.join(folder, name)
            digest.update(f'{osp.relpath(path, root)}:{content_sha1(path)};'.encode())
    return digest.hexdigest()


def state_digest(state):
    """Hash of a state dict's names, shapes, dtypes and values (the identity of a model)."""
    import torch
    digest = hashlib.sha1()
    for name, value in state.items():
        tensor = value.detach().cpu().contiguous()
        digest.update(f'{name}:{tuple(tensor.shape)}:{tensor.dtype};'.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def network_digest(net):
    """Hash of what a network computes: its state dict (:func:`state_digest`) and, per module, its class and
    plain settings that are not in the state dict (strides, paddings, an EDSR's ``img_range`` or its mean
    tensor): two networks of one type built with other options are two networks, even with the same weights."""
    import torch
    digest = hashlib.sha1(state_digest(net.state_dict()).encode())
    for name, module in net.named_modules():
        digest.update(f'|{name}:{type(module).__module__}.{type(module).__qualname__}'.encode())
        for attr, value in sorted(vars(module).items()):
            if attr.startswith('_') or attr == 'training':
                continue  # parameters, buffers and submodules live in _-attributes (counted above)
            if isinstance(value, torch.Tensor):
                tensor = value.detach().cpu().contiguous()
                digest.update(f';{attr}:{tuple(tensor.shape)}:{tensor.dtype}='.encode())
                digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
            elif _plain(value):
                digest.update(f';{attr}={value!r}'.encode())
            elif callable(value):
                digest.update(f';{attr}={getattr(value, "__module__", "")}.{getattr(value, "__qualname__", "")}'
                              .encode())
    return digest.hexdigest()


def _plain(value):
    if isinstance(value, (bool, int, float, str, type(None))):
        return True
    return isinstance(value, (tuple, list)) and all(_plain(v) for v in value)


def canonical(key):
    """A JSON-comparable form of ``key`` (tuples become lists, keys sorted)."""
    return json.loads(json.dumps(key, sort_keys=True))


class StampedFolder:
    """A folder of ``<stem><ext>`` outputs that is fresh only for the same key and untouched files."""

    def __init__(self, folder, key, ext='.png'):
        self.folder = folder
        self.key = canonical(key)
        self.ext = ext

    def path(self, stem):
        return osp.join(self.folder, stem + self.ext)

    def fresh(self, stems):
        """True if every ``stem`` was written under this key and its file is unchanged since."""
        stamp = self.stamp()
        if stamp is None or stamp.get('key') != self.key:
            return False
        outputs = stamp.get('outputs', {})
        for stem in stems:
            path = self.path(stem)
            if stem not in outputs or not osp.isfile(path) or sha1_file(path) != outputs[stem]:
                return False
        return True

    def stamp(self):
        """The folder's stamp ({'key': ..., 'outputs': {stem: sha1}}), or None. A stamp that is not
        such a record (corrupt, truncated, another tool's JSON) is set aside with a notice: the
        folder is then not fresh and is rewritten."""
        from faig.outputs import read_json_or_set_aside, set_aside
        path = osp.join(self.folder, STAMP)
        stamp = read_json_or_set_aside(path, 'the stamp of these outputs')
        if stamp is None:
            return None
        if not isinstance(stamp, dict) or not isinstance(stamp.get('outputs', {}), dict):
            set_aside(path, 'the stamp of these outputs is not a stamp record')
            return None
        return stamp

    def invalidate(self):
        """Call before writing outputs: the folder is not fresh until :meth:`seal`."""
        stamp_path = osp.join(self.folder, STAMP)
        if osp.isfile(stamp_path):
            os.remove(stamp_path)

    def seal(self, stems):
        """Record the key and the hash of each written output."""
        from faig.data.image_io import write_bytes
        stamp = {'key': self.key, 'outputs': {s: sha1_file(self.path(s)) for s in sorted(stems)}}
        write_bytes(osp.join(self.folder, STAMP), json.dumps(stamp, sort_keys=True, indent=1).encode())


class StageRecord:
    """A pipeline stage's record (``<name>.json``): the key it ran under and a hash of every file it made.

    The same rule as :class:`StampedFolder`, for outputs spread over several folders: a stage is done
    only when its key is unchanged AND each output is still the file it wrote -- a result edited, removed
    or rewritten by another run since makes the stage run again (no file times, no marker files).
    ``started``: the key of a run that began and has not finished (what ``--resume`` may continue)."""

    def __init__(self, path):
        self.path = path

    def _read(self):
        try:
            with open(self.path) as f:
                record = json.load(f)
            return record if isinstance(record, dict) else {}
        except (OSError, ValueError, UnicodeDecodeError):
            return {}

    def _write(self, record):
        from faig.data.image_io import write_bytes
        os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
        write_bytes(self.path, json.dumps(record, sort_keys=True, indent=1).encode())

    def done(self, key, root='.'):
        record = self._read()
        if record.get('key') != canonical(key) or not record.get('outputs'):
            return False  # (a stage that made no files is not done: its outputs were not found)
        for name, digest in record['outputs'].items():
            path = osp.join(root, name)
            if not osp.isfile(path) or sha1_file(path) != digest:
                return False
        return True

    def started(self, key):
        return self._read().get('started') == canonical(key)

    def outputs(self):
        """{output path: sha1} of the finished stage ({} if none)."""
        return self._read().get('outputs', {})

    def start(self, key):
        """Before the stage runs: not done until :meth:`finish`; a stop leaves ``started`` = key."""
        self._write({'started': canonical(key)})

    def finish(self, key, outputs, root='.'):
        self._write({'key': canonical(key), 'outputs': {name: sha1_file(osp.join(root, name)) for name in sorted(outputs)}})
