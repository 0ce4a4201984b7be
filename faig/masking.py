"""Masking and modulating filters of a live network, restored exactly afterwards.

    with masked(target_net, baseline_net, scores.top(1, 'blur', 'noise')):
        sr = target_net(lr_blurry)            # the deblurring filters hold the baseline's weights

The weights written are those of :func:`faig.evaluation.masking.blend_filters` (the masked and modulated
models of the command-line tools, value for value); on exit, even on an exception, every tensor of the
network gets back its own values, bit for bit, in place (the same Parameter objects, so an optimiser
holding them is not disturbed).
"""
import contextlib
from collections.abc import Mapping

import torch

from faig.attribution.filters import FilterSpace
from faig.evaluation.masking import blend_filters


@contextlib.contextmanager
def modulated(net, baseline, filters, lam, space=None):
    """Within the block, ``lam * theta + (1 - lam) * theta_baseline`` on the given filters of ``net``
    (lam = 0: the baseline's weights, masking; 1: unchanged; > 1: the change amplified).

    Args:
        net: the network to change for the block (its other values stay as they are).
        baseline: the baseline network or its state dict.
        filters: filter indices of ``space`` (e.g. ``scores.top(1, 'blur', 'noise')``).
        space: the filter space the indices refer to (``scores.space`` when attributed with ``layers``);
            default: every filter of ``net``.
    """
    if isinstance(baseline, torch.nn.Module):
        baseline = baseline.state_dict()
    if not isinstance(baseline, Mapping):
        raise TypeError('baseline: give a network (nn.Module) or its state dict')
    space = space if space is not None else FilterSpace.of_network(net)
    live = net.state_dict()
    names = [e.name for e in space.entries]
    saved = {k: live[k].detach().clone() for k in names}  # before anything is written (baseline may alias net)
    reference = {k: baseline[k].detach().clone() for k in names}
    try:
        changed = blend_filters(reference, saved, filters, float(lam), space)
        with torch.no_grad():
            for k in names:
                live[k].copy_(changed[k])
        yield net
    finally:
        with torch.no_grad():
            for k in names:
                live[k].copy_(saved[k])


@contextlib.contextmanager
def masked(net, baseline, filters, space=None):
    """Within the block, the given filters of ``net`` hold the baseline's weights (the paper's masking);
    restored exactly on exit. See :func:`modulated`."""
    with modulated(net, baseline, filters, 0.0, space) as changed:
        yield changed
