"""Faithful FAIG (faig.attribution) vs the original algorithm, same inputs, one run.

    python benchmarks/bench_faig_vs_original.py [--net srresnet srcnn_style] [--steps 10] [--lr_size 32 48 96]
                                                [--repeats 2]

Times both on centre crops (of each size) of the sample test images with the bundled models, checks that the
rankings agree (top-1 % / top-10 % sets, identical order) for both memory layouts (and the
fast mode with --fast), and writes the table to docs/benchmarks.md.
"""
import os.path as osp
import tempfile

import numpy as np
import torch

from common import (bench_parser, best_of, bundled_models, command_line, load_test_images, markdown_table, timed,
                    top_overlap, write_section)

import faig  # noqa: E402

faig.register()
from faig.attribution.filters import FilterSpace  # noqa: E402
from faig.attribution.faig import discriminative, faig_image  # noqa: E402
from faig.attribution.ig import ig_image  # noqa: E402
from faig.attribution.modes import FAST_MODE  # noqa: E402
from faig.attribution.path import ParameterPath, resolve_layout  # noqa: E402
from faig.attribution.ranking import rank  # noqa: E402
from faig.networks import build_network  # noqa: E402
from original_style import faig_rankings, ig_rankings  # noqa: E402


def ours(net_opt, baseline, target, images, steps, method='riemann_left', layout='contiguous', nodes_per_pass=1,
         layout_cache=None):
    """faig.py's core on the images; ``layout`` as --layout (auto: read from ``layout_cache``, measured there
    first if it does not hold this case)."""
    space = FilterSpace(target)
    net = build_network(net_opt).eval().to(next(iter(target.values())).device)
    net.load_state_dict(target)
    channels_last, _ = resolve_layout(layout, net, next(iter(images.values()))['blur'], cache_path=layout_cache)
    path = ParameterPath(net, baseline, target, channels_last=channels_last)
    total = 0.0
    for entry in images.values():
        scores, _ = faig_image(space, path, {'blur': entry['blur'], 'noise': entry['noise']}, entry['gt'], steps,
                               method, nodes_per_pass=nodes_per_pass)
        total = total + discriminative(scores, 'blur', 'noise')
    return {'blur': rank(total), 'noise': rank(-total)}, total


def ours_ig(net_opt, target, images, steps):
    """ig.py's core (input-path nodes batched) on the images, riemann_left as the original SRResNet script."""
    net = build_network(net_opt).eval().to(next(iter(target.values())).device)
    net.load_state_dict(target)
    space = FilterSpace(target)
    totals = {}
    for deg in ('blur', 'noise'):
        totals[deg] = sum(ig_image(space, net, e['clean'], e[deg], steps, 'riemann_left') for e in images.values())
    return {deg: rank(s) for deg, s in totals.items()}, totals['blur']


def compare_row(label, size, steps, t_orig, t_ours, orig, ours_result, exact):
    """One table row: time and agreement of ``ours_result`` (rankings, scores) with the original's."""
    (orig_rank, orig_scores), (our_rank, our_scores) = orig, ours_result
    row = [label, f'{size}²', steps, f'{t_orig:.1f}', f'{t_ours:.1f}', f'{t_orig / t_ours:.2f}x',
           f'{top_overlap(orig_rank["blur"], our_rank["blur"], 0.01):.4f}',
           f'{top_overlap(orig_rank["noise"], our_rank["noise"], 0.01):.4f}',
           f'{top_overlap(orig_rank["blur"], our_rank["blur"], 0.10):.4f}']
    if exact:
        same = all(np.array_equal(orig_rank[d], our_rank[d]) for d in ('blur', 'noise'))
        rel = np.abs(our_scores - orig_scores).max() / np.abs(orig_scores).max()
        row += ['yes' if same else 'no', f'{rel:.1e}']
    else:
        row += ['-', '-']
    print(row, flush=True)
    return row


def main():
    parser = bench_parser(__doc__, steps=10, lr_size=(48, ))
    parser.add_argument('--fast', action='store_true', help='also time the --fast mode of faig.py on the same inputs')
    parser.add_argument('--ig', action='store_true', help='also time IG (ig.py) against the original IG algorithm')
    parser.add_argument('--nodes_per_pass', type=int, default=1,
                        help='also time the default with this many path nodes per batched pass (GPU option)')
    parser.add_argument('--repeats', type=int, default=1, help='time each variant this many times, keep the least')
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = []
    reps = args.repeats
    workdir = tempfile.TemporaryDirectory()  # layout caches of this run only (removed at exit)
    for net in args.net:
        opt, baseline, target = bundled_models(net, args.device)
        for size in args.lr_size:
            images = load_test_images(args.dataroot, args.images, size, device=args.device)
            # warm-up (oneDNN primitive caches, allocator) so that no variant pays it inside its timing
            faig_rankings(opt, baseline, target, images, 1)
            for layout in ('contiguous', 'channels_last'):
                ours(opt, baseline, target, images, 1, 'riemann_left', layout)
            orig, t_orig = best_of(reps, faig_rankings, opt, baseline, target, images, args.steps)
            # the default reads its layout from the per-machine cache; the first run on a machine measures it once
            cache = osp.join(workdir.name, f'layout_{net}_{size}.json')
            net_for_probe = build_network(opt).to(args.device)
            (chosen, _), t_measure = timed(resolve_layout, 'auto', net_for_probe,
                                           next(iter(images.values()))['blur'], cache_path=cache)
            auto_note = (f'default (--layout auto = {"channels_last" if chosen else "contiguous"} here; '
                         f'measured once per machine in {t_measure:.1f} s, not in this time)')
            for layout, note in (('auto', auto_note), ('contiguous', '--layout contiguous (bit-exact)'),
                                 ('channels_last', '--layout channels_last')):
                result, t = best_of(reps, ours, opt, baseline, target, images, args.steps, 'riemann_left', layout,
                                    layout_cache=cache)
                rows.append(compare_row(f'{net}, {note}', size, args.steps, t_orig, t, orig, result, exact=True))
            if args.ig:
                ig_rankings(opt, target, images, 1)  # warm-up
                orig_ig, t_orig_ig = best_of(reps, ig_rankings, opt, target, images, args.steps)
                result, t = best_of(reps, ours_ig, opt, target, images, args.steps)
                rows.append(compare_row(f'{net}, IG (nodes batched)', size, args.steps, t_orig_ig, t, orig_ig, result,
                                        exact=False))
            if args.nodes_per_pass > 1:
                result, t = best_of(reps, ours, opt, baseline, target, images, args.steps, 'riemann_left', 'auto',
                                    args.nodes_per_pass, layout_cache=cache)
                rows.append(compare_row(f'{net}, --nodes_per_pass {args.nodes_per_pass}', size, args.steps, t_orig, t,
                                        orig, result, exact=True))
            if args.fast:
                fast = FAST_MODE['settings']
                result, t = best_of(reps, ours, opt, baseline, target, images, fast['total_step'], fast['quadrature'],
                                    fast['layout'], layout_cache=cache)
                rows.append(compare_row(f'{net}, --fast ({FAST_MODE["help"]})', size, fast['total_step'], t_orig, t,
                                        orig, result, exact=False))
    header = ['net, mode', 'LR crop', 'steps N', 'original algorithm (s)', 'this library (s)', 'speed-up',
              'top-1% overlap blur', 'top-1% overlap noise', 'top-10% overlap blur', 'identical order',
              'max abs Δscore / max abs score']
    sizes = ', '.join(f'{s}×{s}' for s in args.lr_size)
    body = ('The original algorithm (benchmarks/original_style.py: network rebuilt from an interpolated state dict at '
            'every step, every image pair processed in both degradation passes) against the library on the same '
            f'inputs ({len(args.images)} centre crops of {sizes} LR pixels of the sample test set, bundled models), '
            f'in one process; each time is the least of {reps} run(s). Overlaps and order are against the original\'s '
            'ranking.\n\n' + markdown_table(header, rows))
    write_section(f'1. Faithful FAIG vs the original algorithm (N={args.steps})', command_line(), body)


if __name__ == '__main__':
    main()
