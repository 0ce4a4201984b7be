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


LAYOUTS = ('auto', 'channels_last', 'contiguous')


def use_channels_last(layout, device):
    """Resolve a ``--layout`` choice. ``auto``: channels-last on CPU, where it was measured to give the
    same top filter sets up to near-ties, 1.1-1.9x faster (docs/benchmarks.md); contiguous elsewhere (unmeasured)."""
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    if layout == 'auto':
        return torch.device(device).type == 'cpu'
    return layout == 'channels_last'


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
