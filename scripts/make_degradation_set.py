"""Make the labelled set of the degradation-prediction study (finding 3) from the 6 test photos.

    python scripts/make_degradation_set.py          # -> datasets/DegradationSet/{calibration,test}/<label>/<level>/

Every test photo (datasets/SampleSet/GTmod12; never a training photo) is degraded whole at every level with
the test sets' pipeline (faig.data.degradations.degrade: Gaussian blur with a 21×21 kernel on the HR image ->
bilinear ×1/2 -> Gaussian noise -> 8 bit), then cut into LR crops on an evenly spaced grid. Levels: clean;
blur σ 1, 2, 3; noise σ 5, 15, 25.5 (/255; 25.5/255 = 0.1, the trained level); and every blur+noise
combination. Photos alternate between the calibration and the test split in name order (astronaut, chelsea,
coins calibrate; camera, coffee, rocket test). The noise of each photo and level has its own seeded stream,
so the set is the same on every run; ``manifest.json`` records the recipe, the crops and the levels. An existing
set of the same recipe is left alone; another is replaced only with --overwrite (the new set is made whole
beside it, then renamed into place).
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from faig.cli.args import Parser, finite_float, positive_int, seed_int  # noqa: E402
from faig.errors import InputError, cli  # noqa: E402
from faig.evaluation.labelled_set import AXES  # noqa: E402
from faig.specs import DEFAULT_PAIR, degradation  # noqa: E402

DEFAULT_ROOT = 'datasets/DegradationSet'
DEFAULT_GT = 'datasets/SampleSet/GTmod12'


def build_parser():
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--gt_folder', default=DEFAULT_GT, help=f'HR photos (default {DEFAULT_GT})')
    parser.add_argument('--out_root', default=DEFAULT_ROOT, help=f'default {DEFAULT_ROOT}')
    parser.add_argument('--crop', type=positive_int, default=64, help='LR crop size (default 64)')
    parser.add_argument('--crops_per_photo', type=positive_int, default=6, help='crops per photo and level (default 6)')
    for axis in AXES:
        parser.add_argument(f'--{axis.recipe_key}', type=finite_float, nargs='+', default=list(axis.levels),
                            help=axis.help())
    kernel = next(spec.param('kernel_size') for spec in map(degradation, DEFAULT_PAIR) if spec.param('kernel_size'))
    parser.add_argument('--kernel_size', type=positive_int, default=kernel.default,
                        help=f'{kernel.help} (odd; default {kernel.default})')
    parser.add_argument('--scale', type=positive_int, default=2, help='downsampling factor (default 2)')
    parser.add_argument('--seed', type=seed_int, default=0, help='seed of the random degradations (default 0)')
    parser.add_argument('--calibration_photos', nargs='+', default=None,
                        help='photo names of the calibration split (default: every other photo in name order)')
    parser.add_argument('--overwrite', action='store_true', help='replace a set made with another recipe')
    return parser


def check_args(args):
    if args.kernel_size % 2 == 0:
        raise InputError(f'--kernel_size: must be odd, got {args.kernel_size}')
    for flag, values in ((f'--{axis.recipe_key}', getattr(args, axis.recipe_key)) for axis in AXES):
        if any(v <= 0 for v in values):
            raise InputError(f'{flag}: must be positive numbers, got {" ".join(f"{v:g}" for v in values)}')
        if len(set(values)) != len(values):
            raise InputError(f'{flag}: a value is given twice')


def recipe_of(args):
    from faig.evaluation.labelled_set import labelled_set_recipe
    return labelled_set_recipe(args.gt_folder, args.crop, args.crops_per_photo,
                               *(getattr(args, axis.recipe_key) for axis in AXES),
                               args.kernel_size, args.scale, 'bilinear', args.seed, args.calibration_photos)


def make(argv=None):
    """Make (or keep) the set; returns (out_root, 'same' | 'made', manifest)."""
    args = build_parser().parse_args(argv)
    check_args(args)
    from faig.cli.args import require_folder, require_output_folder
    from faig.store import check_not_inputs
    require_folder(args.gt_folder, '--gt_folder')
    require_output_folder(args.out_root, '--out_root')
    check_not_inputs({'--out_root': args.out_root}, {'--gt_folder': args.gt_folder})
    from faig.evaluation.labelled_set import make_labelled_set
    state, manifest = make_labelled_set(args.out_root, recipe_of(args), args.overwrite)
    return args.out_root, state, manifest


@cli
def main(argv=None):
    root, state, manifest = make(argv)
    counts = ', '.join(f'{split} {n}' for split, n in manifest['images'].items())
    print(f'{"unchanged (same recipe)" if state == "same" else "made"}: {root} ({counts} images, '
          f'{len(manifest["levels"])} levels; split {manifest["recipe"]["split"]})')


if __name__ == '__main__':
    main()
