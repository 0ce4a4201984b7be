"""A training run as the project's scripts see it: the option file read as data (never ``eval()``ed as by BasicSR's
parser), train.py started in a process of its own, its logs and its training time. No torch or basicsr import, so
that a script that only starts train.py starts at once (faig.training checks the options in train.py's process).
"""
import contextlib
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import tempfile
import time

import yaml

from faig import safe_yaml
from faig.errors import InputError


def read_options(opt_path, force_yml=None):
    """The options of the YAML file ``opt_path`` with ``--force_yml`` applied, read as data (faig.safe_yaml)."""
    if not osp.isfile(opt_path):
        raise InputError(f'{opt_path}: option file not found')
    opt = safe_yaml.load_file(opt_path)
    if not isinstance(opt, dict):
        raise InputError(f'{opt_path}: expected a mapping of options')
    return apply_force_yml(opt_path, opt, force_yml)


def apply_force_yml(opt_path, opt, entries):
    """Apply ``--force_yml a:b=value`` overrides to ``opt``. The value is read as YAML reads it (``no`` is false,
    ``[1, 2]`` a list, ``'[v2] a.pth'`` a text), never evaluated: basicsr's own parser ``eval()``s a value
    starting with ``[``, and train.py does not use it. A malformed entry, a value that is not YAML or a
    missing parent section is an InputError."""
    for entry in entries or ():
        keys, sep, text = (part.strip() for part in entry.partition('='))
        if not sep or not keys:
            raise InputError(f'--force_yml: expected section:key=value, got {entry!r}')
        if not text:
            raise InputError(f'--force_yml: {entry!r}: no value (write ~ for none)')
        try:
            value = safe_yaml.parse_value(text, f'--force_yml: {entry!r}')
        except InputError as exc:
            raise InputError(f'{exc}; quote a text value: {keys}="..."') from None
        set_option(opt, keys, value, f'--force_yml: {entry!r}: ', opt_path)
    return opt


def set_option(opt, keys, value, where, opt_path):
    """``opt[a][b] = value`` for ``keys`` ``a:b`` (the parent sections must exist); ``where`` starts the error."""
    *parents, last = keys.split(':')
    section = opt
    for depth, key in enumerate(parents):
        if not isinstance(section, dict) or key not in section:
            raise InputError(f'{where}{opt_path} has no section {":".join(parents[:depth + 1])!r}')
        section = section[key]
    if not isinstance(section, dict) or not last:
        raise InputError(f'{where}{":".join(parents) or "the top level"} is not a section')
    section[last] = value


@contextlib.contextmanager
def options_file(config, settings):
    """A copy of the option file ``config`` with ``settings`` ({'section:key': value}) set, in a temporary folder
    (removed afterwards; train.py copies the file into the experiment folder): how the project's scripts give
    train.py paths and other values as data, not as --force_yml text that would be parsed again."""
    opt = read_options(config)
    for keys, value in settings.items():
        set_option(opt, keys, value, f'{keys}: ', config)
    with tempfile.TemporaryDirectory(prefix='faig-options-') as folder:
        path = osp.join(folder, osp.basename(config))
        with open(path, 'w', encoding='utf-8') as f:
            yaml.safe_dump(opt, f, sort_keys=False, allow_unicode=True)
        yield path


def train_in_subprocess(root, config, settings=None, force_yml=()):
    """``train.py -opt <config> --auto_resume`` in a process of its own (BasicSR configures its logger once per
    process), with ``settings`` ({'section:key': value}) set in a copy of ``config`` as data (never as --force_yml
    text, which would be parsed again); exits with train.py's status when it fails (it said why). Returns the
    wall seconds."""
    start = time.time()
    with contextlib.ExitStack() as stack:
        run_config = stack.enter_context(options_file(config, settings)) if settings else config
        command = [sys.executable, osp.join(root, 'train.py'), '-opt', run_config, '--auto_resume',
                   *(['--force_yml', *force_yml] if force_yml else [])]
        print(f'$ {" ".join(command)}' + (f'  ({config} with {settings})' if settings else ''), flush=True)
        code = subprocess.run(command, cwd=root).returncode
    if code:
        sys.exit(code)
    return time.time() - start


def run_logs(experiment):
    """The BasicSR logs of the run in the folder ``experiment``, in the order they were written: one per sitting,
    so a run resumed later has several."""
    return sorted(glob.glob(osp.join(experiment, 'train_*.log')), key=osp.getmtime)


def copy_logs(experiment, out_path):
    """Keep the run's logs (losses, validation PSNRs), joined in order, in ``out_path``."""
    logs = run_logs(experiment)
    if logs:
        os.makedirs(osp.dirname(out_path), exist_ok=True)
        with open(out_path, 'wb') as out:
            for log in logs:
                with open(log, 'rb') as f:
                    out.write(f.read())


def logged_seconds(experiment):
    """Training time of the run: for each of its logs, the seconds between its first and last time stamp, summed
    (the time between sittings is not counted); None without a time stamp."""
    total, found = 0.0, False
    for log in run_logs(experiment):
        with open(log) as f:
            stamps = [time.mktime(time.strptime(match.group(1), '%Y-%m-%d %H:%M:%S')) for match in
                      (re.match(r'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)', line) for line in f) if match]
        if stamps:
            total, found = total + max(stamps) - min(stamps), True
    return round(total, 1) if found else None
