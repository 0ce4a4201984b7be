"""Rankings that need no images: relative weight change |theta - theta_bar| and random."""
import numpy as np
import torch


def absolute_filter_change(space, baseline, target):
    """Per filter sum|theta_target - theta_baseline| / sum|theta_baseline| (float32 numpy).

    A baseline filter that is exactly zero gives +inf if it changed and 0 if it did not
    (the original divided by zero and produced inf/nan).
    """
    parts = []
    for e in space.entries:
        kh, kw = e.shape[2], e.shape[3]
        b = baseline[e.name].reshape(e.count, kh, kw)
        t = target[e.name].reshape(e.count, kh, kw)
        denom = b.abs().sum(dim=1).sum(dim=1)  # the original's order: rows, then columns
        ratio = ((t - b).abs() / denom[:, None, None]).sum(dim=1).sum(dim=1)
        changed = (t != b).flatten(1).any(dim=1)
        zero_base = torch.where(changed, torch.full_like(ratio, float('inf')), torch.zeros_like(ratio))
        parts.append(torch.where(denom == 0, zero_base, ratio))
    scores = torch.cat(parts)
    return scores.float().cpu().numpy()


def random_rankings(num_filters, seed=0, degradations=('blur', 'noise')):
    """One reproducible random permutation per degradation (independent draws)."""
    rng = np.random.default_rng(seed)
    return {deg: rng.permutation(num_filters) for deg in degradations}
