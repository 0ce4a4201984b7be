"""FAIG on a network of your own, from Python: a tiny SR net defined here (no registration needed), a
baseline trained on clean LR images, a target fine-tuned from it on blurry and noisy ones; then the filters
specific to deblurring and to denoising, where they sit, and what putting the baseline's weights back into
them does to each degradation. About 10 s on one CPU core.

    python examples/own_network.py [--out FOLDER] [--steps N]
"""
import argparse
import copy
import os.path as osp
import tempfile

import torch
import torch.nn.functional as F
from torch import nn

import faig
from faig import FAIG, RandomFilters

SCALE = 2


class TinySR(nn.Module):
    """Conv layers and a pixel shuffle on top of bilinear upsampling: any nn.Module would do."""

    def __init__(self, features=8):
        super().__init__()
        self.conv_first = nn.Conv2d(3, features, 3, padding=1)
        self.body = nn.Sequential(nn.Conv2d(features, features, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(features, features, 3, padding=1), nn.ReLU())
        self.conv_last = nn.Conv2d(features, 3 * SCALE**2, 3, padding=1)

    def forward(self, x):
        residual = F.pixel_shuffle(self.conv_last(self.body(F.relu(self.conv_first(x)))), SCALE)
        return F.interpolate(x, scale_factor=SCALE, mode='bilinear', align_corners=False) + residual


def photos(n, size, generator):
    """Smooth random colour images (n, 3, size, size) in [0, 1], like photos at low frequency."""
    coarse = torch.rand(n, 3, size // 4, size // 4, generator=generator)
    return F.interpolate(coarse, size=(size, size), mode='bicubic', align_corners=False).clamp(0, 1)


def gaussian_blur(hr, sigma=1.5, size=7):
    x = torch.arange(size, dtype=hr.dtype) - size // 2
    kernel = torch.exp(-x**2 / (2 * sigma**2))
    kernel = (kernel[:, None] * kernel[None, :]) / kernel.sum()**2
    weight = kernel.expand(3, 1, size, size)
    return F.conv2d(F.pad(hr, [size // 2] * 4, mode='reflect'), weight, groups=3)


def degrade(hr, kind, generator):
    """LR images: 'clean' (downsampled), 'blur' (blurred, then downsampled), 'noise' (downsampled + noise)."""
    if kind == 'blur':
        hr = gaussian_blur(hr)
    lr = F.avg_pool2d(hr, SCALE)
    if kind == 'noise':
        lr = lr + 0.1 * torch.randn(lr.shape, generator=generator)
    return lr.clamp(0, 1)


def train(net, kinds, iterations, generator):
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    for i in range(iterations):
        hr = photos(8, 32, generator)
        lr = degrade(hr, kinds[i % len(kinds)], generator)
        loss = F.l1_loss(net(lr), hr)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


def psnr(sr, hr):
    return float(10 * torch.log10(1 / F.mse_loss(sr.clamp(0, 1), hr)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default=None, help='folder for the rankings (default: a new temporary folder)')
    parser.add_argument('--steps', type=int, default=30, help='quadrature nodes of the path integral')
    args = parser.parse_args()

    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    baseline = train(TinySR(), ['clean'], 300, generator)
    target = train(copy.deepcopy(baseline), ['clean', 'blur', 'noise'], 300, generator)

    hr = photos(4, 32, generator)
    lr = {kind: degrade(hr, kind, generator) for kind in ('blur', 'noise')}
    scores = FAIG(target, baseline=baseline).attribute(inputs=lr, gt=hr, n_steps=args.steps)
    print(scores)
    print('completeness error per image:', {d: [f'{e:.2g}' for e in v] for d, v in scores.convergence_delta.items()})

    random = RandomFilters(target, seed=0).attribute(lr)
    chosen = {'deblurring': scores.top(5, 'blur', 'noise'), 'denoising': scores.top(5, 'noise', 'blur'),
              'random': random.top(5, 'blur')}
    with torch.no_grad():
        print(f'PSNR (dB)        blurry  noisy    (target: {psnr(target(lr["blur"]), hr):.2f}  '
              f'{psnr(target(lr["noise"]), hr):.2f}; baseline: {psnr(baseline(lr["blur"]), hr):.2f}  '
              f'{psnr(baseline(lr["noise"]), hr):.2f})')
        for name, filters in chosen.items():
            with faig.masked(target, baseline, filters):  # restored exactly when the block ends
                print(f'{len(filters)} {name} filters masked: {psnr(target(lr["blur"]), hr):6.2f} '
                      f'{psnr(target(lr["noise"]), hr):6.2f}')
    for name in ('deblurring', 'denoising'):
        where = {layer: n for layer, n in scores.per_layer_counts(chosen[name]).items() if n}
        print(f'{name} filters by layer: {where}; the first: {scores.locate(chosen[name][0])}')

    out = args.out or osp.join(tempfile.mkdtemp(prefix='faig_own_network_'), 'faig')
    scores.save(out)
    print(f'rankings: {out} (blur_index.txt, noise_index.txt, meta.json)')


if __name__ == '__main__':
    main()
