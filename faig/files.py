"""Writing a file whole or not at all (temporary file + rename), with the mode a plain ``open`` would give it and
OS errors as one-line input errors naming the path."""
import errno
import hashlib
import os
import os.path as osp
import tempfile

from faig.errors import InputError


def _umask():
    """The process umask, read without changing it where possible (Linux), else via os.umask."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _cannot_write(path, exc, tmp=None):
    """OSError of a write -> InputError naming the path that failed (the final one, not its temporary file)."""
    where = exc.filename if isinstance(exc.filename, str) and exc.filename != tmp else path
    reason = exc.strerror or type(exc).__name__
    return InputError(f'{where}: cannot write ({reason})')


def write_bytes(path, data):
    """Atomically write ``data`` (bytes) to ``path`` (temporary file in the same folder + rename).

    The file gets the mode a new file from ``open(path, 'wb')`` would get, ``0o666 & ~umask``
    (mkstemp alone would leave every output 0600).
    OS errors (folder is a file, no permission, path is a folder, ...) become an InputError
    naming the path.
    """
    folder = osp.dirname(path) or '.'
    try:
        os.makedirs(folder, exist_ok=True)
        mode = 0o666 & ~_umask()
        if osp.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-')  # short: a name near the 255-byte limit still fits
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc, tmp) from exc
        raise


def outermost_missing(folder):
    """The outermost folder on the way to ``folder`` that does not exist yet (None if ``folder`` exists)."""
    folder, missing = osp.abspath(folder), None
    while not osp.lexists(folder):
        folder, missing = osp.dirname(folder), folder
    return missing


def remove_empty(folder, created):
    """Remove ``folder`` and its parents up to ``created`` (the outermost one a run made), where empty."""
    if created is None:
        return
    folder = osp.abspath(folder)
    while folder == created or folder.startswith(created + os.sep):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = osp.dirname(folder)


def require_output_folder(path, flag):
    """An output folder must be creatable and writable: checked before any work is done."""
    probe = osp.abspath(path)
    while not osp.exists(probe):
        probe = osp.dirname(probe)
    if not osp.isdir(probe):
        raise InputError(f'{path}: cannot write here, {probe} is a file ({flag})')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f'{path}: folder is not writable ({flag})')
    created = outermost_missing(path)
    try:  # access() says yes for root on /proc, a read-only mount, ...: try it, in the output folder itself
        os.makedirs(path, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(prefix='.write-check-', dir=path))
    except OSError as exc:
        raise InputError(f'{path}: cannot write here ({exc.strerror or exc}) ({flag})') from None
    finally:
        remove_empty(path, created)  # nothing is left behind


NAME_MAX = 255  # bytes in one file name (Linux, macOS, Windows alike)


def fit_name(name):
    """``name`` if it fits in one file name, else its start, a hash of the whole and its extension, within
    :data:`NAME_MAX` bytes: an output named after an image (``masking_<set>_<image>.png``,
    ``<image>_s001.png``) of a name near the limit still has a distinct name that the file system accepts."""
    raw = name.encode('utf-8', 'surrogateescape')
    if len(raw) <= NAME_MAX:
        return name
    stem, ext = osp.splitext(name)
    tag = '-' + hashlib.sha1(raw).hexdigest()[:12]
    room = NAME_MAX - len(tag.encode()) - len(ext.encode('utf-8', 'surrogateescape'))
    head = stem.encode('utf-8', 'surrogateescape')[:room].decode('utf-8', 'ignore')
    return head + tag + ext
