"""Generate the blurry, noisy and clean LR test sets from a GT folder (the original's flags)."""
import argparse
import os.path as osp

import faig  # noqa: F401
from faig.data.lr_sets import default_folders, generate
from faig.errors import cli
from faig.paths import default_test_root


@cli
def main():
    root = default_test_root()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--ori_folder', default=osp.join(root, 'GTmod12'), help='HR (GT) image folder')
    parser.add_argument('--save_noise_folder', default=None, help='default: <dataset>/LRbicx<scale>_noise<sigma>')
    parser.add_argument('--save_blur_folder', default=None, help='default: <dataset>/Blur<sigma>_LRbicx<scale>')
    parser.add_argument('--save_bic_folder', default=None, help='clean bicubic LR; default <dataset>/LRbicx<scale>')
    parser.add_argument(
        '--save_linear_folder', default=None, help='clean bilinear LR; default <dataset>/Linear_LRbicx<scale>')
    parser.add_argument('--kernel_size', type=int, default=21)
    parser.add_argument('--kernel_sigma', type=float, default=2)
    parser.add_argument('--noise_sigma', type=float, default=0.1, help='on the [0, 1] scale')
    parser.add_argument('--scale', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0, help='noise seed (per image: seed and file name)')
    args = parser.parse_args()

    dataroot = osp.dirname(osp.normpath(args.ori_folder))
    folders = default_folders(dataroot, args.scale, args.kernel_sigma, args.noise_sigma)
    given = {'blur': args.save_blur_folder, 'noise': args.save_noise_folder,
             'bicubic': args.save_bic_folder, 'bilinear': args.save_linear_folder}
    folders.update({role: folder for role, folder in given.items() if folder})
    names = generate(args.ori_folder, folders, args.scale, args.kernel_size, args.kernel_sigma, args.noise_sigma,
                     args.seed)
    for role, folder in folders.items():
        print(f'{role:>8}: {len(names)} images -> {folder}')


if __name__ == '__main__':
    main()
