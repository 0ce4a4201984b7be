"""IG baseline of the paper: input-space integrated gradients on the target model only.

Input path x(alpha) = x_clean + alpha (x_degraded - x_clean); objective = sum of the output;
per-filter score = sum over the kernel of |sum_k w_k grad_theta objective(x(alpha_k))|
(no multiplication by the input difference, as in the original).
The original SRResNet script uses alpha_k = k/N, k = 0..N-1, averaged (``riemann_left``);
the SRCNN-style script k = 0..N, summed (``riemann_closed_sum``).
"""
import torch
from tqdm import tqdm

from faig.attribution.faig import uniform_divisor
from faig.attribution.quadrature import quadrature


def ig_image(space, net, clean, degraded, n_steps=100, method='riemann_left', progress=False):
    """Per-filter IG scores (float32 numpy) of one degraded image against its clean LR version."""
    alphas, weights = quadrature(method, n_steps)
    divisor = uniform_divisor(weights)
    params = dict(net.named_parameters())
    names = space.names
    sums = {name: torch.zeros_like(params[name]) for name in names}
    for alpha, weight in tqdm(list(zip(alphas, weights)), desc='input path', leave=False, disable=not progress):
        x = clean + float(alpha) * (degraded - clean)
        grads = torch.autograd.grad(net(x).sum(), [params[n] for n in names])
        for name, g in zip(names, grads):
            sums[name] += g if divisor else float(weight) * g
    # the original: sum(sum(|total_gradient|)) / N  (SRResNet) or without division (closed sum)
    scores = space.per_filter(sums, reduce='sum_abs')
    if divisor and divisor != 1.0:
        scores = scores / divisor
    return scores.float().cpu().numpy()
