"""Captum's IntegratedGradients as an independent oracle of FAIG's scores.

FAIG is integrated gradients in parameter space: with the parameters as Captum's input (the target's),
the baseline's parameters as Captum's baseline, and the loss as the forward function, Captum's
attributions are -(theta_baseline - theta_target) * G, and FAIG's filter score is the kernel sum of
their absolute values. Captum's path runs from its baseline (FAIG's alpha = 1) to its input (alpha = 0),
so FAIG's ``riemann_left`` nodes (alpha = k/N from the target) are Captum's ``riemann_right`` ones, and
Captum's convergence delta is FAIG's with the sign flipped (docs/captum.md)."""
import captum.attr as captum_attr  # a test requirement (scripts/setup.sh): this check never skips silently
import numpy as np
import pytest
import torch

from faig import FAIG
from faig.networks import build_network

from test_attribution import TINY_NETS

TINY_SWINIR = {'type': 'SwinIR', 'upscale': 2, 'img_size': 8, 'window_size': 4, 'embed_dim': 8, 'depths': [1],
               'num_heads': [2], 'mlp_ratio': 2, 'upsampler': 'pixelshuffledirect'}
NETS = {'msrresnet': TINY_NETS['srresnet'], 'srcnn_style': TINY_NETS['srcnn_style'], 'swinir': TINY_SWINIR}
N_STEPS = 8
TOLERANCE = 1e-5  # of max |score|: float32 rounding of two orders of summation, on any CPU


def net_pair(opt):
    torch.manual_seed(0)
    baseline, target = build_network(opt).eval(), build_network(opt).eval()
    with torch.no_grad():
        for p, q in zip(target.parameters(), baseline.parameters()):
            p.copy_(q + 0.05 * torch.randn_like(q))
    return baseline, target


def captum_filter_scores(target, baseline, x, gt, space):
    """Per-filter |attribution| summed over each kernel, and the convergence delta, from Captum's IG on the
    parameter path (torch.func.functional_call: the forward takes the interpolated parameters)."""
    from torch.func import functional_call
    names = [n for n, _ in target.named_parameters()]
    theta_t = tuple(p.detach().unsqueeze(0) for p in target.parameters())
    theta_b = tuple(dict(baseline.named_parameters())[n].detach().unsqueeze(0) for n in names)

    def loss(*params):  # one loss per path node (Captum stacks the nodes along the first dimension)
        return torch.stack([((functional_call(target, {n: p[k] for n, p in zip(names, params)}, (x, )) - gt)**2).sum()
                            for k in range(params[0].shape[0])])

    ig = captum_attr.IntegratedGradients(loss)
    attributions, delta = ig.attribute(theta_t, baselines=theta_b, n_steps=N_STEPS, method='riemann_right',
                                       return_convergence_delta=True)
    by_name = {n: a[0] for n, a in zip(names, attributions)}
    scores = []
    for entry in space.entries:  # every kind here is (out, in, kernel...) or linear (out, in)
        attribution = by_name[entry.name].detach()
        scores.append(attribution.abs().reshape(entry.out_channels, entry.in_channels, -1).sum(-1).flatten())
    return torch.cat(scores).numpy(), float(delta)


def assert_same_top(ours, theirs, tolerance, share=0.01):
    """The same top-``share`` filters, except swaps across the cut whose scores differ by less than ``tolerance``."""
    k = max(1, int(len(ours) * share))
    mine, other = np.argsort(ours)[::-1][:k], np.argsort(theirs)[::-1][:k]
    for a, b, scores in ((mine, other, theirs), (other, mine, ours)):
        cut = np.sort(scores)[::-1][k - 1]
        for index in set(a) - set(b):
            assert scores[index] >= cut - tolerance, f'filter {index} in one top-{k} only, beyond the tolerance'


@pytest.mark.parametrize('name', list(NETS))
def test_faig_is_captums_integrated_gradients_in_parameter_space(name):
    baseline, target = net_pair(NETS[name])
    g = torch.Generator().manual_seed(1)
    size = 8
    blur, noise = torch.rand(1, 3, size, size, generator=g), torch.rand(1, 3, size, size, generator=g)
    gt = torch.rand(1, 3, 2 * size, 2 * size, generator=g)
    scores, delta = FAIG(target, baseline=baseline).attribute({'blur': blur, 'noise': noise}, gt=gt, n_steps=N_STEPS,
                                                              method='riemann_left', return_convergence_delta=True)
    theirs = {}
    for deg, x in (('blur', blur), ('noise', noise)):
        theirs[deg], their_delta = captum_filter_scores(target, baseline, x, gt, scores.space)
        ours = scores[deg]
        tolerance = TOLERANCE * float(np.abs(ours).max())
        np.testing.assert_allclose(ours, theirs[deg], rtol=0, atol=tolerance)
        assert_same_top(ours, theirs[deg], tolerance)
        # the same completeness error, with Captum's sign (its path runs the other way)
        loss_gap = abs(scores.meta['images'][0][f'completeness_{deg}']['loss_difference'])
        assert abs(delta[deg][0] + their_delta) <= 1e-4 * loss_gap
    ours = scores.discriminative('blur', 'noise')
    theirs_diff = theirs['blur'] - theirs['noise']
    tolerance = TOLERANCE * float(np.abs(np.concatenate([scores['blur'], scores['noise']])).max())
    np.testing.assert_allclose(ours, theirs_diff, rtol=0, atol=2 * tolerance)
    assert_same_top(ours, theirs_diff, 2 * tolerance)
