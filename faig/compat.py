"""Fixes that let basicsr 1.4.2 run on torch 2.14 / torchvision 0.29 on CPU and GPU.

Applied once (:func:`apply` is idempotent) before the project first imports basicsr:
by faig.registration and faig.inference. :func:`apply` imports nothing itself: it installs an import hook
that puts each fix in place when the module it concerns is imported (torchvision and basicsr together cost
seconds to import, which a tool that only builds one network need not pay; docs/benchmarks.md,
"Fixed costs of a whole --fast run").
See docs/environment.md for the facts behind each fix.
"""
import importlib
import importlib.machinery
import importlib.util
import os
import os.path as osp
import re
import sys

import torch

from faig.lazy import pending

STATE_SUFFIX = '.state'
STATE_KEYS = ('epoch', 'iter', 'optimizers', 'schedulers')  # what BaseModel.save_training_state writes
_STATE_NAME = re.compile(r'^(\d+(?:\.\d*)?)\.state$')


def alias_functional_tensor():
    """basicsr.data.degradations imports ``torchvision.transforms.functional_tensor``,
    removed in torchvision 0.17; the private module has the same ``rgb_to_grayscale``."""
    name = 'torchvision.transforms.functional_tensor'
    if name in sys.modules:
        return
    try:
        importlib.import_module(name)
    except ImportError:
        sys.modules[name] = importlib.import_module('torchvision.transforms._functional_tensor')


def training_states(states_folder):
    """``<iter>.state`` files of ``states_folder`` as ``[(iter, path)]``, newest first.

    Files set aside (``<iter>.state.corrupt``) and names that are not an iteration are not listed.
    """
    if not osp.isdir(states_folder):
        return []
    found = []
    for name in os.listdir(states_folder):
        match = _STATE_NAME.match(name)
        if match and osp.isfile(osp.join(states_folder, name)):
            found.append((int(float(match.group(1))), osp.join(states_folder, name)))
    return sorted(found, reverse=True)


def latest_training_state(states_folder):
    """Path of the highest-iteration ``<iter>.state`` file in ``states_folder``, or None (not checked)."""
    states = training_states(states_folder)
    return states[0][1] if states else None


def _one_line(exc):
    from faig.errors import one_line
    return f'{type(exc).__name__}: {one_line(exc)}'


def _load_problem(path, what):
    """``(problem, loaded)``: why ``path`` cannot be loaded with ``torch.load`` (None when it can)."""
    if not osp.isfile(path):
        return f'{what} {path} is missing', None
    if osp.getsize(path) == 0:
        return f'{what} {path} is empty (0 bytes)', None
    try:
        return None, torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file, whatever the unpickler says
        return f'{what} {path} cannot be loaded ({_one_line(exc)})', None


def state_problem(path, models_folder, networks=('g', )):
    """``(problem, state)`` of the training state ``path``: problem is None when training can resume from it.

    A state can resume when it loads (on the CPU), holds what basicsr saves (epoch, iter, optimizers,
    schedulers) and the network files it resumes, ``<models_folder>/net_<name>_<iter>.pth`` for each
    name of ``networks``, exist and load. problem names the first broken file; state is None then.
    """
    problem, state = _load_problem(path, 'the training state')
    if problem:
        return problem, None
    if not isinstance(state, dict) or any(key not in state for key in STATE_KEYS):
        return f'the training state {path} is not a BasicSR training state (no {"/".join(STATE_KEYS)})', None
    for name in networks:
        net_path = osp.join(models_folder, f'net_{name}_{state["iter"]}.pth')
        problem, params = _load_problem(net_path, 'its network file')
        if problem is None and not isinstance(params, dict):
            problem = f'its network file {net_path} is not a dict of parameters'
        if problem:
            return problem, None
    return None, state


def resumed_networks(opt):
    """Names (``g``, ``d``, ...) of the networks that a resumed run loads from the experiment's models
    folder (basicsr's check_resume: all but ``path.ignore_resume_networks``)."""
    ignored = opt.get('path', {}).get('ignore_resume_networks') or []
    return [key[len('network_'):] for key in opt if str(key).startswith('network_') and key not in ignored]


def find_resume_state(states_folder, models_folder, networks=('g', )):
    """The newest training state that training can resume from, and the newer ones it cannot.

    Returns ``(path, state, skipped)``: path and state None when none is intact; skipped lists
    ``(path, problem)`` for the broken states newer than path, newest first. Reads only.
    """
    skipped = []
    for _, path in training_states(states_folder):
        problem, state = state_problem(path, models_folder, networks)
        if problem is None:
            return path, state, skipped
        skipped.append((path, problem))
    return None, None, skipped


def set_aside(path, suffix='.corrupt'):
    """Rename ``path`` to ``<path>.corrupt`` (``.corrupt2``, ... when taken); returns the new path."""
    target, n = path + suffix, 1
    while osp.exists(target):
        n += 1
        target = f'{path}{suffix}{n}'
    os.replace(path, target)
    return target


def _notice(text):
    print(f'notice: {text}', file=sys.stderr, flush=True)


def load_resume_state(opt):
    """CPU-safe replacement for ``basicsr.train.load_resume_state``.

    basicsr maps the state to ``torch.cuda.current_device()`` (crashes without CUDA) and
    looks for ``experiments/<name>`` relative to the working directory; this version maps
    to the device in use and looks under the experiment root of the options.

    ``--auto_resume`` resumes from the newest intact state: a newer ``.state`` that does not load,
    or whose network files (``net_g_<iter>.pth``, ...) are missing or do not load, is renamed to
    ``<iter>.state.corrupt`` (a broken network file to ``.pth.corrupt``) with a one-line notice on
    stderr; with none intact, a ``path.resume_state`` of the options is used, else training starts
    from scratch (with a notice). A broken ``path.resume_state`` is an InputError.
    """
    from basicsr.utils.misc import check_resume

    from faig.errors import InputError
    models_folder = opt['path']['models']
    networks = resumed_networks(opt)
    path = state = None
    if opt.get('auto_resume'):
        states_folder = opt['path']['training_states']
        path, state, skipped = find_resume_state(states_folder, models_folder, networks)
        for bad, problem in skipped:
            _, bad_state = _load_problem(bad, 'the training state')
            aside = set_aside(bad)
            _notice(f'{bad}: cannot resume from it ({problem}); renamed to {osp.basename(aside)}')
            if isinstance(bad_state, dict) and 'iter' in bad_state:  # set its broken network files aside too
                for name in networks:
                    net_path = osp.join(models_folder, f'net_{name}_{bad_state["iter"]}.pth')
                    if osp.isfile(net_path) and _load_problem(net_path, '')[0]:
                        set_aside(net_path)
        if path is not None:
            opt['path']['resume_state'] = path
        elif skipped and not opt['path'].get('resume_state'):
            _notice(f'{states_folder}: no intact training state left; training starts from scratch')
    if path is None and opt['path'].get('resume_state'):
        path = opt['path']['resume_state']
        problem, state = state_problem(path, models_folder, networks)
        if problem:
            raise InputError(f'{path}: cannot resume from this training state (path.resume_state): {problem}')
    if path is None:
        return None
    if torch.cuda.is_available() and opt.get('num_gpu', 0) != 0:
        device_id = torch.cuda.current_device()
        state = torch.load(path, map_location=lambda storage, loc: storage.cuda(device_id), weights_only=True)
    check_resume(opt, state['iter'])
    return state


def patch_basicsr_train(module=None):
    module = module or importlib.import_module('basicsr.train')
    module.load_resume_state = load_resume_state


class _Alias:
    """Loader that serves an existing module under another name (its own spec kept)."""

    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        self.module = importlib.import_module(self.target)
        self.spec = self.module.__spec__
        return self.module

    def exec_module(self, module):
        module.__spec__ = self.spec  # the import system set the alias spec on it


class _AfterExec:
    """Loader wrapper: run the real loader, then ``fix(module)``; the module keeps the real loader."""

    def __init__(self, loader, fix):
        self.loader, self.fix = loader, fix

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.fix(module)


class _CompatFinder:
    """Meta-path hook of the fixes: the ``functional_tensor`` alias when that module is imported and missing;
    BasicSR's ``load_resume_state`` replaced as soon as ``basicsr.train`` has run."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        PathFinder, spec_from_loader = importlib.machinery.PathFinder, importlib.util.spec_from_loader
        if name == 'torchvision.transforms.functional_tensor':
            if PathFinder.find_spec(name, path) is not None:
                return None  # an older torchvision that still has it
            return spec_from_loader(name, _Alias('torchvision.transforms._functional_tensor'))
        if name == 'basicsr.train' and not pending('basicsr'):  # a deferred basicsr runs its __init__ first
            spec = PathFinder.find_spec(name, path)
            if spec is not None:
                spec.loader = _AfterExec(spec.loader, patch_basicsr_train)
            return spec
        return None


_applied = False


def apply():
    """Install the fixes (cheap, idempotent): from now on every import of the modules they concern gets them;
    ones imported already are fixed now."""
    global _applied
    if not _applied:
        sys.meta_path.insert(0, _CompatFinder())
        _applied = True
    train = sys.modules.get('basicsr.train')
    if train is not None and getattr(train, 'load_resume_state', None) is not load_resume_state:
        patch_basicsr_train(train)
