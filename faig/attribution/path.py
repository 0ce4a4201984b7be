"""The straight line between two models in parameter space, written into one live network.

The network is built once; moving along the path overwrites its tensors in place
(the original rebuilt and re-initialised the network at every step).
"""
import copy
import hashlib
import os
import platform
import time

import torch

from faig.attribution.modes import CHANNELS_LAST_MARGIN, LAYOUT_REPEATS, LAYOUTS
from faig.errors import InputError
from faig.files import write_bytes
from faig.networks import check_compatible
from faig.store import read_record, record_bytes


def in_layout(tensor, channels_last):
    """A 4-D tensor in channels-last memory when asked (other tensors unchanged)."""
    if channels_last and tensor.ndim == 4:
        return tensor.contiguous(memory_format=torch.channels_last)
    return tensor


class ParameterPath:
    """theta(alpha) = alpha * theta_baseline + (1 - alpha) * theta_target (alpha=0: target).

    Args:
        net: a network whose state dict has the same keys and shapes as both models.
        baseline, target: state dicts (tensors on any device). Both are copied before anything is written
            into ``net``: dicts taken from ``net`` itself share its tensors, and would otherwise move with it.
        channels_last: keep 4-D tensors (weights and inputs) in channels-last layout, which
            oneDNN convolutions run faster on many CPUs; the arithmetic stays fp32.
    """

    def __init__(self, net, baseline, target, device=None, channels_last=False):
        device = device or next(net.parameters()).device
        check_compatible(baseline, target)
        self.channels_last = channels_last
        self.live = net.state_dict()  # tensors sharing storage with the network
        self.keys = [k for k, v in self.live.items() if v.is_floating_point()]
        self.baseline = {k: self._like_live(baseline[k], k, device) for k in self.keys}
        self.target = {k: self._like_live(target[k], k, device) for k in self.keys}
        net.load_state_dict(target, strict=True)
        if channels_last:
            net.to(memory_format=torch.channels_last)
            self.live = net.state_dict()
        self.net = net
        self.delta = {k: self.baseline[k] - self.target[k] for k in self.keys}
        self.param_names = [name for name, _ in net.named_parameters()]
        self.params = [p for _, p in net.named_parameters()]

    def _like_live(self, tensor, key, device):
        """A copy of ``tensor`` (never a view of the caller's, or the network's, storage)."""
        return in_layout(tensor.to(device=device, dtype=self.live[key].dtype, copy=True), self.channels_last)

    def prepare_input(self, x):
        """An input in the layout the network runs in."""
        return in_layout(x, self.channels_last)

    @torch.no_grad()
    def move_to(self, alpha):
        """Write theta(alpha) into the network (the original's arithmetic)."""
        alpha = float(alpha)
        for k in self.keys:
            self.live[k].copy_(alpha * self.baseline[k] + (1 - alpha) * self.target[k])


def time_pass(net, x):
    """Wall time of one forward+backward of ``net`` on ``x``."""
    if x.is_cuda:
        torch.cuda.synchronize(x.device)
    start = time.perf_counter()
    net(x).sum().backward()
    if x.is_cuda:
        torch.cuda.synchronize(x.device)
    return time.perf_counter() - start


def resolve_layout(layout, net, sample, margin=CHANNELS_LAST_MARGIN, cache_path=None, repeats=LAYOUT_REPEATS):
    """``--layout``: ``contiguous``, ``channels_last``, or ``auto`` -- measured here, on this machine and
    network: forward+backward passes of both layouts on ``sample`` (cropped to at most 64x64), taken in
    turns (after one warm-up pass each) so that a change of machine load hits both alike; the best of
    ``repeats`` counts. Channels-last is chosen only when it is faster than ``margin`` times contiguous
    (it helps on some CPUs and hurts on others: docs/benchmarks.md). With ``cache_path`` (a JSON file),
    a measurement is made once per machine, torch version, thread count, network and input size, and
    reused after: no cost per run, and the same choice (hence the same scores) in every run on this machine.
    Returns (channels_last, {layout: seconds} or None)."""
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    if layout != 'auto':
        return layout == 'channels_last', None
    x = sample[..., :64, :64]
    key = layout_cache_key(net, x)
    cached = (read_record(cache_path, 'layout cache', bad='skip') or {}).get(key) if cache_path else None
    if cached:
        return cached['channels_last'], cached['seconds']
    probes = {}
    for name in ('contiguous', 'channels_last'):
        probe = copy.deepcopy(net)
        probe.requires_grad_(True)
        if name == 'channels_last':
            probe = probe.to(memory_format=torch.channels_last)
        probes[name] = (probe, in_layout(x, name == 'channels_last'))
    seconds = {name: float('inf') for name in probes}
    for turn in range(repeats + 1):
        for name, (probe, probe_x) in probes.items():
            t = time_pass(probe, probe_x)
            if turn:  # the first turn is the warm-up
                seconds[name] = min(seconds[name], round(t, 5))
    chosen = seconds['channels_last'] < margin * seconds['contiguous']
    if cache_path:
        write_layout_cache(cache_path, key, {'channels_last': chosen, 'seconds': seconds})
    return chosen, seconds


def layout_cache_key(net, x):
    """What a layout measurement depends on: machine, torch, threads, device, network shapes, input size."""
    device = x.device
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else cpu_name()
    shapes = hashlib.sha1(repr([(k, tuple(v.shape)) for k, v in net.state_dict().items()]).encode()).hexdigest()
    return (f'{where}|{platform.machine()}|torch {torch.__version__}|threads {torch.get_num_threads()}|'
            f'{type(net).__name__} {shapes[:12]}|{tuple(x.shape[-2:])}|{x.dtype}')


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'cpu'


def default_layout_cache():
    """``$XDG_CACHE_HOME/faig/layout.json`` (default ``~/.cache``); FAIG_LAYOUT_CACHE overrides, '' disables."""
    if 'FAIG_LAYOUT_CACHE' in os.environ:
        return os.environ['FAIG_LAYOUT_CACHE'] or None
    root = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(root, 'faig', 'layout.json')


def write_layout_cache(path, key, value):
    """Best effort: a cache that cannot be written only means measuring again next time."""
    data = read_record(path, 'layout cache', bad='skip') or {}
    try:
        write_bytes(path, record_bytes({**data, key: value}))
    except InputError:
        pass
