"""FAIG overhead over the hardware limit: wall time / (passes x one bare forward+backward).

    python benchmarks/bench_overhead.py [--net srresnet srcnn_style] [--steps 20] [--lr_size 64]

A bare pass is one forward+backward of the same network on the same image with no
interpolation, accumulation or reduction. FAIG needs 2 passes per node and image (blurry and
noisy input) plus 2 forwards for the completeness check (the losses at the baseline end; those at the
target end come from the first node's passes).
"""
import torch

from common import bench_parser, bundled_models, command_line, load_test_images, markdown_table, timed, write_section

import faig  # noqa: E402

faig.register()
from faig.attribution.faig import faig_image  # noqa: E402
from faig.attribution.filters import FilterSpace  # noqa: E402
from faig.attribution.path import ParameterPath  # noqa: E402
from faig.networks import build_network  # noqa: E402


def bare_pass_seconds(net, x, gt, repeats):
    params = list(net.parameters())
    def once():
        loss = ((net(x) - gt)**2).sum()
        torch.autograd.grad(loss, params)
    once()  # warm-up
    _, seconds = timed(lambda: [once() for _ in range(repeats)])
    return seconds / repeats


def main():
    parser = bench_parser(__doc__, steps=20, lr_size=64)
    parser.add_argument('--channels_last', action='store_true')
    args = parser.parse_args()
    rows = []
    for net_name in args.net:
        opt, baseline, target = bundled_models(net_name, args.device)
        images = load_test_images(args.dataroot, args.images, args.lr_size, device=args.device)
        net = build_network(opt).eval().to(args.device)
        path = ParameterPath(net, baseline, target, channels_last=args.channels_last)
        first = next(iter(images.values()))
        bare = bare_pass_seconds(net, path.prepare_input(first['blur']), first['gt'], repeats=5)
        space = FilterSpace(target)
        faig_image(space, path, {'blur': first['blur'], 'noise': first['noise']}, first['gt'], 1)  # warm-up
        _, seconds = timed(lambda: [faig_image(space, path, {'blur': e['blur'], 'noise': e['noise']}, e['gt'],
                                               args.steps) for e in images.values()])
        passes = len(images) * 2 * args.steps
        ratio = seconds / (passes * bare)
        row = [net_name, len(images), args.lr_size, args.steps, passes, f'{bare * 1000:.0f}', f'{seconds:.1f}',
               f'{ratio:.3f}']
        print(row, flush=True)
        rows.append(row)
    header = ['net', 'images', 'LR crop', 'steps N', 'passes', 'bare fwd+bwd (ms)', 'FAIG wall (s)',
              'overhead ratio (goal ≤ 1.10)']
    body = ('Wall time of `faig_image` over all images divided by (passes × one bare forward+backward). The '
            'ratio includes the in-place path update, gradient accumulation, the per-filter reduction and the '
            'forwards of the completeness check (2 per image since 2026-11-24, 4 before).\n\n'
            + markdown_table(header, rows))
    layout = ' (channels_last)' if args.channels_last else ''
    write_section(f'2. FAIG overhead over bare passes{layout}', command_line(), body)


if __name__ == '__main__':
    main()
