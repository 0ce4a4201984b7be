"""Pack an image folder into an LMDB readable by DIV2KInterpretDataset (io_backend: lmdb).

Safety: the output must not exist yet and must end in ``.lmdb``; every input image is decoded
and checked before anything is written, and the LMDB is built in a temporary folder beside the
output and renamed into place at the end, so a failed run leaves nothing behind.
"""
import argparse
import os
import os.path as osp
import shutil
import tempfile

from faig.cli.args import Parser
from faig.errors import InputError, cli

DATASETS = {'DIV2K': ('datasets/DIV2K/DIV2K_train_HR_sub', 'datasets/DF2K/DIV2K_train_HR_sub.lmdb')}


def parse_args(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dataset', default='DIV2K', choices=sorted(DATASETS), help='preset input/output folders')
    parser.add_argument('--input', default=None, help='image folder (overrides --dataset)')
    parser.add_argument('--output', default=None, help='lmdb folder ending in .lmdb (overrides --dataset)')
    return parser.parse_args(argv)


def check_args(args):
    """The input and output paths: a new ``.lmdb`` output that is not the input folder."""
    folder, lmdb_path = DATASETS[args.dataset]
    folder, lmdb_path = args.input or folder, args.output or lmdb_path
    flag = '--output' if args.output else '--output (default)'
    if not osp.normpath(lmdb_path).endswith('.lmdb'):
        raise InputError(f'{lmdb_path}: {flag} must end in .lmdb')
    if osp.lexists(lmdb_path):
        raise InputError(f'{lmdb_path}: already exists; remove it or choose another --output')
    return folder, osp.normpath(lmdb_path)


def check_images(images):
    """Decode every image (3-channel, 8-bit); keys must be ASCII and unique. Returns the largest size in bytes."""
    from faig.data.image_io import decode_checked
    keys, largest = {}, 0
    for name, path in images.items():
        key = osp.splitext(name)[0]
        if not key.isascii():
            raise InputError(f'{path}: lmdb keys must be ASCII; rename the file')
        if key in keys:
            raise InputError(f'{path}: same key {key!r} as {keys[key]} (names differ only in the extension)')
        keys[key] = name
        largest = max(largest, decode_checked(path).nbytes)
    return largest


@cli
def main():
    args = parse_args()
    folder, lmdb_path = check_args(args)

    # heavy imports (torch, basicsr) only after the options are checked; the basicsr compatibility
    # fixes (faig.register) must precede any basicsr import
    import faig
    faig.register()
    from faig.data.image_io import check_output_folder, list_images
    from basicsr.utils.lmdb_util import make_lmdb_from_imgs

    images = list_images(folder)
    check_output_folder(lmdb_path, '--output')
    largest = check_images(images)
    total_bytes = sum(osp.getsize(p) for p in images.values())
    # PNG-compressed bytes are stored; leave generous room (basicsr's default is too small for tiny images)
    map_size = max(10 * total_bytes, 100 * largest, 1 << 24)
    keys = [osp.splitext(name)[0] for name in images]

    parent = osp.dirname(lmdb_path) or '.'
    created, ancestor = None, parent
    while ancestor and not osp.exists(ancestor):  # the topmost folder this run creates, if any
        created, ancestor = ancestor, osp.dirname(ancestor)
    tmp = None
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=parent, prefix='.tmp-lmdb-')
        staged = osp.join(tmp, osp.basename(lmdb_path))
        make_lmdb_from_imgs(folder, staged, list(images), keys, batch=5000, compress_level=1, map_size=map_size)
        os.rename(staged, lmdb_path)
    except OSError as exc:
        raise InputError(f'{exc.filename or lmdb_path}: cannot write ({exc.strerror or exc})') from exc
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if created is not None and not osp.exists(lmdb_path):
            shutil.rmtree(created, ignore_errors=True)
    print(f'{len(keys)} images -> {lmdb_path}')


if __name__ == '__main__':
    main()
