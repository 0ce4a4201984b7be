"""FAIG: integrated gradients along the parameter path from the target to the baseline model.

For one image x with ground truth y and L(theta) = ||F(theta, x) - y||^2 (sum of squares):
    G = sum_k w_k grad_theta L(theta(alpha_k))          (quadrature of the path integral)
    s_filter(x) = sum over the kernel of |delta ⊙ G|,    delta = theta_baseline - theta_target
With the default rule (riemann_left, alpha_k = k/N, w_k = 1/N) this is the paper's Eq. 6,
with the original's order of operations.

Completeness: sum over all parameters of delta ⊙ G approximates
L(theta_baseline) - L(theta_target) (the path runs from alpha=0, the target, to 1).
"""
import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from faig.attribution.modes import PRECISIONS
from faig.attribution.quadrature import quadrature


def sse(output, gt):
    """Sum of squared errors (the original's ``MSELoss(reduction='sum')``)."""
    return ((gt - output)**2).sum()


@dataclass
class PathIntegral:
    """Integrated gradients of one input along a ParameterPath."""
    grads: dict  # parameter name -> sum_k (w_k or 1) * grad
    divisor: float  # the sums above are divided by this (uniform rules), else 1
    loss_target: float = float('nan')
    loss_baseline: float = float('nan')
    extras: dict = field(default_factory=dict)

    def attribution(self, delta):
        """Per-parameter signed attribution delta ⊙ G (the original's ``grad * diff / N`` order)."""
        return {k: self.grads[k] * delta[k] / self.divisor for k in delta}

    def completeness(self, delta, attribution=None):
        """(sum of all attributions, L(baseline) - L(target), their difference). ``attribution``: this
        integral's :meth:`attribution` of ``delta`` when already computed (the same tensors, not recomputed)."""
        if attribution is None:
            attribution = self.attribution({k: delta[k] for k in self.grads})
        total = sum(float(attribution[k].double().sum()) for k in self.grads)
        expected = self.loss_baseline - self.loss_target
        return total, expected, total - expected


def uniform_divisor(weights):
    """N if all weights equal 1/N (sum the gradients, divide once, as the original); else None."""
    if np.allclose(weights, weights[0], rtol=0, atol=1e-15):
        inv = 1.0 / weights[0]
        if abs(inv - round(inv)) < 1e-9:
            return float(round(inv))
    return None


def autocast_context(precision, device):
    """fp32: exact arithmetic of the original; bf16: autocast (CPU AMX / CUDA tensor cores), approximate."""
    if precision == 'fp32':
        return contextlib.nullcontext()
    if precision == 'bf16':
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')


def full_precision(out):
    """A bf16/fp16 output (autocast) as fp32 for the loss; fp32 and fp64 outputs as they are."""
    return out.float() if out.dtype in (torch.bfloat16, torch.float16) else out


def per_input_grads(net, params, inputs, gt, loss_fn, precision):
    """({input key: tuple of parameter gradients}, {input key: loss as a 0-d tensor}) at the current point
    of the path (one pass per input; the losses stay on the device: reading them would wait for the GPU)."""
    grads, losses = {}, {}
    for key, x in inputs.items():
        with autocast_context(precision, gt.device):
            out = net(x)
        loss = loss_fn(full_precision(out), gt)
        grads[key] = torch.autograd.grad(loss, params)
        losses[key] = loss.detach()
    return grads, losses


def node_batch_grads(path, alphas, inputs, gt, loss_fn, precision):
    """({input key: tuple of per-node parameter gradients, each (len(alphas), *shape)}, {input key: per-node
    losses}): several path nodes in one batched pass (torch.func: vmap over the interpolated weights), for GPUs
    that one node leaves idle."""
    from torch.func import functional_call, grad_and_value, vmap
    net, names = path.net, path.param_names
    a = torch.as_tensor(alphas, dtype=torch.float64)

    def along_path(k):
        view = a.view(-1, *([1] * path.target[k].ndim)).to(path.target[k].device)
        return (view * path.baseline[k] + (1 - view) * path.target[k]).to(path.target[k].dtype)

    stacked = {n: along_path(n) for n in names}
    # float buffers (BatchNorm statistics, ...) move along the path too, as in PathIntegral.move_to; no gradient
    moving = {k: along_path(k) for k in path.keys if k not in stacked}
    fixed = {k: v for k, v in net.state_dict().items() if k not in stacked and k not in moving}
    grads, losses = {}, {}
    for key, x in inputs.items():
        def loss_of(params, buffers, x=x):
            with autocast_context(precision, gt.device):
                out = functional_call(net, {**fixed, **buffers, **params}, (x, ))
            return loss_fn(full_precision(out), gt)
        per_node, values = vmap(grad_and_value(loss_of))(stacked, moving)
        grads[key] = tuple(per_node[n] for n in names)
        losses[key] = values.detach()
    return grads, losses


def integrate_gradients(path, inputs, gt, n_steps=100, method='riemann_left', loss_fn=sse, endpoints=True,
                        progress=False, precision='fp32', nodes_per_pass=1):
    """Path-integrated parameter gradients of ``loss_fn(net(x), gt)`` for every input in ``inputs``.

    Each input costs one forward+backward per node; the network is moved once per node and
    serves all inputs there. ``nodes_per_pass`` > 1 evaluates that many nodes in one batched pass
    (:func:`node_batch_grads`; same sums up to float rounding). With ``endpoints`` the losses at both
    ends of the path are recorded (for :meth:`PathIntegral.completeness`): taken from the node passes
    where alpha=0 or 1 is a node (fp32), else one fp32 forward without gradients per input and end.
    Returns {input key: PathIntegral}.
    """
    alphas, weights = quadrature(method, n_steps)
    divisor = uniform_divisor(weights)
    net, names, params = path.net, path.param_names, path.params
    inputs = {key: path.prepare_input(x) for key, x in inputs.items()}
    sums = {key: {name: torch.zeros_like(p) for name, p in zip(names, params)} for key in inputs}
    chunks = [list(range(i, min(i + nodes_per_pass, len(alphas)))) for i in range(0, len(alphas), nodes_per_pass)]
    end_losses = {0.0: {}, 1.0: {}}  # alpha -> {input key: loss}, filled from nodes at either end
    for chunk in tqdm(chunks, desc='path steps', unit='pass', leave=False, disable=not progress):
        if len(chunk) == 1:
            path.move_to(alphas[chunk[0]])
            grads, losses = per_input_grads(net, params, inputs, gt, loss_fn, precision)
            grads = {k: tuple(g.unsqueeze(0) for g in v) for k, v in grads.items()}
            losses = {k: v.unsqueeze(0) for k, v in losses.items()}
        else:
            grads, losses = node_batch_grads(path, alphas[chunk], inputs, gt, loss_fn, precision)
        for j, node in enumerate(chunk):
            if precision == 'fp32' and float(alphas[node]) in end_losses:
                end_losses[float(alphas[node])] = {key: losses[key][j] for key in inputs}
            scale = 1.0 if divisor else float(weights[node])
            for key in inputs:
                for name, g in zip(names, grads[key]):
                    if scale == 1.0:
                        sums[key][name] += g[j]
                    else:
                        sums[key][name] += scale * g[j]
    results = {key: PathIntegral(sums[key], divisor or 1.0) for key in inputs}
    if endpoints:
        for alpha, attr in ((0.0, 'loss_target'), (1.0, 'loss_baseline')):
            if not end_losses[alpha]:
                path.move_to(alpha)
                with torch.no_grad():  # fp32 whatever the precision of the passes: completeness checks them
                    end_losses[alpha] = {key: loss_fn(net(x), gt) for key, x in inputs.items()}
            for key in inputs:
                setattr(results[key], attr, float(end_losses[alpha][key]))
    path.move_to(0.0)
    return results


def filter_scores(space, integral, delta, attribution=None):
    """s(x): per-filter sum over the kernel of |delta ⊙ G| (1-D tensor, length = number of filters).
    ``attribution``: ``integral.attribution`` of (at least) the filters' parameters, when already computed."""
    if attribution is None:
        attribution = integral.attribution({e.name: delta[e.name] for e in space.entries})
    return space.per_filter(attribution, reduce='sum_abs')


def faig_image(space, path, images, gt, n_steps=100, method='riemann_left', progress=False, precision='fp32',
               nodes_per_pass=1):
    """FAIG scores of one ground truth's degraded versions.

    Args:
        images: {degradation name: LR tensor (1, C, h, w)}, e.g. {'blur': ..., 'noise': ...}.
    Returns:
        scores: {degradation: float32 numpy array of per-filter s(x)}
        completeness: {degradation: (sum of attributions, L(baseline) - L(target), error)}
    """
    integrals = integrate_gradients(path, images, gt, n_steps, method, progress=progress, precision=precision,
                                    nodes_per_pass=nodes_per_pass)
    scores, completeness = {}, {}
    for key, integral in integrals.items():  # delta ⊙ G once per input, for the scores and the completeness
        attribution = integral.attribution({k: path.delta[k] for k in integral.grads})
        scores[key] = filter_scores(space, integral, path.delta, attribution).float().cpu().numpy()
        completeness[key] = integral.completeness(path.delta, attribution)
    return scores, completeness


def discriminative(scores, positive, negative):
    """s(x_positive) - s(x_negative) (paper Eq. 7). The other ranking is its negation."""
    return scores[positive] - scores[negative]
