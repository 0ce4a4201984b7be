"""Build the bundled default data set from scikit-image's photos (see faig/data/sample_data.py)."""
import argparse

import faig  # noqa: F401
from faig.data.sample_data import prepare
from faig.errors import cli


@cli
def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--root', default='datasets', help='where SampleTrain/ and SampleSet/ are written')
    parser.add_argument('--crop_size', type=int, default=144, help='training sub-image size (HR pixels)')
    parser.add_argument('--step', type=int, default=96, help='stride between training sub-images')
    parser.add_argument('--max_side', type=int, default=360, help='long side of the test images')
    parser.add_argument('--overwrite', action='store_true', help='rebuild folders that already exist')
    args = parser.parse_args()
    prepare(args.root, args.crop_size, args.step, args.max_side, args.overwrite)


if __name__ == '__main__':
    main()
