"""How many quadrature nodes does FAIG need? Ranking agreement and completeness per rule and N.

    python benchmarks/bench_quadrature.py [--net srresnet srcnn_style] [--lr_size 32] [--reference_nodes 256]

For N in {4, 8, 16, 32, 64, 100} and riemann_left / trapezoid / gauss_legendre: top-1 % and
top-10 % overlap and Spearman correlation of the blur ranking (score s(x_blur) - s(x_noise))
against (a) the faithful ranking (riemann_left, N=100) and (b) a converged reference
(gauss_legendre with --reference_nodes nodes; 0 leaves it out), the top-1 % overlap of the noise
ranking (its negation: the other end) against the faithful one, and the mean relative completeness error.

``--rules``/``--steps`` pick a subset and ``--section`` names the docs section it writes (the default
section 3 is the full grid; a subset should not replace it), e.g. the check of --fast's node count:

    python benchmarks/bench_quadrature.py --dataroot <48-px crops of 4 images> --images astronaut camera chelsea \
        coffee --lr_size 48 --rules gauss_legendre --steps 4 5 6 8 --reference_nodes 0 --section "3b. ..."
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

STEPS = (4, 8, 16, 32, 64, 100)
METHODS = ('riemann_left', 'trapezoid', 'gauss_legendre')


def blur_scores(space, path, images, n, method):
    total, errors = 0.0, []
    for entry in images.values():
        scores, completeness = faig_image(space, path, {'blur': entry['blur'], 'noise': entry['noise']}, entry['gt'],
                                          n, method)
        total = total + discriminative(scores, 'blur', 'noise')
        errors += [abs(c[2]) / max(abs(c[1]), 1e-12) for c in completeness.values()]
    return total, float(np.mean(errors))


def main():
    parser = bench_parser(__doc__, steps=None, lr_size=32)
    parser.add_argument('--reference_nodes', type=int, default=256)
    parser.add_argument('--steps', nargs='+', type=int, default=list(STEPS), help='node counts N to compare')
    parser.add_argument('--rules', nargs='+', default=list(METHODS), choices=METHODS, help='quadrature rules')
    parser.add_argument('--section', default='3. Quadrature rules and node counts',
                        help='title of the docs/benchmarks.md section written')
    args = parser.parse_args()
    rows = []
    for net_name in args.net:
        opt, baseline, target = bundled_models(net_name, args.device)
        images = load_test_images(args.dataroot, args.images, args.lr_size, device=args.device)
        space = FilterSpace(target)
        path = ParameterPath(build_network(opt).eval().to(args.device), baseline, target)
        reference = ref_rank = None
        if args.reference_nodes:
            (reference, ref_err), ref_seconds = timed(blur_scores, space, path, images, args.reference_nodes,
                                                      'gauss_legendre')
            ref_rank = rank(reference)
            print(f'{net_name}: reference ({args.reference_nodes} GL nodes) {ref_seconds:.0f} s, completeness '
                  f'error {ref_err:.2e}', flush=True)
        faithful, faithful_err = blur_scores(space, path, images, 100, 'riemann_left')
        faithful_rank, faithful_noise = rank(faithful), rank(-faithful)
        for method in args.rules:
            for n in args.steps:
                if (method, n) == ('riemann_left', 100):
                    scores, err = faithful, faithful_err
                else:
                    scores, err = blur_scores(space, path, images, n, method)
                r = rank(scores)
                row = [net_name, method, n,
                       f'{top_overlap(r, faithful_rank, 0.01):.3f}', f'{top_overlap(r, faithful_rank, 0.10):.3f}',
                       f'{spearmanr(scores, faithful).statistic:.4f}',
                       f'{top_overlap(rank(-scores), faithful_noise, 0.01):.3f}']
                if reference is not None:
                    row += [f'{top_overlap(r, ref_rank, 0.01):.3f}', f'{top_overlap(r, ref_rank, 0.10):.3f}',
                            f'{spearmanr(scores, reference).statistic:.4f}']
                row.append(f'{err:.2e}')
                print(row, flush=True)
                rows.append(row)
    header = ['net', 'rule', 'N', 'top-1% vs faithful', 'top-10% vs faithful', 'Spearman vs faithful',
              'top-1% noise ranking vs faithful']
    if args.reference_nodes:
        header += ['top-1% vs converged', 'top-10% vs converged', 'Spearman vs converged']
    header.append('completeness error')
    converged = (f'; "converged" = gauss_legendre with {args.reference_nodes} nodes' if args.reference_nodes else '')
    body = (f'Blur ranking (s(x_blur) − s(x_noise), summed over {len(args.images)} images '
            f'({", ".join(args.images)}), LR centre crops of {args.lr_size} px) per quadrature rule and node count N, and the top-1 % of the '
            'noise ranking (its negation). "faithful" = riemann_left with N=100 (the '
            f'original){converged}. Completeness error = mean '
            'over images and degradations of |Σ attribution − (L(baseline) − L(target))| / |L(baseline) − '
            'L(target)|.\n\n' + markdown_table(header, rows))
    write_section(args.section, command_line(), body)


if __name__ == '__main__':
    main()
