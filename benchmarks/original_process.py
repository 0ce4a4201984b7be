"""The original FAIG algorithm (benchmarks/original_style.py) as a whole script, for whole-process timings.

    python benchmarks/original_process.py --net srresnet --dataroot DIR --steps 100 --out FOLDER

Like the original analysis script: imports torch and all of basicsr (the original built its network through
BasicSR), reads the GT / blurry / noisy images of ``DIR`` (GTmod12, Blur2_LRbicx2, LRbicx2_noise0.1, same
names), runs the original's loop (network rebuilt at every step, every image pair in both degradation
passes) and writes ``blur_index.txt`` / ``noise_index.txt`` (one filter index per line) to FOLDER.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
sys.path[:0] = [HERE, osp.dirname(HERE)]  # original_style.py, and this tree's faig

import faig  # noqa: E402
from faig.data.image_io import read_image  # noqa: E402
from faig.inference import image_to_tensor  # noqa: E402
from faig.networks import load_params, preset  # noqa: E402
from original_style import faig_rankings  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', default='srresnet')
    parser.add_argument('--dataroot', required=True)
    parser.add_argument('--steps', type=int, default=100)
    parser.add_argument('--models', default='experiments/pretrained',
                        help='folder of <net>/{baseline,target}_model.pth')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    faig.register()  # the original imported basicsr whole
    opt = preset(args.net, 2)
    baseline, target = (load_params(osp.join(args.models, args.net, f'{kind}_model.pth'))
                        for kind in ('baseline', 'target'))
    folders = {'gt': 'GTmod12', 'blur': 'Blur2_LRbicx2', 'noise': 'LRbicx2_noise0.1'}
    names = sorted(os.listdir(osp.join(args.dataroot, folders['gt'])))
    images = {name: {role: image_to_tensor(read_image(osp.join(args.dataroot, folder, name)))
                     for role, folder in folders.items()} for name in names}
    rankings, _ = faig_rankings(opt, baseline, target, images, args.steps)
    os.makedirs(args.out, exist_ok=True)
    for deg, ranking in rankings.items():
        np.savetxt(osp.join(args.out, f'{deg}_index.txt'), ranking, delimiter=',', fmt='%d')


if __name__ == '__main__':
    main()
