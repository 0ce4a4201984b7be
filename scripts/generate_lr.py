"""Generate the degraded and clean LR test sets from a GT folder (the original's flags).

One degraded set per degradation of ``--degradations`` (default: the paper's blur and noise), made by
its registered spec (faig/specs.py: its applier, its stage in the HR -> LR pipeline, its parameters
and its folder name), plus the clean bicubic and bilinear sets. A registered degradation gets its
flags here by itself: ``--save_<name>_folder`` and ``--<name>_<parameter>`` (blur and noise keep the
original's ``--kernel_size``, ``--kernel_sigma`` and ``--noise_sigma``). E.g. the JPEG-vs-noise sets:

    python scripts/generate_lr.py --ori_folder datasets/MySet/GTmod12 --degradations jpeg noise --jpeg_quality 30

Every set is written as lossless PNG whatever the GT photo's format: photo.jpg gives photo.png in each
LR folder (a JPEG would compress the added noise again). Images are paired by name without extension.

Safety: nothing is written unless everything can be. The options are checked first, then the
output folders (never the GT folder, never one folder for two outputs, creatable and writable),
then every GT image, then the output files that already exist. An existing output file with the
same pixels is kept as it is; one with different pixels stops the run with an error unless
``--overwrite`` is given, so a user's files are never replaced silently and the GT never at all.
"""
import argparse
import os.path as osp
import re

from faig.cli.args import Parser, require_at_least, seed_int
from faig.errors import InputError, cli
from faig.specs import DEGRADATIONS, DEFAULT_PAIR, appliable_degradation
from faig.validation import number

CLEAN_FLAGS = {'bicubic': '--save_bic_folder', 'bilinear': '--save_linear_folder'}


def appliable_specs():
    return [spec for spec in DEGRADATIONS.values() if spec.appliable]


def save_flag(spec):
    """``--save_<name>_folder`` (the original's ``--save_blur_folder`` and ``--save_noise_folder`` among them)."""
    return f'--save_{spec.name}_folder'


def param_flag(spec, param):
    return param.flag or f'--{spec.name}_{param.name}'


def shown_pattern(spec):
    """'LRbicx{scale}_jpeg{quality:g}' as 'LRbicx<scale>_jpeg<quality>'."""
    return re.sub(r'\{(\w+)(:[^}]*)?\}', r'<\1>', spec.folder_pattern or spec.folder)


def parse_args(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--ori_folder', default=None, help='HR (GT) image folder; default <test root>/GTmod12')
    names = [spec.name for spec in appliable_specs()]
    parser.add_argument('--degradations', nargs='+', default=list(DEFAULT_PAIR), metavar='NAME',
                        help=f'degraded sets to make, by registered name ({", ".join(names)}); '
                        f'default: {" ".join(DEFAULT_PAIR)}')
    for spec in appliable_specs():
        parser.add_argument(save_flag(spec), dest=f'save_{spec.name}_folder', default=None,
                            help=f'{spec.adjective} LR; default <dataset>/{shown_pattern(spec)}')
    parser.add_argument('--save_bic_folder', default=None, help='clean bicubic LR; default <dataset>/LRbicx<scale>')
    parser.add_argument(
        '--save_linear_folder', default=None, help='clean bilinear LR; default <dataset>/Linear_LRbicx<scale>')
    for spec in appliable_specs():
        for param in spec.params:
            flag = param_flag(spec, param)
            parser.add_argument(flag, dest=f'param_{spec.name}_{param.name}', type=number, default=param.default,
                                metavar='VALUE',
                                help=f'{spec.name}: {param.help or param.name} ({param.check}; '
                                f'default {param.default})')
    parser.add_argument('--scale', type=int, default=2, help='downsampling factor (positive)')
    parser.add_argument('--seed', type=seed_int, default=0,
                        help='seed of the random degradations (per image: seed and file name)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing output files whose pixels differ (never the GT folder)')
    return parser.parse_args(argv)


def degradation_params(args):
    """{degradation: {parameter: value}} of the flags, for every degradation of --degradations."""
    return {name: {p.name: getattr(args, f'param_{name}_{p.name}') for p in DEGRADATIONS[name].params}
            for name in args.degradations}


def check_args(args):
    """Refuse impossible numbers and unknown degradations before any image is read."""
    require_at_least([('--scale', args.scale, 1)])
    for name in args.degradations:
        appliable_degradation(name, '--degradations')
    if len(set(args.degradations)) != len(args.degradations):
        raise InputError(f'--degradations: a degradation is named twice ({" ".join(args.degradations)})')
    for spec in appliable_specs():  # every parameter flag, as before (a bad --kernel_sigma is an error anyway)
        for param in spec.params:
            value = getattr(args, f'param_{spec.name}_{param.name}')
            problem = param.problem(value)
            if problem:
                shown = f'{value:g}' if isinstance(value, float) else value
                raise InputError(f'{param_flag(spec, param)}: {problem.rsplit(", got ", 1)[0]}, got {shown}')
    for spec in appliable_specs():
        if getattr(args, f'save_{spec.name}_folder') and spec.name not in args.degradations:
            raise InputError(f'{save_flag(spec)}: {spec.name} is not in --degradations '
                             f'({" ".join(args.degradations)}); add it there to make this set')


@cli
def main():
    args = parse_args()
    check_args(args)

    # heavy imports (faig.data: torch, basicsr) only after the options are checked
    from faig.data.lr_sets import default_folders, generate
    from faig.paths import default_test_root

    ori_folder = args.ori_folder or osp.join(default_test_root(), 'GTmod12')
    dataroot = osp.dirname(osp.normpath(ori_folder))
    params = degradation_params(args)
    folders = default_folders(dataroot, args.scale, degradations=args.degradations, params=params)
    flag_of = {**{name: save_flag(DEGRADATIONS[name]) for name in args.degradations}, **CLEAN_FLAGS}
    dests = {**{name: f'save_{name}_folder' for name in args.degradations},
             'bicubic': 'save_bic_folder', 'bilinear': 'save_linear_folder'}
    given = {role: getattr(args, dests[role]) for role in folders}
    folders.update({role: folder for role, folder in given.items() if folder})
    flags = {role: flag if given[role] else f'{flag} (default)' for role, flag in flag_of.items()}
    names = generate(ori_folder, folders, args.scale, seed=args.seed, overwrite=args.overwrite, flags=flags,
                     params=params)
    for role, folder in folders.items():
        print(f'{role:>8}: {len(names)} images -> {folder}')


if __name__ == '__main__':
    main()
