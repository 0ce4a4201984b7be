"""Building networks from BasicSR-style options and loading checkpoints.

A network is described as in BasicSR YAMLs: ``{'type': <registered arch>, **kwargs}``.
The two networks of the paper have specs (faig.specs); any registered arch (EDSR, RRDBNet,
a user's own) works through the same options.
"""
import json
import os.path as osp
from copy import deepcopy

from faig import safe_yaml
from faig.errors import InputError, one_line
from faig.specs import network


def preset(name, scale):
    """Options of a paper network at ``scale``."""
    return network(name).options(scale)


def parse_network_option(text):
    """``--network_g`` value: a YAML file (whole file or its ``network_g`` entry) or inline YAML/JSON."""
    if osp.isfile(text):
        source = text
        opt = safe_yaml.load_file(text)
        opt = opt.get('network_g', opt) if isinstance(opt, dict) else opt
    else:
        source = '--network_g'
        if text.lower().endswith(('.yml', '.yaml', '.json')) and not any(c in text for c in '{}:\n'):
            raise InputError(f'{text}: file not found (--network_g: a YAML file or inline YAML)')
        try:
            opt = json.loads(text)
        except json.JSONDecodeError:
            opt = safe_yaml.load(text, source)
    if not isinstance(opt, dict) or 'type' not in opt:
        raise InputError(f'{source}: network option must be a mapping with a "type" (a registered arch)')
    return opt


def network_class(arch):
    """The registered class of arch ``arch``; refused in one line before anything else is looked at."""
    from faig.registration import arch_class
    cls = arch_class(arch)
    if cls is None:
        from basicsr.utils.registry import ARCH_REGISTRY
        raise InputError(f'--network_g: type {arch!r} is not a registered arch; registered: '
                         f'{", ".join(sorted(name for name, _ in ARCH_REGISTRY))}')
    return cls


def build_network(opt):
    """Instantiate a registered arch from its options (without touching ``opt``). The class comes from
    BasicSR's registry (faig.registration.arch_class: the paper's two archs without the full basicsr import)."""
    opt = deepcopy(opt)
    arch = opt.pop('type')
    cls = network_class(arch)
    try:
        return cls(**opt)
    except (TypeError, ValueError, AssertionError, RuntimeError) as exc:
        raise InputError(f'--network_g: cannot build {arch} with {opt} ({one_line(exc)})') from None


WRAPPER_PREFIX = 'module.'  # what torch.nn.DataParallel / DistributedDataParallel put before every name


def load_params(path, param_key=None):
    """Tensor dict of a checkpoint: :func:`load_checkpoint` without the record of what was read."""
    return load_checkpoint(path, param_key)[0]


def load_checkpoint(path, param_key=None):
    """(tensor dict, record) of a checkpoint (``weights_only=True``): ``params_ema`` if present, else ``params``.

    Plain state dicts (no ``params`` wrapper) are accepted too, and so are those saved from a
    DataParallel / DistributedDataParallel wrapper, whose every name starts with ``module.``: the prefix is
    stripped. Values saved as ``nn.Parameter`` (``torch.save({'params': dict(net.named_parameters())})``)
    or as tensors that require grad are detached: the tensors are always plain, without autograd history.
    ``record``: {'key': the entry read (``params_ema``, ``params``, or None for a plain state dict),
    'stripped_prefix': ``'module.'`` or None} -- what a ranking's meta.json says it was computed from.
    """
    import torch
    state = read_checkpoint(path)
    if param_key is not None:
        if param_key not in state:
            raise InputError(f'{path}: no {param_key!r} in checkpoint (keys: {", ".join(map(str, state))})')
        key = param_key
        params = state[param_key]
    else:
        key = next((k for k in ('params_ema', 'params') if k in state), None)
        if key is None and not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise InputError(f'{path}: no params_ema/params in checkpoint (keys: {", ".join(map(str, state))})')
        params = state[key] if key else state
    if not isinstance(params, dict) or not all(isinstance(v, torch.Tensor) for v in params.values()):
        raise InputError(f'{path}: parameters are not a dict of tensors')
    params, stripped = strip_wrapper_prefix(params)
    if any(isinstance(v, torch.nn.Parameter) or v.requires_grad for v in params.values()):
        params = {name: value.detach() for name, value in params.items()}
    check_finite(params, path)
    return params, {'key': key, 'stripped_prefix': stripped}


def read_checkpoint(path):
    """The dict a checkpoint file holds (``torch.load(..., weights_only=True)`` on the CPU): the one reader of model
    files; a missing, empty, unloadable or non-dict file is one InputError naming it."""
    import torch
    if not osp.isfile(path):
        raise InputError(f'{path}: checkpoint not found')
    if osp.getsize(path) == 0:
        raise InputError(f'{path}: empty file (0 bytes), not a checkpoint')
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling error is a bad file for the user
        raise InputError(f'{path}: not a loadable checkpoint ({type(exc).__name__}: {one_line(exc)})') from None
    if not isinstance(state, dict):
        raise InputError(f'{path}: checkpoint is not a dict of tensors')
    return state


def strip_wrapper_prefix(params):
    """(params without the ``module.`` of a DataParallel / DDP wrapper, the prefix stripped or None). Only a
    prefix on every name is a wrapper's; names that merely start with it in some layers are left alone."""
    names = list(params)
    if names and all(isinstance(n, str) and n.startswith(WRAPPER_PREFIX) for n in names):
        return {n[len(WRAPPER_PREFIX):]: v for n, v in params.items()}, WRAPPER_PREFIX
    return params, None


def check_finite(params, path):
    """A NaN or inf weight would turn every score into NaN: refuse the checkpoint instead."""
    import torch
    for name, value in params.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise InputError(f'{path}: {bad} non-finite value(s) (NaN/inf) in {name}')


def check_compatible(baseline, target, baseline_name='baseline', target_name='target'):
    """Baseline and target must have identical keys and shapes."""
    missing = sorted(set(baseline) ^ set(target))
    if missing:
        raise InputError(f'{baseline_name} and {target_name} checkpoints have different keys: {", ".join(missing[:8])}')
    for k in baseline:
        if tuple(baseline[k].shape) != tuple(target[k].shape):
            raise InputError(f'{baseline_name} and {target_name} checkpoints differ in shape at {k}: '
                             f'{tuple(baseline[k].shape)} vs {tuple(target[k].shape)}')


def fit(net, params, path, opt):
    """Load ``params`` into ``net`` strictly; a checkpoint of another arch or scale is a user error."""
    try:
        net.load_state_dict(params, strict=True)
    except RuntimeError as exc:
        raise InputError(f'{path}: does not fit network {opt["type"]} {arch_summary(opt)} ({one_line(exc)})') from None
    return net


def arch_summary(opt):
    return '(' + ', '.join(f'{k}={v}' for k, v in opt.items() if k != 'type') + ')'


def load_network(opt, path, param_key=None, device='cpu'):
    """Build the network of ``opt`` and load ``path`` into it strictly; eval mode, on ``device``."""
    net = fit(build_network(opt), load_params(path, param_key), path, opt)
    return net.eval().to(device)


def load_model_pair(opt, baseline_path, target_path, param_key=None):
    """(network holding the target weights, baseline state dict, target state dict), checked:
    both checkpoints finite, with the same keys and shapes, and fitting the network."""
    baseline = load_params(baseline_path, param_key)
    target = load_params(target_path, param_key)
    check_compatible(baseline, target, baseline_path, target_path)
    net = fit(build_network(opt), target, target_path, opt)
    return net.eval(), baseline, target
