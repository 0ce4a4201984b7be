"""The original project's FAIG algorithm, written out for comparison in benchmarks only.

As in the original scripts: for each degradation's pass over the images, every image pair
is processed (so each pair twice in all), and at every step the network is rebuilt (with
its random initialisation) and loaded from an interpolated state dict. Arithmetic follows
the paper's Eq. 6-7 in float32.
"""
import numpy as np
import torch

from faig.networks import build_network


def single_image(net_opt, img1, img2, gt, baseline, target, total_step, conv_names):
    grads1 = {k: 0 for k in conv_names}
    grads2 = {k: 0 for k in conv_names}
    criterion = torch.nn.MSELoss(reduction='sum')
    for step in range(total_step):
        alpha = step / total_step
        net = build_network(net_opt).eval().to(gt.device)
        net.load_state_dict({k: alpha * baseline[k] + (1 - alpha) * target[k] for k in baseline})
        for img, store in ((img1, grads1), (img2, grads2)):
            net.zero_grad()
            criterion(gt, net(img)).backward()
            params = dict(net.named_parameters())
            for k in conv_names:
                store[k] = store[k] + params[k].grad.reshape(-1, *params[k].shape[2:])
    def scores(grads):
        parts = []
        for k in conv_names:
            diff = (baseline[k] - target[k]).reshape(-1, *baseline[k].shape[2:])
            parts.append(torch.sum(torch.sum(abs(grads[k] * diff / total_step), dim=1), dim=1))
        return torch.cat(parts)
    return (scores(grads1) - scores(grads2)).cpu().numpy()


def faig_rankings(net_opt, baseline, target, images, total_step):
    """{'blur': ranking, 'noise': ranking} and the blur scores, the original's way."""
    conv_names = [k for k, v in target.items() if v.ndim == 4]
    totals = {}
    for first, second in (('noise', 'blur'), ('blur', 'noise')):
        total = 0.0
        for entry in images.values():
            total = total + single_image(net_opt, entry[first], entry[second], entry['gt'], baseline, target, total_step,
                                         conv_names)
        totals[first] = total
    return {deg: np.argsort(s)[::-1] for deg, s in totals.items()}, totals['blur']


def ig_rankings(net_opt, target, images, total_step):
    """{'blur': ranking, 'noise': ranking} and the blur scores of the original IG script: one forward+backward
    of the summed output per path node and image, gradients accumulated, sum |.| per filter / N."""
    conv_names = [k for k, v in target.items() if v.ndim == 4]
    net = build_network(net_opt).eval().to(next(iter(target.values())).device)
    net.load_state_dict(target)
    totals = {}
    for deg in ('blur', 'noise'):
        total = 0.0
        for entry in images.values():
            grads = {k: 0 for k in conv_names}
            for step in range(total_step):
                net.zero_grad()
                net(entry['clean'] + step / total_step * (entry[deg] - entry['clean'])).sum().backward()
                params = dict(net.named_parameters())
                for k in conv_names:
                    grads[k] = grads[k] + params[k].grad.reshape(-1, *params[k].shape[2:])
            total = total + torch.cat([torch.sum(torch.sum(abs(grads[k]), dim=1), dim=1) / total_step
                                       for k in conv_names]).cpu().numpy()
        totals[deg] = total
    return {deg: np.argsort(s)[::-1] for deg, s in totals.items()}, totals['blur']
