"""Fixes that let basicsr 1.4.2 run on torch 2.14 / torchvision 0.29 on CPU and GPU.

Applied (:func:`apply`, idempotent) before the project first imports basicsr: by faig.registration and
faig.inference. :func:`apply` imports neither torchvision nor basicsr (seconds, which a tool that only builds
one network need not pay; docs/benchmarks.md, "Fixed costs of a whole --fast run").
See docs/environment.md for the facts behind each fix.
"""
import importlib
import os
import os.path as osp
import re
import sys
import types

import torch

from faig.errors import InputError, one_line

STATE_SUFFIX = '.state'
STATE_KEYS = ('epoch', 'iter', 'optimizers', 'schedulers')  # what BaseModel.save_training_state writes
_STATE_NAME = re.compile(r'^(\d+(?:\.\d*)?)\.state$')


FUNCTIONAL_TENSOR = 'torchvision.transforms.functional_tensor'


class RenamedFunctionalTensor(types.ModuleType):
    """``torchvision.transforms.functional_tensor``, which basicsr.data.degradations imports, was renamed
    ``_functional_tensor`` in torchvision 0.15 and removed in 0.17 (the same ``rgb_to_grayscale``). Its names
    resolve on first use, so that putting it in place imports nothing."""

    def __getattr__(self, name):
        return getattr(importlib.import_module('torchvision.transforms._functional_tensor'), name)


def alias_functional_tensor():
    sys.modules.setdefault(FUNCTIONAL_TENSOR, RenamedFunctionalTensor(FUNCTIONAL_TENSOR))


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
    from basicsr.utils.misc import check_resume  # only once basicsr is imported whole (apply)

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


def apply():
    """Put the fixes in place (cheap, idempotent): the ``functional_tensor`` name for basicsr's import, and
    basicsr's ``load_resume_state`` replaced once ``basicsr.train`` has been imported (faig.register imports it)."""
    alias_functional_tensor()
    train = sys.modules.get('basicsr.train')
    if train is not None:
        train.load_resume_state = load_resume_state
