"""Pack an image folder into an LMDB readable by DIV2KInterpretDataset (io_backend: lmdb)."""
import argparse
import os.path as osp

import cv2

import faig  # noqa: F401
from basicsr.utils.lmdb_util import make_lmdb_from_imgs
from faig.data.image_io import list_images
from faig.errors import InputError, cli

DATASETS = {'DIV2K': ('datasets/DIV2K/DIV2K_train_HR_sub', 'datasets/DF2K/DIV2K_train_HR_sub.lmdb')}


@cli
def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--dataset', default='DIV2K', choices=sorted(DATASETS), help='preset input/output folders')
    parser.add_argument('--input', default=None, help='image folder (overrides --dataset)')
    parser.add_argument('--output', default=None, help='lmdb folder ending in .lmdb (overrides --dataset)')
    args = parser.parse_args()
    folder, lmdb_path = DATASETS[args.dataset]
    folder, lmdb_path = args.input or folder, args.output or lmdb_path
    if osp.exists(lmdb_path):
        raise InputError(f'{lmdb_path}: already exists; remove it or choose another --output')
    images = list_images(folder)
    total_bytes = sum(osp.getsize(p) for p in images.values())
    first = cv2.imread(next(iter(images.values())), cv2.IMREAD_UNCHANGED)
    # PNG-compressed bytes are stored; leave generous room (basicsr's default is too small for tiny images)
    map_size = max(10 * total_bytes, 100 * first.nbytes, 1 << 24)
    keys = [osp.splitext(name)[0] for name in images]
    make_lmdb_from_imgs(folder, lmdb_path, list(images), keys, batch=5000, compress_level=1, map_size=map_size)
    print(f'{len(keys)} images -> {lmdb_path}')


if __name__ == '__main__':
    main()
