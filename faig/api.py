"""The attribution methods for Python, in the shape of Captum: constructed with the networks,
``attribute(inputs, ...)`` returns a :class:`~faig.scores.FilterScores`.

    scores = FAIG(target_net, baseline=baseline_net).attribute(
        inputs={'blur': lr_blurry, 'noise': lr_noisy}, gt=hr, n_steps=100)
    scores.ranking('blur', 'noise')            # the original's blur_index.txt

Each class wraps the method of the command-line tools (faig.attribution.methods): the same per-image
computation, the same sums, so the same index files. The caller's networks, state dicts and tensors are
never changed: the networks are copied (the path between the two models is walked in the copy), and so
are the weights read from them.

``inputs``: {degradation: tensor} with ``gt`` (FAIG) or ``clean`` (IG) beside it -- a tensor is one image
``(C, H, W)`` or a batch ``(N, C, H, W)`` -- or an iterable (a list, a DataLoader) of such dicts, each holding
its own ``'gt'`` / ``'clean'`` entry (one image set may hold both and serve every method; entries that are not
tensors, such as file names, are left aside, a ``'name'`` entry names the images). Over several images the
scores are the sum of the per-image scores, as the original computes them (|integral of grad * delta theta|
per image, then summed): a batch gives exactly the sum of its single images.
"""
import copy
from collections.abc import Mapping

import numpy as np
import torch

from faig.attribution.filters import require_weight_change, space_for_network
from faig.attribution.methods import AbsoluteFilterChange as AbsoluteFilterChangeMethod
from faig.attribution.methods import FAIG as FAIGMethod
from faig.attribution.methods import IG as IGMethod
from faig.attribution.methods import AttributionContext
from faig.attribution.methods import RandomRanking
from faig.attribution.path import check_compatible
from faig.scores import FilterScores
from faig.specs import DEFAULT_PAIR
from faig.store import state_digest

DEFAULT_DEGRADATIONS = tuple(DEFAULT_PAIR)
ROLES = ('gt', 'clean')  # image roles besides the degradations: never taken for a degradation


def weights_of(model, what):
    """A private copy of the tensors of ``model`` (a network or a state dict): detached clones, so that
    nothing done here reaches the caller's tensors, nor anything the caller does reaches the attribution."""
    if isinstance(model, torch.nn.Module):
        model = model.state_dict()
    if not isinstance(model, Mapping) or not all(torch.is_tensor(v) for v in model.values()):
        raise TypeError(f'{what}: give a network (nn.Module) or its state dict')
    return {k: v.detach().clone() for k, v in model.items()}


def working_copy(net, device=None):
    """A copy of the caller's network to compute in: eval mode, gradients on, on ``device``."""
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f'the target must be a network (nn.Module), got {type(net).__name__}')
    work = copy.deepcopy(net).eval()
    if device is not None:
        work = work.to(device)
    return work.requires_grad_(True)


def network_device(net):
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f'the target must be a network (nn.Module), got {type(net).__name__}')
    first = next(iter(net.parameters()), None)
    return first.device if first is not None else torch.device('cpu')


def image_sets(inputs, roles, degradations=None, **given):
    """Single-image sets {role: (1, C, H, W) tensor} and their names, from any accepted form of ``inputs``
    (see the module docstring). ``given``: the role tensors passed beside a dict (``gt=...``, ``clean=...``)."""
    if isinstance(inputs, Mapping):
        items = [{**inputs, **{r: t for r, t in given.items() if t is not None}}]
    else:
        if any(t is not None for t in given.values()):
            raise ValueError(f'an iterable of image sets carries its own {" / ".join(given)} in each item')
        items = inputs
    sets, names = [], []
    for item in items:
        if not isinstance(item, Mapping):
            raise TypeError(f'each image set is a dict of tensors ({{"{DEFAULT_PAIR[0]}": ..., '
                            f'"{DEFAULT_PAIR[1]}": ..., {", ".join(repr(r) for r in roles)}: ...}}), '
                            f'got {type(item).__name__}')
        tensors = {k: v for k, v in item.items() if torch.is_tensor(v)}
        degs = tuple(degradations) if degradations else tuple(k for k in tensors if k not in ROLES)
        degradations = degs  # the first set names them for every other
        for role in (*roles, *degs):
            if role not in tensors:
                raise ValueError(f'image set without {role!r} (has {", ".join(tensors) or "no tensors"})')
        batch = {k: tensors[k] if tensors[k].ndim == 4 else tensors[k].unsqueeze(0) for k in (*roles, *degs)}
        sizes = {k: t.shape[0] for k, t in batch.items()}
        if len(set(sizes.values())) != 1 or any(t.ndim != 4 for t in batch.values()):
            raise ValueError(f'image tensors must be (C, H, W) or (N, C, H, W) with one N, got '
                             f'{ {k: tuple(t.shape) for k, t in batch.items()} }')
        item_names = item.get('name')
        if isinstance(item_names, str):
            item_names = [item_names]
        for i in range(next(iter(sizes.values()))):
            sets.append({k: t[i:i + 1] for k, t in batch.items()})
            names.append(str(item_names[i]) if item_names is not None and i < len(item_names)
                         else f'image{len(names)}')
    if not sets:
        raise ValueError('no images to attribute')
    return sets, names, degs


class Attribution:
    """Base of the methods: the networks, the filter space, the core method wrapped."""
    name = None
    roles = ()

    def __init__(self, target, baseline=None, layers=None, device=None):
        self.device = torch.device(device) if device is not None else network_device(target)
        self.net = working_copy(target, self.device)
        self.target = weights_of(self.net, 'target')
        self.baseline = weights_of(baseline, 'baseline') if baseline is not None else None
        if self.baseline is not None:
            check_compatible(self.baseline, self.target)
        self.space = space_for_network(self.net, layers)
        self.layers = layers

    def _context(self, degradations):
        return AttributionContext(self.net, self.baseline, self.target, self.space, self.device, tuple(degradations))

    def _meta(self, method, degradations):
        meta = {**method.config(), 'degradations': list(degradations), 'network_class': type(self.net).__name__,
                'target': state_digest(self.target)}
        if self.baseline is not None:
            meta['baseline'] = state_digest(self.baseline)
        if self.layers:
            meta['layers'] = list(self.layers) if not isinstance(self.layers, str) else [self.layers]
        return meta

    def _run(self, method, inputs, degradations, progress, **given):
        """Per-image results of the core ``method`` on every image set of ``inputs``."""
        sets, names, degs = image_sets(inputs, self.roles, degradations, **given)
        method.setup(self._context(degs))
        results = []
        with torch.enable_grad():
            for images in sets:
                images = {k: v.to(self.device) for k, v in images.items()}
                results.append(method.attribute(images, progress=progress))
        return results, names, degs


class FAIG(Attribution):
    """FAIG: integrated gradients along the straight line in parameter space from the target network to
    the baseline, times the weight change, summed over each kernel (paper Eq. 6-7).

    Args:
        target: the fine-tuned network (``nn.Module``; not changed).
        baseline: the baseline network or its state dict (same keys and shapes; not changed).
        layers: restrict to some layers (``'body.*,!conv_last.weight'``); indices are then local to them.
        device: where to compute (default: where the target's parameters are).
    """
    name = 'faig'
    roles = ('gt', )

    def __init__(self, target, baseline, layers=None, device=None):
        super().__init__(target, baseline, layers, device)
        require_weight_change(self.space, self.baseline, self.target)

    def attribute(self, inputs, gt=None, n_steps=100, method='riemann_left', internal_batch_size=None,
                  return_convergence_delta=False, precision='fp32', degradations=None, progress=False):
        """Per-filter scores s(x) of every degraded input.

        Args:
            inputs: {degradation: LR tensor} with ``gt`` the HR ground truth, or an iterable of
                {degradation: ..., 'gt': ...} (see the module docstring).
            n_steps, method: quadrature nodes and rule (faig.attribution.quadrature.METHODS; the
                original's: 100, ``riemann_left``, alpha = k/N from the target, alpha=0, towards the baseline).
            internal_batch_size: path nodes evaluated in one batched pass (default 1: one per pass).
            return_convergence_delta: also return {degradation: per-image error of completeness}, the sum of
                all attributions minus L(baseline) - L(target), as Captum returns its delta.
            degradations: which tensor entries are degradations (default: every one but ``gt``).
        Returns:
            :class:`FilterScores` (and the convergence delta).
        """
        core = FAIGMethod(n_steps, method, precision, internal_batch_size or 1)
        results, names, degs = self._run(core, inputs, degradations, progress, gt=gt)
        delta = {d: np.array([r['completeness'][d][2] for r in results]) for d in degs}
        records = [core.image_record(n, r) for n, r in zip(names, results)]
        meta = {**self._meta(core, degs), 'images': records, **core.summary(records)}
        scores = FilterScores(self.name, self.space, degs, per_image=[r['scores'] for r in results],
                              convergence_delta=delta, meta=meta)
        return (scores, delta) if return_convergence_delta else scores


class IG(Attribution):
    """The paper's IG baseline: input-space integrated gradients of the target alone, from the clean LR
    image to each degraded one; per filter, the kernel sum of |integrated parameter gradient|."""
    name = 'ig'
    roles = ('clean', )

    def __init__(self, target, layers=None, device=None):
        super().__init__(target, None, layers, device)

    def attribute(self, inputs, clean=None, n_steps=100, method='riemann_left', degradations=None,
                  progress=False):
        """``inputs``: {degradation: LR tensor} with ``clean`` the clean LR image (bilinear in the
        original), or an iterable of {degradation: ..., 'clean': ...}. Returns :class:`FilterScores`."""
        core = IGMethod(n_steps, method)
        results, names, degs = self._run(core, inputs, degradations, progress, clean=clean)
        meta = {**self._meta(core, degs), 'images': [{'image': n} for n in names]}
        return FilterScores(self.name, self.space, degs, per_image=[r['scores'] for r in results], meta=meta)


class AbsoluteFilterChange(Attribution):
    """|θ−θ̄|: relative weight change per filter, from the two networks alone (no images); the same
    scores for every degradation."""
    name = 'abs_filter_change'

    def __init__(self, target, baseline, layers=None, device=None):
        super().__init__(target, baseline, layers, device)
        require_weight_change(self.space, self.baseline, self.target)

    def attribute(self, inputs=None, degradations=None):
        """``inputs`` is not read (its keys name the degradations, as for the other methods)."""
        degs = tuple(degradations or (list(inputs) if isinstance(inputs, Mapping) else DEFAULT_DEGRADATIONS))
        core = AbsoluteFilterChangeMethod()
        totals = core.attribute_models(self._context(degs))
        return FilterScores(self.name, self.space, degs, totals=totals, meta=self._meta(core, degs))


class RandomFilters(Attribution):
    """Random baseline: one reproducible random permutation of the filters per degradation."""
    name = 'random'

    def __init__(self, target, seed=0, layers=None, device=None):
        super().__init__(target, None, layers, device)
        self.seed = seed

    def attribute(self, inputs=None, degradations=None):
        degs = tuple(degradations or (list(inputs) if isinstance(inputs, Mapping) else DEFAULT_DEGRADATIONS))
        core = RandomRanking(self.seed, self.space.num_filters)
        return FilterScores(self.name, self.space, degs, rankings=core.rankings(degs), meta=self._meta(core, degs))
