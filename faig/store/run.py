"""One run's output folder: its claim, its per-image partial results, its final commit."""
import io
import os
import os.path as osp
import shutil
import zipfile

import numpy as np

from faig import files
from faig.errors import InputError, WriteError
from faig.store.folders import FolderLock, check_not_inputs, claim_results, commit_files, odd_entry
from faig.store.records import canonical, key_difference, read_record, record_bytes, set_aside

PARTIAL = '.partial'


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
