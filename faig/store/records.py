"""Records: the identity of what a result was made from (its key), the one reader of a record, the record of a key
and a hash per output file, and the one provenance check of a result's consumers."""
import hashlib
import json
import os
import os.path as osp
import sys
import time

from faig import files
from faig.errors import InputError

RECORD_FORMAT = 2  # 2: records say their format; 1 (no field): every record written before
STAMP = '.source.json'


# ---- identities ------------------------------------------------------------------------------

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


def state_digest(state):
    """Hash of a state dict's names, shapes, dtypes and values: the identity of a model, whatever file holds it."""
    import torch
    digest = hashlib.sha1()
    for name, value in state.items():
        tensor = value.detach().cpu().contiguous()
        digest.update(f'{name}:{tuple(tensor.shape)}:{tensor.dtype};'.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def same_model(recorded, path, state):
    """Whether a record's identity of a model, ``recorded``, is the model at ``path`` holding ``state``: its
    :func:`state_digest` -- or, in records that identified models by file (the retraining study's), its file's sha1."""
    return recorded in (state_digest(state), sha1_file(path))


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
    """A JSON-comparable form of ``key`` (tuples become lists, keys sorted, other objects their text)."""
    return json.loads(json.dumps(key, sort_keys=True, default=str))


def key_difference(old, new):
    """The first top-level setting that differs between two keys (for the message)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return 'settings'
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            if name not in old:
                return f'{name} (not recorded before)'
            if name not in new:
                return f'{name} (recorded before, not now)'
            return f'{name}: {_shown(old[name])} before, {_shown(new[name])} now'
    return None


def _shown(value):
    text = json.dumps(value)
    return text[:60] + ('…' if len(text) > 60 else '')


# ---- reading records -------------------------------------------------------------------------

def read_record(path, what, bad='refuse'):
    """The JSON object at ``path`` -- the one reader of every record. A file that is missing, unreadable or not an
    object is, by ``bad``: ``'refuse'`` an InputError naming ``what`` it should have been; ``'set_aside'`` renamed
    aside with a notice (None; a missing file is just None); ``'skip'`` None (read only: a consumer renames
    nothing). A record of a later :data:`RECORD_FORMAT` is refused in one line (``'skip'``: None)."""
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        why = None if isinstance(data, dict) else f'not a {what}'
    except FileNotFoundError:
        if bad != 'refuse':
            return None
        why = f'not a readable {what} (FileNotFoundError)'
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        why = f'not a readable {what} ({type(exc).__name__})'
    if why is None:
        version = data.get('record_format', 1)
        if type(version) is int and 1 <= version <= RECORD_FORMAT:
            return data
        if bad == 'skip':
            return None
        raise InputError(f'{path}: a {what} of record format {version!r}; this version of faig reads formats 1 to '
                         f'{RECORD_FORMAT} (written by a later version? use that one, or run again with this one)')
    if bad == 'refuse':
        raise InputError(f'{path}: {why}')
    if bad == 'set_aside':
        set_aside(path, f'{what} is not a readable record')
    return None


def record_bytes(record):
    """A record as written: its format, then its fields (sorted, indented)."""
    return (json.dumps({**record, 'record_format': RECORD_FORMAT}, indent=2, sort_keys=True) + '\n').encode()


def set_aside(path, why, tag='corrupt'):
    """Rename a corrupt (or superseded) file or folder to ``<name>.<tag>-<time>-<pid>[-n]`` with a notice:
    kept for inspection, out of the way."""
    stem = f'{path}.{tag}-{time.strftime("%Y%m%d-%H%M%S")}-{os.getpid()}'
    aside, n = stem, 1
    while osp.lexists(aside):
        aside, n = f'{stem}-{n}', n + 1
    try:
        os.replace(path, aside)
    except OSError:
        return None
    _notice(f'{path}: {why}; set aside as {osp.basename(aside)}')
    return aside


def read_json_or_set_aside(path, what):
    """:func:`read_record` of a file a tool owns: an unreadable one is set aside (None)."""
    return read_record(path, what, bad='set_aside')


def _notice(text):
    print(f'note: {text}', file=sys.stderr, flush=True)


# ---- records of files spread over folders: a key and a hash per output -----------------------

class OutputRecord:
    """A JSON record ``{'key': ..., 'outputs': {name: sha1}}`` of files under ``root``: fresh only when its key is
    this one AND each output is still the file it wrote -- a result edited, removed or rewritten since makes the
    work run again (no file times, no marker files). ``started``: the key of a run that began and has not
    finished (what ``--resume`` may continue)."""

    def __init__(self, record_path, root='.'):
        self.record_path = record_path
        self.root = root

    def file(self, name):
        return osp.join(self.root, name)

    def read(self):
        """The record, or {} when there is none; one that is not a record is set aside with a notice."""
        record = read_record(self.record_path, 'record of these outputs', bad='set_aside')
        if record is not None and not isinstance(record.get('outputs', {}), dict):
            set_aside(self.record_path, 'the record of these outputs is not an output record')
            return {}
        return record or {}

    def fresh(self, key, names=None):
        """True if the record's key is ``key`` and each output (of ``names``, or all it lists; a record of no
        outputs is not fresh unless ``names`` asks for none) is unchanged since it was written."""
        record = self.read()
        outputs = record.get('outputs') or {}
        names = list(outputs) if names is None else names
        if record.get('key') != canonical(key) or not (outputs or names == []):
            return False
        return all(name in outputs and osp.isfile(self.file(name)) and sha1_file(self.file(name)) == outputs[name]
                   for name in names)

    def started(self, key):
        return self.read().get('started') == canonical(key)

    def outputs(self):
        """{output name: sha1} of the finished work ({} if none)."""
        return self.read().get('outputs', {})

    def start(self, key):
        """Before the work: not fresh until :meth:`seal`; a stop leaves ``started`` = key."""
        self._write({'started': canonical(key)})

    def invalidate(self):
        """Before writing outputs: not fresh until :meth:`seal`."""
        if osp.isfile(self.record_path):
            os.remove(self.record_path)

    def seal(self, key, names):
        """Record the key and the hash of each written output."""
        self._write({'key': canonical(key), 'outputs': {n: sha1_file(self.file(n)) for n in sorted(names)}})

    def _write(self, record):
        os.makedirs(osp.dirname(self.record_path) or '.', exist_ok=True)
        files.write_bytes(self.record_path, record_bytes(record))


class StampedFolder(OutputRecord):
    """A folder of ``<stem><ext>`` outputs with its record in ``<folder>/.source.json`` (outputs by stem)."""

    def __init__(self, folder, key, ext='.png'):
        super().__init__(osp.join(folder, STAMP), folder)
        self.folder = folder
        self.key = canonical(key)
        self.ext = ext

    def file(self, name):
        return osp.join(self.folder, name + self.ext)

    path = file  # the output file of a stem

    def stamp(self):
        """The folder's record ({'key': ..., 'outputs': {stem: sha1}}), or None."""
        return self.read() or None

    def fresh(self, stems):
        return super().fresh(self.key, list(stems))

    def seal(self, stems):
        super().seal(self.key, stems)


# ---- provenance: what a consumer's inputs were made from -------------------------------------

def check_provenance(folder, given, allow_other_models=False):
    """Compare what a result was computed from (its ``meta.json``) with the models and images given now -- the one
    check of every consumer of a ranking.

    ``given``: {'baseline': state digest, 'target': state digest, 'inputs': {role: {file: sha1}}}
    (any subset). A mismatch is an InputError unless ``allow_other_models``; then it is returned
    (to be printed and recorded in the consumer's output). A ranking without a record (the
    original's index files, random rankings) has nothing to compare."""
    path = osp.join(folder, 'meta.json')
    if not osp.isfile(path):
        return []
    meta = read_record(path, 'record of this ranking', bad='skip')  # read only: a consumer renames nothing
    if meta is None:
        if not allow_other_models:
            raise InputError(f'{path}: the record of this ranking is not readable, so its models cannot be '
                             'checked; pass --allow_other_models to use the ranking anyway')
        print(f'warning: {path}: unreadable record, models not checked (--allow_other_models)')
        return ['unreadable record']
    problems = []
    for kind in ('baseline', 'target'):
        if meta.get(kind) and given.get(kind) and meta[kind] != given[kind]:
            problems.append(f'{kind} model {given[kind][:10]} given, {meta[kind][:10]} recorded')
    recorded, now = meta.get('inputs') or {}, given.get('inputs') or {}
    for role in sorted(set(recorded) & set(now)):
        if recorded[role] != now[role]:
            problems.append(f'{role} images differ from those it was computed on')
    if problems and not allow_other_models:
        raise InputError(f'{path}: this ranking was computed for other models or images '
                         f'({"; ".join(problems)}); pass --allow_other_models to use it anyway')
    if problems:
        print(f'warning: {folder}: used with other models or images (--allow_other_models): {"; ".join(problems)}')
    return problems
