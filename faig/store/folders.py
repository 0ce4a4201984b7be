"""Where a run may write, one writer per folder, whose results a folder holds, and final files that land
together."""
import atexit
import contextlib
import glob
import hashlib
import json
import os
import os.path as osp
import shutil
import socket
import stat
import sys
import tempfile
import time

from faig import files
from faig.errors import InputError, WriteError
from faig.files import NAME_MAX, outermost_missing, remove_empty
from faig.store.records import _notice, canonical, key_difference, read_json_or_set_aside, read_record, record_bytes

LOCK = '.lock'
JOURNAL = '.commit.json'
TMP_PREFIX = '.commit-tmp-'


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
