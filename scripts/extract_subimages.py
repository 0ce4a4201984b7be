"""Crop DIV2K-style HR images into overlapping sub-images (e.g. 480x480, step 240)."""
import argparse
import os.path as osp
from multiprocessing import Pool

from tqdm import tqdm

import faig  # noqa: F401
from faig.data.image_io import list_images, read_image, write_image
from faig.data.subimages import sub_images
from faig.errors import cli


def crop_one(task):
    path, save_folder, crop_size, step, thresh_size = task
    stem = osp.splitext(osp.basename(path))[0]
    count = 0
    for index, (_, _, crop) in enumerate(sub_images(read_image(path, float32=False), crop_size, step, thresh_size), 1):
        write_image(osp.join(save_folder, f'{stem}_s{index:03d}.png'), crop)
        count += 1
    return count


@cli
def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--input', default='datasets/DIV2K/DIV2K_train_HR')
    parser.add_argument('--save_folder', default='datasets/DIV2K/DIV2K_train_HR_sub')
    parser.add_argument('--crop_size', type=int, default=480)
    parser.add_argument('--step', type=int, default=240)
    parser.add_argument('--thresh_size', type=int, default=0, help='drop a border remainder up to this size')
    parser.add_argument('--n_thread', type=int, default=2)
    args = parser.parse_args()
    paths = list(list_images(args.input).values())
    tasks = [(p, args.save_folder, args.crop_size, args.step, args.thresh_size) for p in paths]
    with Pool(args.n_thread) as pool:
        total = sum(tqdm(pool.imap_unordered(crop_one, tasks), total=len(tasks), unit='img'))
    print(f'{total} sub-images from {len(paths)} images -> {args.save_folder}')


if __name__ == '__main__':
    main()
