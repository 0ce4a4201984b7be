"""IG baseline of the paper: input-space integrated gradients on the target model only.

Input path x(alpha) = x_clean + alpha (x_degraded - x_clean); objective = sum of the output;
per-filter score = sum over the kernel of |sum_k w_k grad_theta objective(x(alpha_k))|
(no multiplication by the input difference, as in the original).
The original SRResNet script uses alpha_k = k/N, k = 0..N-1, averaged (``riemann_left``);
the SRCNN-style script k = 0..N, summed (``riemann_closed_sum``).

The weights are the same at every node, so the sum over nodes of the gradients is the gradient of
the (weighted) sum of the objectives: several nodes go through the network as one batch and one
backward pass gives their summed gradient (the original ran one pass per node).
"""
import torch
from tqdm import tqdm

from faig.attribution.faig import uniform_divisor
from faig.attribution.quadrature import quadrature


PIXELS_PER_PASS = 1 << 16  # LR pixels of one batched pass (bounds the activations kept for backward)


def nodes_per_pass_for(x, limit=PIXELS_PER_PASS):
    return max(1, limit // (x.shape[-1] * x.shape[-2]))


def ig_image(space, net, clean, degraded, n_steps=100, method='riemann_left', progress=False, nodes_per_pass=None):
    """Per-filter IG scores (float32 numpy) of one degraded image against its clean LR version.

    ``nodes_per_pass``: path nodes per batched forward+backward (default: as many as fit in
    ``PIXELS_PER_PASS`` LR pixels; 1 = the original's one pass per node)."""
    alphas, weights = quadrature(method, n_steps)
    divisor = uniform_divisor(weights)
    params = dict(net.named_parameters())
    names = space.names
    sums = {name: torch.zeros_like(params[name]) for name in names}
    k = nodes_per_pass or nodes_per_pass_for(clean)
    chunks = [range(i, min(i + k, len(alphas))) for i in range(0, len(alphas), k)]
    for chunk in tqdm(chunks, desc='input path', unit='pass', leave=False, disable=not progress):
        a = torch.tensor([float(alphas[j]) for j in chunk], dtype=clean.dtype, device=clean.device)
        x = clean + a.view(-1, 1, 1, 1) * (degraded - clean)
        per_node = net(x).flatten(1).sum(1)
        if not divisor:
            per_node = per_node * torch.tensor([float(weights[j]) for j in chunk], dtype=per_node.dtype,
                                               device=per_node.device)
        grads = torch.autograd.grad(per_node.sum(), [params[n] for n in names])
        for name, g in zip(names, grads):
            sums[name] += g
    # the original: sum(sum(|total_gradient|)) / N  (SRResNet) or without division (closed sum)
    scores = space.per_filter(sums, reduce='sum_abs')
    if divisor and divisor != 1.0:
        scores = scores / divisor
    return scores.float().cpu().numpy()
