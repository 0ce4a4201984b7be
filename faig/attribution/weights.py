"""Rankings that need no images: relative weight change |theta - theta_bar| and random."""
import numpy as np
import torch

from faig.specs import DEFAULT_PAIR


def absolute_filter_change(space, baseline, target):
    """Per filter sum|theta_target - theta_baseline| / sum|theta_baseline| (float32 numpy).

    A baseline filter that is exactly zero gives +inf if it changed and 0 if it did not
    (the original divided by zero and produced inf/nan).
    """
    names = [e.name for e in space.entries]
    size = space.per_filter({k: baseline[k] for k in names}, 'sum_abs')  # sum|θ_baseline| per filter
    ratio = {}
    for e in space.entries:
        denom = e.broadcast(size[e.offset:e.offset + e.count])  # each element gets its filter's sum (any kind)
        ratio[e.name] = (target[e.name] - baseline[e.name]).abs() / denom  # the original's per-element division
    scores = space.per_filter(ratio, 'sum')
    changed = space.per_filter({k: (target[k] != baseline[k]).float() for k in names}, 'sum') > 0
    zero_base = torch.where(changed, torch.full_like(scores, float('inf')), torch.zeros_like(scores))
    scores = torch.where(size == 0, zero_base, scores)
    return scores.float().cpu().numpy()


def random_rankings(num_filters, seed=0, degradations=DEFAULT_PAIR):
    """One reproducible random permutation per degradation (independent draws)."""
    rng = np.random.default_rng(seed)
    return {deg: rng.permutation(num_filters) for deg in degradations}
