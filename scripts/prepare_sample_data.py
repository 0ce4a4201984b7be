"""Build the bundled default data set from scikit-image's photos (see faig/data/sample_data.py).

Folders that already hold files are kept unless ``--overwrite`` is given.
"""
import argparse

from faig.cli.args import Parser, require_at_least
from faig.errors import cli


def parse_args(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default='datasets', help='where SampleTrain/ and SampleSet/ are written')
    parser.add_argument('--crop_size', type=int, default=144, help='training sub-image size (HR pixels, positive)')
    parser.add_argument('--step', type=int, default=96, help='stride between training sub-images (positive)')
    parser.add_argument('--max_side', type=int, default=360, help='long side of the test images (at least 12)')
    parser.add_argument('--overwrite', action='store_true', help='rebuild folders that already exist')
    return parser.parse_args(argv)


def check_args(args):
    """Refuse impossible sizes before any photo is loaded."""
    require_at_least((('--crop_size', args.crop_size, 1), ('--step', args.step, 1), ('--max_side', args.max_side, 12)))


@cli
def main():
    args = parse_args()
    check_args(args)
    # heavy imports (faig.data: torch, basicsr) only after the options are checked
    from faig.data.image_io import check_output_folder
    from faig.data.sample_data import prepare
    check_output_folder(args.root, '--root')
    prepare(args.root, args.crop_size, args.step, args.max_side, args.overwrite)


if __name__ == '__main__':
    main()
