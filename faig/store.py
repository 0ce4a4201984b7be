"""One record for every cached result: what it was made from (its key) and what it wrote (a hash per file).

The rule, the same for every tool, the study and the studies:

- **A key, never paths.** Models count by their tensors (:func:`state_digest`, the one identity of a model), inputs by
  their contents (faig.stamps: pixels for images), settings as given. A result is reused only for an equal key AND
  output files unchanged since they were written.
- **Never into what a run reads.** An output folder may not be, or lie inside, a folder the run reads or a data set
  (:func:`check_not_inputs`; real paths: symlinks and ``..`` resolved).
- **One writer per folder.** :class:`FolderLock` holds ``<folder>/.lock`` for the run; a second run is refused.
- **Another run's results are not replaced silently.** :func:`claim_results`: other settings need ``--force``, which
  removes only the files the earlier record lists (or ``--resume`` of the same settings).
- **Partial results** of a long run (:class:`PartialStore`) are resumed only under the same key.
- **Final files land together** (:func:`commit_files`): temporary names, a journal, renames; a crash is rolled forward
  or leaves the previous set.

:class:`RunOutputs` composes these for one run's output folder. Every record carries ``record_format``
(:data:`RECORD_FORMAT`); records without it (earlier versions) load as they are, a later format is refused in one line.
"""
import atexit
import contextlib
import glob
import hashlib
import io
import json
import os
import os.path as osp
import shutil
import socket
import stat
import sys
import tempfile
import time
import zipfile

import numpy as np

from faig import files
from faig.errors import InputError, WriteError
from faig.files import NAME_MAX, outermost_missing, remove_empty

RECORD_FORMAT = 2  # 2: records say their format; 1 (no field): every record written before
LOCK = '.lock'
JOURNAL = '.commit.json'
TMP_PREFIX = '.commit-tmp-'
STAMP = '.source.json'
PARTIAL = '.partial'


# ---- identities ------------------------------------------------------------------------------

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


def state_digest(state):
    """Hash of a state dict's names, shapes, dtypes and values: the identity of a model, whatever file holds it."""
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


# ---- where a run may write -------------------------------------------------------------------

def real(path):
    return osp.realpath(osp.abspath(path))


def is_within(path, folder):
    """True if ``path`` is ``folder`` or lies under it (both resolved)."""
    path, folder = real(path), real(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def dataset_roots(folders):
    """Data set folders of a run: the parent of each image folder that holds a ``GTmod12`` folder
    (the layout of the paper's test sets: ``datasets/X/{GTmod12,Blur2_LRbicx2,...}``)."""
    roots = []
    for folder in folders:
        parent = osp.dirname(real(folder))
        if osp.isdir(osp.join(parent, 'GTmod12')) and parent not in roots and parent != osp.dirname(parent):
            roots.append(parent)
    return roots


def enclosing_dataset(path):
    """The nearest folder at or above ``path`` that is a data set (holds ``GTmod12``), or None."""
    probe = real(path)
    while True:
        if osp.isdir(osp.join(probe, 'GTmod12')) or osp.basename(probe) == 'GTmod12':
            return probe if osp.basename(probe) != 'GTmod12' else osp.dirname(probe)
        parent = osp.dirname(probe)
        if parent == probe:
            return None
        probe = parent


def check_not_inputs(outputs, inputs, dataroots=(), input_files=()):
    """Refuse an output (folder or file) that is, or lies inside, an input folder or a data set folder,
    or that is one of the files the run reads.

    Args:
        outputs: {flag: output folder or file}.
        inputs: {flag: folder read from} (image folders, ranking folders).
        dataroots: data set folders of the run, beyond those found by :func:`dataset_roots` and any data set
            (a folder holding ``GTmod12``) that an output would lie in.
        input_files: {flag: file read} (models, rankings): an output may not be one of them, nor the folder
            holding one.
    """
    read = {flag: path for flag, path in inputs.items() if path}
    roots = list(dataroots) + dataset_roots([p for p in read.values() if osp.isdir(p)])
    read_files = {flag: path for flag, path in dict(input_files).items() if path}
    for out_flag, out in outputs.items():
        if not out:
            continue
        for in_flag, path in read.items():
            if is_within(out, path):
                raise InputError(f'{out}: {out_flag} is {"" if real(out) == real(path) else "inside "}the folder '
                                 f'{in_flag} reads from ({path}); it would write over the inputs. Choose another '
                                 'output folder')
        for in_flag, path in read_files.items():
            if real(out) in (real(path), osp.dirname(real(path))):
                what = 'the file' if real(out) == real(path) else 'the folder of the file'
                raise InputError(f'{out}: {out_flag} is {what} {in_flag} reads ({path}); choose another output')
        for root in [*roots, enclosing_dataset(out)]:
            if root and is_within(out, root):
                raise InputError(f'{out}: {out_flag} is inside the data set folder {root}; outputs never go into '
                                 'a data set. Choose another output folder')


def odd_entry(path, kind='file'):
    """Why the entry at ``path`` is not the plain ``kind`` ('file' or 'folder') a tool keeps there -- 'is a symbolic
    link, not a regular file', ... -- or None when it is one, or when nothing is there. A link is never followed:
    state a run writes (its lock, its partial results) would otherwise land outside the output folder."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    wanted = 'folder' if kind == 'folder' else 'regular file'
    if (stat.S_ISDIR if kind == 'folder' else stat.S_ISREG)(mode):
        return None
    for test, what in ((stat.S_ISLNK, 'a symbolic link'), (stat.S_ISDIR, 'a folder'), (stat.S_ISREG, 'a file'),
                       (stat.S_ISFIFO, 'a named pipe'), (stat.S_ISSOCK, 'a socket')):
        if test(mode):
            return f'is {what}, not a {wanted}'
    return f'is a device, not a {wanted}'


def build_whole_folder(folder, build):
    """``build(path)`` writes a folder's files into a hidden sibling, which then takes the folder's place: a run
    stopped midway leaves no partial folder behind that a later run would take for a complete one (a hidden
    ``.<name>.incomplete-*`` folder at most, which is ignored and replaced by the next build)."""
    folder = osp.normpath(folder)
    parent = osp.dirname(osp.abspath(folder))
    created = outermost_missing(parent)  # removed again if the build fails
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(folder)}.incomplete-', dir=parent)
    try:
        build(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    if osp.isdir(folder):  # the old set moves aside, the new one in, then the old one goes
        old = f'{tmp}.old'
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old)
    else:
        os.replace(tmp, folder)
    return folder


# ---- one writer per folder -------------------------------------------------------------------

def _process_start(pid):
    """Start time of a process in clock ticks since boot (Linux), to tell a reused pid apart; None elsewhere."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return int(f.read().rsplit(')', 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


_HELD = {}  # real path of a lock file -> [open file, count, folder created] of the locks this process holds


def folder_locks(*folders):
    """One :class:`FolderLock` per distinct folder, entered together (a context manager)."""
    stack = contextlib.ExitStack()
    try:
        for folder in dict.fromkeys(osp.normpath(f) for f in folders):
            stack.enter_context(FolderLock(folder))
    except BaseException:
        stack.close()  # the ones taken before a refusal are released
        raise
    return stack


class FolderLock:
    """``<folder>/.lock`` for the duration of a run (a context manager; released at exit too).

    The lock is an exclusive ``flock`` on that file, so the kernel releases it when its process dies
    (nothing stale can block a later run) and two runs can never both hold it. The file records the
    holder (pid, host, start time, command) for the message a second run gets; a record left by a run
    that died is reported when its lock is taken over. (``flock`` is per machine: on a shared network
    file system, runs on different machines are not kept apart.) Taken again by the same process, it
    nests."""

    def __init__(self, folder, what='this folder'):
        self.folder = folder
        self.path = osp.join(folder, LOCK)
        self.what = what
        self.held = False

    def _record(self):
        return {'pid': os.getpid(), 'host': socket.gethostname(), 'process_start': _process_start(os.getpid()),
                'started': time.strftime('%Y-%m-%d %H:%M:%S'), 'command': ' '.join(sys.argv)[:300]}

    def acquire(self):
        import fcntl
        try:
            created = outermost_missing(self.folder)
            os.makedirs(self.folder, exist_ok=True)
        except OSError as exc:
            raise WriteError(f'{self.folder}: cannot write ({exc.strerror or exc})') from None
        key = osp.join(real(self.folder), LOCK)
        if key in _HELD:
            _HELD[key][1] += 1
            self.held = True
            return self
        while True:
            f = self._open()
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = self._holder()
                f.close()
                who = (f'pid {holder.get("pid")} on {holder.get("host")}, started {holder.get("started")}: '
                       f'{holder.get("command", "?")}') if holder else 'its record is being written'
                raise InputError(f'{self.folder}: in use by another run ({who}); wait for it to finish, or write '
                                 'elsewhere') from None
            try:  # the holder before us may have removed the file between our open and our flock
                if os.lstat(self.path).st_ino == os.fstat(f.fileno()).st_ino:
                    break
            except FileNotFoundError:
                pass
            f.close()
        holder = self._holder()
        if holder:
            _notice(f'{self.folder}: taking over the lock of a run that is no longer running (pid '
                    f'{holder.get("pid")}, started {holder.get("started")})')
        f.seek(0)
        f.truncate()
        f.write(json.dumps(self._record()))
        f.flush()
        _HELD[key] = [f, 1, created]
        self.held = True
        atexit.register(self.release)
        recover_commit(self.folder)
        return self

    def _open(self):
        """The lock file, opened without following a symbolic link and only if it is a regular file of one name: a
        link (symbolic or hard) or a special file planted as ``.lock`` would make the lock record land elsewhere."""
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0)
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as exc:
            raise InputError(f'{self.path}: {odd_entry(self.path) or f"cannot open the lock ({exc.strerror or exc})"}'
                             '; remove it or write elsewhere') from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            os.close(fd)
            why = odd_entry(self.path) or 'is a hard link of another file (it would be overwritten)'
            raise InputError(f'{self.path}: {why}; remove it or write elsewhere')
        return os.fdopen(fd, 'r+')

    def _holder(self):
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            with os.fdopen(fd) as f:
                holder = json.load(f) if stat.S_ISREG(os.fstat(f.fileno()).st_mode) else None
            return holder if isinstance(holder, dict) else None
        except (OSError, ValueError):
            return None

    def release(self):
        if not self.held:
            return
        self.held = False
        key = osp.join(real(self.folder), LOCK)
        entry = _HELD.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _HELD[key]
        try:
            os.remove(self.path)  # while still holding it: a waiting run then creates a fresh file
        except OSError:
            pass
        entry[0].close()
        remove_empty(self.folder, entry[2])  # a run that wrote nothing leaves no folder behind

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


# ---- whose results a folder holds ------------------------------------------------------------

def claim_results(folder, key, force, result_files, meta_name='meta.json', resumable=False):
    """May this run replace the results in ``folder``? Returns 'new', 'same' (made with this key) or 'forced'.

    ``result_files``: names or glob patterns of every file the tool's write would replace or remove (the
    ``replaces`` of :func:`commit_files` too: present ones mark earlier results, e.g. the original's index
    files without a meta.json); the run key of earlier results is ``run_key`` in ``meta_name``. Results of
    other settings, or of a run that recorded none, are kept unless ``--force``."""
    present = [p for pattern in result_files for p in glob.glob(osp.join(glob.escape(folder), pattern))
               if osp.isfile(p)]
    if not present:
        return 'new'
    meta = read_record(osp.join(folder, meta_name), f'record {meta_name} of earlier results', bad='set_aside')
    old = meta.get('run_key') if meta is not None else None
    if old is not None and canonical(old) == canonical(key):
        return 'same'
    if force:
        return 'forced'
    why = (f'made with other settings ({key_difference(old, canonical(key))})' if old is not None
           else 'made by a run that recorded no settings')
    hint = ' or --resume to continue a run of the same settings' if resumable else ''
    raise InputError(f'{folder}: holds the results of another run, {why}; pass --force to replace them{hint}, '
                     'or choose another output folder')


# ---- final files land together ---------------------------------------------------------------

def commit_files(folder, new_files, replaces=(), record=None):
    """Write ``{name: bytes}`` into ``folder`` as one set: temporary files, a journal, then renames.

    ``record``: the name, among ``new_files``, of the set's JSON record (``meta.json``); the names of the set's files
    and the record format are added to it. ``replaces``: glob patterns of files of an earlier set (``*_index.txt``,
    ...); those not in the new set are removed in the same commit -- but only those that the earlier set's record
    lists, so a folder never holds a mix of two runs' files and a file this tool did not write (a user's
    ``chapter_index.txt``, results of a version that recorded no file list) stays, with a notice. A failure while
    writing the temporary files (disk full, ...) removes them and leaves the folder's previous files as
    they were; after the journal is written the set is complete and :func:`recover_commit` finishes the
    renames and removals if this process dies midway."""
    os.makedirs(folder, exist_ok=True)
    names = sorted(new_files)
    if record is not None:
        new_files = {**new_files, record: record_bytes({**json.loads(new_files[record]), 'files': names})}
    tmps = {name: osp.join(folder, commit_tmp_name(name)) for name in names}
    matching = {osp.basename(p) for pattern in replaces for p in glob.glob(osp.join(glob.escape(folder), pattern))
                if osp.isfile(p) and not osp.islink(p)} - set(names)
    stale = sorted(matching & recorded_files(folder, record))
    if matching - set(stale):
        _notice(f'{folder}: kept {", ".join(sorted(matching - set(stale)))} (no earlier record of this tool lists '
                'them as its own files)')
    try:
        for name in names:
            files.write_bytes(tmps[name], new_files[name])
        files.write_bytes(osp.join(folder, JOURNAL), json.dumps({'files': names, 'remove': stale}).encode())
    except BaseException as exc:
        for tmp in tmps.values():
            if osp.exists(tmp):
                os.remove(tmp)
        if isinstance(exc, InputError) and not isinstance(exc, WriteError):
            raise WriteError(str(exc)) from None
        raise
    _finish(folder, names, stale)


def recorded_files(folder, record):
    """The file names that the record ``<folder>/<record>`` of a set says the set wrote (empty without one)."""
    listed = (read_record(osp.join(folder, record), 'record', bad='skip') or {}).get('files') if record else None
    return set(listed) if _plain_names(listed) else set()


def commit_tmp_name(name):
    """The temporary name of a final file: the prefix and the name, or, where that would pass the file system's
    255-byte limit, the prefix and a hash of the name (the same in the process that finishes an interrupted
    commit)."""
    tmp = TMP_PREFIX + name
    if len(tmp.encode('utf-8', 'surrogateescape')) <= NAME_MAX:
        return tmp
    return TMP_PREFIX + hashlib.sha1(name.encode('utf-8', 'surrogateescape')).hexdigest()[:16]


def _finish(folder, names, remove=()):
    for name in names:
        tmp = osp.join(folder, commit_tmp_name(name))
        if osp.lexists(tmp):
            os.replace(tmp, osp.join(folder, name))
    for name in remove:
        if osp.isfile(osp.join(folder, name)):
            os.remove(osp.join(folder, name))
    os.remove(osp.join(folder, JOURNAL))


def _plain_names(names):
    return isinstance(names, list) and all(isinstance(n, str) and n and osp.basename(n) == n for n in names)


def recover_commit(folder):
    """Finish a commit interrupted after its journal; drop temporary files of one interrupted before."""
    if not osp.isdir(folder):
        return
    journal = osp.join(folder, JOURNAL)
    record = read_json_or_set_aside(journal, 'the commit journal') if osp.isfile(journal) else None
    names = record.get('files') if record is not None else None
    remove = record.get('remove', []) if record is not None else []
    if _plain_names(names) and (remove == [] or _plain_names(remove)):
        _notice(f'{folder}: finishing the final writes of an interrupted run ({", ".join(names)})')
        _finish(folder, names, remove)
        return
    for entry in os.listdir(folder):
        if entry.startswith(TMP_PREFIX) and not odd_entry(osp.join(folder, entry)):  # (never a folder, nor a link)
            os.remove(osp.join(folder, entry))


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


class StageRecord(OutputRecord):
    """A pipeline stage's record (``<name>.json``): outputs named by their paths from ``root``."""

    def done(self, key, root='.'):
        self.root = root
        return self.fresh(key)

    def finish(self, key, outputs, root='.'):
        self.root = root
        self.seal(key, outputs)


# ---- partial results of a long run -----------------------------------------------------------

def partial_folder(folder):
    """``<folder>/.partial``; an entry there that is not a plain folder (a file, a symbolic link) is refused:
    partial results are never written through a link or over a file the run did not make."""
    partial = osp.join(folder, PARTIAL)
    odd = odd_entry(partial, 'folder')
    if odd:
        raise InputError(f'{partial}: {odd} (a run keeps its partial results in a folder there); remove it or '
                         'write elsewhere')
    return partial


def previous_partial(folder):
    """Settings of the partial results in ``folder`` (None if there are none or they are unreadable)."""
    return read_record(osp.join(partial_folder(folder), 'config.json'), 'settings', bad='skip')


class PartialStore:
    """Per-image results of a long run in ``<folder>/.partial``, so a killed run can ``--resume``.

    Results are only reused when the run's configuration (model contents, image contents, steps, method,
    layout; not the paths, see ``ignore``) is the same as the one that wrote them. Partial results of an
    interrupted run are never dropped silently: a run without ``--resume`` refuses them unless ``force``. A
    partial state that cannot be read (corrupt ``config.json``, a truncated ``.npz``) is set aside with a notice
    and recomputed. A run that fails on bad input removes the folder it created (:meth:`discard`); a killed run,
    or one that could not write (disk full), leaves it for ``--resume``.
    """

    def __init__(self, folder, config, resume, force=False, ignore=()):
        """``ignore``: keys of ``config`` that do not decide whether results can be reused (paths: the same
        models and images moved elsewhere are the same run)."""
        self.folder = partial_folder(folder)
        self.config = canonical(config)
        config_path = osp.join(self.folder, 'config.json')
        if osp.isdir(self.folder):
            old = read_record(config_path, 'the settings of the partial results', bad='skip')
            kept = lambda c: {k: v for k, v in c.items() if k not in (*ignore, 'record_format')}  # noqa: E731
            done = self.finished()
            if old is None:
                set_aside(self.folder, 'partial results without readable settings')
            elif kept(old) != kept(self.config) and not force:
                raise InputError(f'{self.folder}: partial results of an interrupted run with other settings '
                                 f'({key_difference(kept(old), kept(self.config))}); pass --force to discard them '
                                 'and start over')
            elif not resume and not force and done:
                raise InputError(f'{self.folder}: partial results of an interrupted run ({len(done)} image(s) '
                                 'finished); pass --resume to continue it, or --force to start over')
            elif kept(old) != kept(self.config) or not resume:
                shutil.rmtree(self.folder)
        self.created = not osp.isdir(self.folder)
        os.makedirs(self.folder, exist_ok=True)
        files.write_bytes(config_path, record_bytes(self.config))

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
            set_aside(path, 'a partial result that cannot be read (truncated?); it is computed again')
            return None

    def put(self, name, arrays):
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        try:
            files.write_bytes(self._path(name), buffer.getvalue())
        except InputError as exc:
            raise WriteError(f'{exc}; the images finished before are kept in {self.folder} for --resume') from None

    def clear(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def discard(self):
        """After an error: remove the folder if this run made it (a resumed run's earlier work stays)."""
        if self.created:
            self.clear()


# ---- one run's outputs -----------------------------------------------------------------------

class RunOutputs:
    """The output folder of one run, under the rules above (a context manager).

    Entering checks that the folder is not an input (``inputs``, ``input_files``, ``dataroots``: as
    :func:`check_not_inputs`), takes its lock and claims it for ``key`` (:attr:`state`: 'new', 'same' or 'forced';
    results of other settings need ``force``, or ``resume`` when the partial results there are of this key, their
    settings less ``partial_ignore``). :meth:`partial` opens the per-image results, :meth:`commit` lands the final
    files together (``meta.json`` carries ``run_key``) and drops the partial results."""

    def __init__(self, folder, key, result_files, force=False, resume=False, inputs=None, input_files=(),
                 dataroots=(), flag='output folder', record='meta.json', partial_ignore=None):
        self.folder, self.key, self.result_files = folder, canonical(key), tuple(result_files)
        self.force, self.resume, self.record = force, resume, record
        self.checks = ({flag: folder}, inputs or {}, dataroots, input_files)
        self.partial_ignore = partial_ignore
        self.lock = FolderLock(folder)
        self.state = None
        self.store = None

    def __enter__(self):
        check_not_inputs(*self.checks)
        if self.partial_ignore is not None:
            partial_folder(self.folder)  # before any work: a file or a link where the partial results go
        self.lock.acquire()
        try:
            self.state = claim_results(self.folder, self.key, self.force or self._continuing(), self.result_files,
                                       self.record or 'meta.json', resumable=self.partial_ignore is not None)
        except BaseException:
            self.lock.release()
            raise
        return self

    def _continuing(self):
        """A ``--resume`` of a run of this key that was started with ``--force`` and stopped may replace what it
        was started to replace."""
        if not self.resume or self.partial_ignore is None:
            return False
        previous = previous_partial(self.folder)
        return previous is not None and canonical(
            {k: v for k, v in previous.items() if k not in (*self.partial_ignore, 'record_format')}) == self.key

    @property
    def up_to_date(self):
        """Whether the folder holds this key's results already (and ``--resume`` asks to keep them)."""
        return self.state == 'same' and self.resume

    def partial(self, config, ignore=()):
        self.store = PartialStore(self.folder, config, self.resume, self.force, ignore)
        return self.store

    def commit(self, new_files):
        commit_files(self.folder, new_files, replaces=self.result_files,
                     record=self.record if self.record in new_files else None)
        if self.store is not None:
            self.store.clear()

    def __exit__(self, *exc):
        self.lock.release()


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
