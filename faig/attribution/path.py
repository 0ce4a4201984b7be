"""The straight line between two models in parameter space, written into one live network.

The network is built once; moving along the path overwrites its tensors in place
(the original rebuilt and re-initialised the network at every step).
"""
import torch


def in_layout(tensor, channels_last):
    """A 4-D tensor in channels-last memory when asked (other tensors unchanged)."""
    if channels_last and tensor.ndim == 4:
        return tensor.contiguous(memory_format=torch.channels_last)
    return tensor


class ParameterPath:
    """theta(alpha) = alpha * theta_baseline + (1 - alpha) * theta_target (alpha=0: target).

    Args:
        net: a network whose state dict has the same keys and shapes as both models.
        baseline, target: state dicts (tensors on any device).
        channels_last: keep 4-D tensors (weights and inputs) in channels-last layout, which
            oneDNN convolutions run faster on many CPUs; the arithmetic stays fp32.
    """

    def __init__(self, net, baseline, target, device=None, channels_last=False):
        device = device or next(net.parameters()).device
        check_compatible(baseline, target)
        net.load_state_dict(target, strict=True)
        self.channels_last = channels_last
        if channels_last:
            net.to(memory_format=torch.channels_last)
        self.net = net
        self.live = net.state_dict()  # tensors sharing storage with the network
        self.keys = [k for k, v in self.live.items() if v.is_floating_point()]
        self.baseline = {k: self._like_live(baseline[k], k, device) for k in self.keys}
        self.target = {k: self._like_live(target[k], k, device) for k in self.keys}
        self.delta = {k: self.baseline[k] - self.target[k] for k in self.keys}
        self.param_names = [name for name, _ in net.named_parameters()]
        self.params = [p for _, p in net.named_parameters()]

    def _like_live(self, tensor, key, device):
        return in_layout(tensor.to(device=device, dtype=self.live[key].dtype), self.channels_last)

    def prepare_input(self, x):
        """An input in the layout the network runs in."""
        return in_layout(x, self.channels_last)

    @torch.no_grad()
    def move_to(self, alpha):
        """Write theta(alpha) into the network (the original's arithmetic)."""
        alpha = float(alpha)
        for k in self.keys:
            self.live[k].copy_(alpha * self.baseline[k] + (1 - alpha) * self.target[k])


def time_pass(net, x, repeats=2):
    """Best wall time of one forward+backward of ``net`` on ``x`` (after a warm-up pass)."""
    import time
    best = float('inf')
    for i in range(repeats + 1):
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        start = time.perf_counter()
        net(x).sum().backward()
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        if i:
            best = min(best, time.perf_counter() - start)
    return best


def resolve_layout(layout, net, sample, margin=0.9):
    """``--layout``: ``contiguous``, ``channels_last``, or ``auto`` -- measured here, on this machine and
    network: one forward+backward of each layout on ``sample`` (cropped to at most 64x64); channels-last
    is chosen only when it is faster than ``margin`` times contiguous (it helps on some CPUs and hurts on
    others: docs/benchmarks.md). Returns (channels_last, {layout: seconds} or None)."""
    from faig.attribution.modes import LAYOUTS
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    if layout != 'auto':
        return layout == 'channels_last', None
    import copy
    x = sample[..., :64, :64]
    seconds = {}
    for name in ('contiguous', 'channels_last'):
        probe = copy.deepcopy(net)
        probe.requires_grad_(True)
        if name == 'channels_last':
            probe = probe.to(memory_format=torch.channels_last)
        seconds[name] = round(time_pass(probe, in_layout(x, name == 'channels_last')), 5)
    return seconds['channels_last'] < margin * seconds['contiguous'], seconds


def check_compatible(baseline, target, baseline_name='baseline', target_name='target'):
    """Baseline and target must have identical keys and shapes."""
    from faig.errors import InputError
    missing = sorted(set(baseline) ^ set(target))
    if missing:
        raise InputError(f'{baseline_name} and {target_name} checkpoints have different keys: {", ".join(missing[:8])}')
    for k in baseline:
        if tuple(baseline[k].shape) != tuple(target[k].shape):
            raise InputError(f'{baseline_name} and {target_name} checkpoints differ in shape at {k}: '
                             f'{tuple(baseline[k].shape)} vs {tuple(target[k].shape)}')
