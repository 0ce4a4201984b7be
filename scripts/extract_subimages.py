"""Crop DIV2K-style HR images into overlapping sub-images (e.g. 480x480, step 240).

Safety: nothing is written unless everything can be. The options are checked first, then the
output folder (not the input folder, creatable and writable), then every input image is decoded,
and every sub-image file that already exists is compared with what would be written: the same
pixels are kept as they are, different pixels stop the run unless ``--overwrite`` is given.
"""
import argparse
import os.path as osp

from faig.cli.args import Parser, require_at_least
from faig.errors import InputError, cli
from faig.files import fit_name


def parse_args(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--input', default='datasets/DIV2K/DIV2K_train_HR')
    parser.add_argument('--save_folder', default='datasets/DIV2K/DIV2K_train_HR_sub')
    parser.add_argument('--crop_size', type=int, default=480, help='sub-image size in pixels (positive)')
    parser.add_argument('--step', type=int, default=240, help='stride between sub-images (positive)')
    parser.add_argument('--thresh_size', type=int, default=0, help='drop a border remainder up to this size')
    parser.add_argument('--n_thread', type=int, default=2, help='worker processes (positive)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing sub-images whose pixels differ')
    return parser.parse_args(argv)


def check_args(args):
    """Refuse impossible numbers and an output folder that is the input folder, before reading images."""
    require_at_least((('--crop_size', args.crop_size, 1), ('--step', args.step, 1),
                      ('--thresh_size', args.thresh_size, 0), ('--n_thread', args.n_thread, 1)))
    from faig.store import is_within
    if is_within(args.save_folder, args.input):
        raise InputError(f'{args.save_folder}: --save_folder is {"" if osp.realpath(args.save_folder) == osp.realpath(args.input) else "inside "}'
                         'the --input folder; the sub-images would be mixed with the originals')


def crops(path, crop_size, step, thresh_size):
    """``(output file name, crop)`` for each sub-image of the image at ``path``."""
    from faig.data.image_io import read_image
    from faig.data.subimages import sub_images
    stem = osp.splitext(osp.basename(path))[0]
    img = read_image(path, float32=False)
    for index, (_, _, crop) in enumerate(sub_images(img, crop_size, step, thresh_size), 1):
        yield fit_name(f'{stem}_s{index:03d}.png'), crop


def check_one(task):
    """Decode one input image; return its path, the sub-image files that exist with other pixels,
    and those that exist with the same pixels."""
    from faig.data.image_io import decode_checked, encode_image
    path, save_folder, crop_size, step, thresh_size = task
    differ, same = [], []
    for name, crop in crops(path, crop_size, step, thresh_size):
        out = osp.join(save_folder, name)
        if not osp.lexists(out):
            continue
        try:
            old = decode_checked(out)
        except InputError:
            old = None
        new = decode_checked(out, encode_image(out, crop))
        (same if old is not None and old.shape == new.shape and (old == new).all() else differ).append(out)
    return path, differ, same


def crop_one(task):
    from faig.data.image_io import write_image
    path, save_folder, crop_size, step, thresh_size, keep = task
    count = 0
    for name, crop in crops(path, crop_size, step, thresh_size):
        out = osp.join(save_folder, name)
        if out not in keep:
            write_image(out, crop)
        count += 1
    return count


def run_all(function, tasks, n_thread, desc):
    """``function`` over ``tasks`` (a process pool when n_thread > 1); the progress bar shows on
    terminals only and is cleared when done or on an error."""
    from tqdm import tqdm
    with tqdm(total=len(tasks), desc=desc, unit='img', leave=False, disable=None) as bar:
        if n_thread == 1:
            for task in tasks:
                yield function(task)
                bar.update()
            return
        from multiprocessing import Pool
        with Pool(n_thread) as pool:
            for result in pool.imap_unordered(function, tasks):
                yield result
                bar.update()


@cli
def main():
    args = parse_args()
    check_args(args)

    # heavy imports (faig.data: torch, basicsr) only after the options are checked
    from faig.data.image_io import check_output_folder, list_images

    images = list_images(args.input)
    check_output_folder(args.save_folder, '--save_folder')
    stems = {}
    for name, path in images.items():
        stem = osp.splitext(name)[0]
        if stem in stems:
            raise InputError(f'{path}: same name as {stems[stem]} up to the extension; '
                             'their sub-images would overwrite each other')
        stems[stem] = name
    paths = list(images.values())
    settings = (args.save_folder, args.crop_size, args.step, args.thresh_size)

    keep = {}
    for path, differ, same in sorted(run_all(check_one, [(p, *settings) for p in paths], args.n_thread,
                                             'check images')):
        if differ and not args.overwrite:
            raise InputError(f'{sorted(differ)[0]}: exists with different content; pass --overwrite to replace it '
                             'or choose another --save_folder')
        keep[path] = set(same)
    tasks = [(p, *settings, keep[p]) for p in paths]
    total = sum(run_all(crop_one, tasks, args.n_thread, 'crop'))
    print(f'{total} sub-images from {len(paths)} images -> {args.save_folder}')


if __name__ == '__main__':
    main()
