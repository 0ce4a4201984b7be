"""Precision and layout of FAIG passes: fp32, channels_last, bf16 autocast.

    python benchmarks/bench_precision.py [--net srresnet srcnn_style] [--steps 8] [--lr_size 48]

Each variant ranks the filters of the same inputs; the table gives its time and its agreement
with the fp32 ranking (top-1 % / top-10 % overlap, Spearman). bf16 uses CPU autocast (AMX
where present) or CUDA autocast when a GPU is used.
"""
import numpy as np
from scipy.stats import spearmanr

from common import bench_parser, bundled_models, command_line, load_test_images, markdown_table, timed, top_overlap, write_section

import faig  # noqa: E402

faig.register()
from faig.attribution.faig import discriminative, faig_image  # noqa: E402
from faig.attribution.filters import FilterSpace  # noqa: E402
from faig.attribution.path import ParameterPath  # noqa: E402
from faig.attribution.ranking import rank  # noqa: E402
from faig.networks import build_network  # noqa: E402

VARIANTS = {
    'fp32': dict(channels_last=False, precision='fp32'),
    'fp32 channels_last': dict(channels_last=True, precision='fp32'),
    'bf16 autocast': dict(channels_last=False, precision='bf16'),
    'bf16 autocast channels_last': dict(channels_last=True, precision='bf16'),
}


def run(opt, baseline, target, images, steps, variant):
    path = ParameterPath(build_network(opt).eval().to(next(iter(target.values())).device), baseline, target,
                         channels_last=variant['channels_last'])
    space = FilterSpace(target)
    kwargs = dict(precision=variant['precision'])
    first = next(iter(images.values()))
    faig_image(space, path, {'blur': first['blur'], 'noise': first['noise']}, first['gt'], 1, **kwargs)  # warm-up
    total = 0.0
    for entry in images.values():
        scores, _ = faig_image(space, path, {'blur': entry['blur'], 'noise': entry['noise']}, entry['gt'], steps,
                               **kwargs)
        total = total + discriminative(scores, 'blur', 'noise')
    return total


def main():
    parser = bench_parser(__doc__, steps=8, lr_size=48)
    args = parser.parse_args()
    rows = []
    for net_name in args.net:
        opt, baseline, target = bundled_models(net_name, args.device)
        images = load_test_images(args.dataroot, args.images, args.lr_size, device=args.device)
        reference, reference_seconds = None, None
        for name, variant in VARIANTS.items():
            scores, seconds = timed(run, opt, baseline, target, images, args.steps, variant)
            if reference is None:
                reference, reference_seconds = scores, seconds
            r, ref = rank(scores), rank(reference)
            row = [net_name, name, f'{seconds:.1f}', f'{reference_seconds / seconds:.2f}x',
                   f'{top_overlap(r, ref, 0.01):.3f}', f'{top_overlap(r, ref, 0.10):.3f}',
                   f'{spearmanr(scores, reference).statistic:.4f}',
                   f'{np.abs(scores - reference).max() / np.abs(reference).max():.1e}']
            print(row, flush=True)
            rows.append(row)
    header = ['net', 'variant', 'time (s)', 'speed-up vs fp32', 'top-1% overlap', 'top-10% overlap', 'Spearman',
              'max |Δscore| / max|score|']
    body = (f'FAIG blur ranking of {len(args.images)} images (LR centre crops of {args.lr_size} px), N={args.steps} '
            'riemann_left, per variant; agreement is against the fp32 row of the same network.\n\n' +
            markdown_table(header, rows))
    write_section('4. Precision and memory layout', command_line(), body)


if __name__ == '__main__':
    main()
