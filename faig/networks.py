"""Building networks from BasicSR-style options and loading checkpoints.

A network is described as in BasicSR YAMLs: ``{'type': <registered arch>, **kwargs}``.
The two networks of the paper have presets; any registered arch (EDSR, RRDBNet, a
user's own) works through the same options.
"""
import json
import os.path as osp
from copy import deepcopy

import torch
import yaml

from faig.errors import InputError

PRESETS = {
    'srresnet': {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 64, 'num_block': 16},
    'srcnn_style': {'type': 'srcnn_style_net'},
}
SCALE_KEYS = {'MSRResNet': 'upscale', 'EDSR': 'upscale', 'RRDBNet': 'scale', 'srcnn_style_net': 'scale'}


def preset(name, scale):
    """Options of a paper network at ``scale``."""
    opt = deepcopy(PRESETS[name])
    opt[SCALE_KEYS[opt['type']]] = scale
    return opt


def parse_network_option(text):
    """``--network_g`` value: a YAML file (whole file or its ``network_g`` entry) or inline YAML/JSON."""
    if osp.isfile(text):
        with open(text) as f:
            opt = yaml.safe_load(f)
        opt = opt.get('network_g', opt) if isinstance(opt, dict) else opt
        source = text
    else:
        try:
            opt = json.loads(text)
        except json.JSONDecodeError:
            opt = yaml.safe_load(text)
        source = '--network_g'
    if not isinstance(opt, dict) or 'type' not in opt:
        raise InputError(f'{source}: network option must be a mapping with a "type" (a registered arch)')
    return opt


def build_network(opt):
    """Instantiate a registered arch from its options (without touching ``opt``)."""
    from basicsr.utils.registry import ARCH_REGISTRY
    opt = deepcopy(opt)
    arch = opt.pop('type')
    if arch not in ARCH_REGISTRY:
        raise InputError(f'network type {arch!r} is not a registered arch; registered: '
                         f'{", ".join(sorted(name for name, _ in ARCH_REGISTRY))}')
    return ARCH_REGISTRY.get(arch)(**opt)


def load_params(path, param_key=None):
    """Tensor dict of a checkpoint (``weights_only=True``): ``params_ema`` if present, else ``params``.

    Plain state dicts (no ``params`` wrapper) are accepted too.
    """
    if not osp.isfile(path):
        raise InputError(f'{path}: checkpoint not found')
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling error is a bad file for the user
        raise InputError(f'{path}: not a loadable checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0]})')
    if not isinstance(state, dict):
        raise InputError(f'{path}: checkpoint is not a dict of tensors')
    if param_key is not None:
        if param_key not in state:
            raise InputError(f'{path}: no {param_key!r} in checkpoint (keys: {", ".join(map(str, state))})')
        return state[param_key]
    for key in ('params_ema', 'params'):
        if key in state:
            return state[key]
    if all(isinstance(v, torch.Tensor) for v in state.values()):
        return state
    raise InputError(f'{path}: no params_ema/params in checkpoint (keys: {", ".join(map(str, state))})')


def load_network(opt, path, param_key=None, device='cpu'):
    """Build the network of ``opt`` and load ``path`` into it strictly; eval mode, on ``device``."""
    net = build_network(opt)
    params = load_params(path, param_key)
    try:
        net.load_state_dict(params, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f'{path}: does not fit network {opt["type"]} ({first})') from exc
    return net.eval().to(device)


def default_device():
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
