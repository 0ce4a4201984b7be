"""Generate the blurry, noisy and clean LR test sets from a GT folder (the original's flags).

Safety: nothing is written unless everything can be. The options are checked first, then the
output folders (never the GT folder, never one folder for two outputs, creatable and writable),
then every GT image, then the output files that already exist. An existing output file with the
same pixels is kept as it is; one with different pixels stops the run with an error unless
``--overwrite`` is given, so a user's files are never replaced silently and the GT never at all.
"""
import argparse
import math
import os.path as osp

from faig.cli.args import Parser, require_at_least, seed_int
from faig.errors import InputError, cli


def parse_args(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--ori_folder', default=None, help='HR (GT) image folder; default <test root>/GTmod12')
    parser.add_argument('--save_noise_folder', default=None, help='default: <dataset>/LRbicx<scale>_noise<sigma>')
    parser.add_argument('--save_blur_folder', default=None, help='default: <dataset>/Blur<sigma>_LRbicx<scale>')
    parser.add_argument('--save_bic_folder', default=None, help='clean bicubic LR; default <dataset>/LRbicx<scale>')
    parser.add_argument(
        '--save_linear_folder', default=None, help='clean bilinear LR; default <dataset>/Linear_LRbicx<scale>')
    parser.add_argument('--kernel_size', type=int, default=21, help='blur kernel size (positive, odd)')
    parser.add_argument('--kernel_sigma', type=float, default=2, help='blur sigma (positive)')
    parser.add_argument('--noise_sigma', type=float, default=0.1, help='on the [0, 1] scale (zero or positive)')
    parser.add_argument('--scale', type=int, default=2, help='downsampling factor (positive)')
    parser.add_argument('--seed', type=seed_int, default=0, help='noise seed (per image: seed and file name)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing output files whose pixels differ (never the GT folder)')
    return parser.parse_args(argv)


def check_args(args):
    """Refuse impossible numbers before any image is read."""
    require_at_least([('--scale', args.scale, 1)])
    if args.kernel_size < 1 or args.kernel_size % 2 == 0:
        raise InputError(f'--kernel_size: must be a positive odd integer, got {args.kernel_size}')
    if not (math.isfinite(args.kernel_sigma) and args.kernel_sigma > 0):
        raise InputError(f'--kernel_sigma: must be a positive number, got {args.kernel_sigma:g}')
    if not (math.isfinite(args.noise_sigma) and args.noise_sigma >= 0):
        raise InputError(f'--noise_sigma: must be zero or a positive number, got {args.noise_sigma:g}')


@cli
def main():
    args = parse_args()
    check_args(args)

    # heavy imports (faig.data: torch, basicsr) only after the options are checked
    from faig.data.lr_sets import default_folders, generate
    from faig.paths import default_test_root

    ori_folder = args.ori_folder or osp.join(default_test_root(), 'GTmod12')
    dataroot = osp.dirname(osp.normpath(ori_folder))
    folders = default_folders(dataroot, args.scale, args.kernel_sigma, args.noise_sigma)
    given = {'blur': args.save_blur_folder, 'noise': args.save_noise_folder,
             'bicubic': args.save_bic_folder, 'bilinear': args.save_linear_folder}
    folders.update({role: folder for role, folder in given.items() if folder})
    flags = {'blur': '--save_blur_folder', 'noise': '--save_noise_folder',
             'bicubic': '--save_bic_folder', 'bilinear': '--save_linear_folder'}
    flags = {role: flag if given[role] else f'{flag} (default)' for role, flag in flags.items()}
    names = generate(ori_folder, folders, args.scale, args.kernel_size, args.kernel_sigma, args.noise_sigma,
                     args.seed, overwrite=args.overwrite, flags=flags)
    for role, folder in folders.items():
        print(f'{role:>8}: {len(names)} images -> {folder}')


if __name__ == '__main__':
    main()
