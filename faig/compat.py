"""Fixes that let basicsr 1.4.2 run on torch 2.14 / torchvision 0.29 on CPU and GPU.

Applied once (:func:`apply` is idempotent) before the project first imports basicsr:
by faig.registration and faig.inference.
See docs/environment.md for the facts behind each fix.
"""
import importlib
import os.path as osp
import sys

import torch


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


def latest_training_state(states_folder):
    """Path of the highest-iteration ``<iter>.state`` file in ``states_folder``, or None."""
    if not osp.isdir(states_folder):
        return None
    from basicsr.utils import scandir
    iters = [int(float(name[:-len('.state')])) for name in scandir(states_folder, suffix='.state')]
    return osp.join(states_folder, f'{max(iters)}.state') if iters else None


def load_resume_state(opt):
    """CPU-safe replacement for ``basicsr.train.load_resume_state``.

    basicsr maps the state to ``torch.cuda.current_device()`` (crashes without CUDA) and
    looks for ``experiments/<name>`` relative to the working directory; this version maps
    to the device in use and looks under the experiment root of the options.
    """
    from basicsr.utils.misc import check_resume
    path = None
    if opt.get('auto_resume'):
        path = latest_training_state(opt['path']['training_states'])
        if path is not None:
            opt['path']['resume_state'] = path
    elif opt['path'].get('resume_state'):
        path = opt['path']['resume_state']
    if path is None:
        return None
    if torch.cuda.is_available() and opt.get('num_gpu', 0) != 0:
        device_id = torch.cuda.current_device()
        map_location = lambda storage, loc: storage.cuda(device_id)  # noqa: E731
    else:
        map_location = 'cpu'
    state = torch.load(path, map_location=map_location, weights_only=False)
    check_resume(opt, state['iter'])
    return state


def patch_basicsr_train():
    import basicsr.train
    basicsr.train.load_resume_state = load_resume_state


_applied = False


def apply():
    global _applied
    if not _applied:
        alias_functional_tensor()
        patch_basicsr_train()
        _applied = True
