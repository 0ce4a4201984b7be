"""Substituting (masking) and modulating the discovered filters of the target model.

Masking puts the baseline's kernel slices back at the top-p % filters of a ranking; biases
and every other value stay the target's. Pass the ``space`` the ranking indexes (``space_for_network``
of the network, with its ``layers``): the default, ``FilterSpace(target)``, knows only 4-D conv weights.
"""
import numpy as np

DEFAULT_PROPORTIONS = (1, 3, 5, 10)


def num_selected(num_filters, proportion):
    """How many filters p % is, as the original counted them (``int(total * p / 100)``)."""
    return int(num_filters * proportion / 100)


def top_filters(ranking, proportion, num_filters=None):
    num_filters = len(ranking) if num_filters is None else num_filters
    return np.asarray(ranking)[:num_selected(num_filters, proportion)]


def blend_filters(baseline, target, indices, weight_target, space=None):
    """State dict equal to the target except at ``indices``, where each kernel slice becomes
    ``weight_target * target + (1 - weight_target) * baseline``."""
    if space is None:
        from faig.attribution.filters import FilterSpace
        space = FilterSpace(target)
    result = {k: v.clone() for k, v in target.items()}
    for name, mask in space.weight_masks(indices).items():  # in each weight's own layout (any layer kind)
        if not mask.any():
            continue
        w = result[name]
        mask = mask.to(w.device)
        if weight_target == 0:
            w[mask] = baseline[name].to(w.device)[mask]
        else:
            w[mask] = weight_target * target[name][mask] + (1 - weight_target) * baseline[name].to(w.device)[mask]
    return result


def substitute_filters(baseline, target, indices, space=None):
    """Mask: the baseline's weights at ``indices`` (filter indices), the target's elsewhere."""
    return blend_filters(baseline, target, indices, 0.0, space)


def modulate_filters(baseline, target, indices, lam, space=None):
    """Modulation: lam * target + (1 - lam) * baseline on the chosen filters only.

    lam = 1 gives the target, lam = 0 the masked model, lam > 1 extrapolates."""
    if lam == 1:
        return {k: v.clone() for k, v in target.items()}
    return blend_filters(baseline, target, indices, float(lam), space)
