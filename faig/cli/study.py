"""``faig study``: the whole FAIG study of any pair of networks on any folder of photos, in one command.

    faig study --network_g my_net.yml --baseline a.pth --target b.pth --images ~/photos --out ~/faig_study

The photos (any format, any size) are cropped to what the network accepts, which is found by running it
(said in one line), degraded by the chosen pair of registered degradations (default the paper's blur and
noise; lossless PNG whatever the photo's format), ranked by FAIG, IG, |θ−θ̄| and random, compared by
masking, located, modulated, and judged by the paper's findings; ``<out>/report.md`` has it all. Your own
degraded LR folders replace the made ones with --lr_<degradation> and --lr_clean.
"""
import argparse

from faig.attribution.quadrature import METHODS as RULES
from faig.cli.args import Parser, percent, positive_int, require_at_least, resolve_device, seed_int
from faig.errors import InputError, cli
from faig.specs import DEFAULT_PAIR, DEGRADATIONS
from faig.validation import number


def appliable():
    return [spec for spec in DEGRADATIONS.values() if spec.appliable]


def parser(prog='faig study'):
    p = Parser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--network_g', required=True,
                   help='the network: a BasicSR YAML file (its network_g entry) or inline YAML, any registered arch')
    p.add_argument('--baseline', '--baseline_model_path', dest='baseline', required=True,
                   help='checkpoint of the baseline (clean-trained) network')
    p.add_argument('--target', '--target_model_path', dest='target', required=True,
                   help='checkpoint of the target (blind) network fine-tuned from it')
    p.add_argument('--images', required=True, help='folder of HR photos (PNG, JPEG, ...; any size)')
    p.add_argument('--out', required=True, help='folder of the study (made; never one of the inputs)')
    p.add_argument('--scale', type=positive_int, default=None,
                   help='the network\'s upscaling factor (default: measured by running it)')
    p.add_argument('--param_key', default=None, help='checkpoint entry to read (default params_ema, else params)')
    names = ', '.join(spec.name for spec in appliable())
    p.add_argument('--deg_a', default=DEFAULT_PAIR[0], help=f'first degradation ({names}; default {DEFAULT_PAIR[0]})')
    p.add_argument('--deg_b', default=DEFAULT_PAIR[1], help=f'second degradation (default {DEFAULT_PAIR[1]})')
    for spec in appliable():
        for param in spec.params:
            p.add_argument(f'--{spec.name}_{param.name}', dest=f'param_{spec.name}_{param.name}', type=number,
                           default=param.default, metavar='VALUE',
                           help=f'{spec.name}: {param.help or param.name} (default {param.default})')
        p.add_argument(f'--lr_{spec.name}', dest=f'lr_{spec.name}', default=None, metavar='FOLDER',
                       help=f'your own {spec.adjective} LR images (named like the photos) instead of made ones')
    p.add_argument('--lr_clean', default=None, metavar='FOLDER',
                   help='your own clean LR images (IG\'s start), with --lr_<deg_a> and --lr_<deg_b>')
    p.add_argument('--steps', type=positive_int, default=None, help='FAIG/IG quadrature nodes (default 16; --full 100)')
    p.add_argument('--crop', type=positive_int, default=None,
                   help='attribute and mask on centre crops of this many LR pixels (default 64; --full: whole images)')
    p.add_argument('--full', action='store_true', help="the paper's budget: 100 steps on whole images")
    p.add_argument('--quadrature', default='riemann_left', choices=RULES,
                   help='FAIG quadrature rule (default riemann_left, the original)')
    p.add_argument('--proportions', type=percent, nargs='+', default=[1, 3, 5, 10],
                   help='percent of filters masked in the comparison (default 1 3 5 10)')
    p.add_argument('--seed', type=seed_int, default=0,
                   help="seed of the degradations' random draws and of the random ranking (default 0)")
    p.add_argument('--device', default=None, help='cpu, cuda, cuda:1, ... (default: cuda when present)')
    p.add_argument('--force', action='store_true', help='replace a study of other inputs or settings in --out')
    return p


def settings_of(args):
    """StudySettings of the parsed flags; impossible values refused before anything is loaded."""
    from faig.networks import parse_network_option
    from faig.study import StudySettings
    pair = (args.deg_a, args.deg_b)
    for flag, name in (('--deg_a', args.deg_a), ('--deg_b', args.deg_b)):
        spec = DEGRADATIONS.get(name)
        if spec is None or not spec.appliable:
            raise InputError(f'{flag}: unknown degradation {name!r}; choose from '
                             f'{", ".join(s.name for s in appliable())}')
    if args.deg_a == args.deg_b:
        raise InputError(f'--deg_b: the same degradation as --deg_a ({args.deg_a}); FAIG compares two')
    params = {}
    for name in pair:
        for param in DEGRADATIONS[name].params:
            value = getattr(args, f'param_{name}_{param.name}')
            problem = param.problem(value)
            if problem:
                raise InputError(f'--{name}_{param.name}: {problem}')
            params.setdefault(name, {})[param.name] = value
    own = {name: getattr(args, f'lr_{name}') for name in pair}
    own['clean'] = args.lr_clean
    given = {k: v for k, v in own.items() if v}
    if given and len(given) != 3:
        missing = [f'--lr_{k}' for k, v in own.items() if not v]
        raise InputError(f'{missing[0]}: your own LR folders come as a set of three ({", ".join(f"--lr_{k}" for k in own)})')
    steps = args.steps or (100 if args.full else 16)
    crop = None if args.full and args.crop is None else (args.crop or 64)
    require_at_least([('--steps', steps, 1)])
    return StudySettings(network=parse_network_option(args.network_g), baseline=args.baseline, target=args.target,
                         images=args.images, out=args.out, scale=args.scale, degradations=pair, params=params,
                         lr_folders=given or None, steps=steps, crop=crop, quadrature=args.quadrature,
                         proportions=tuple(args.proportions), seed=args.seed, device=resolve_device(args.device),
                         param_key=args.param_key, force=args.force, redo=args.force)


@cli
def main(argv=None, prog='faig study'):
    args = parser(prog).parse_args(argv)
    settings = settings_of(args)
    import faig
    faig.register()
    from faig.study import run_study
    run = run_study(settings)
    if run is not None:  # (the other ranks of a torchrun launch only share the attribution)
        print(f'report -> {run.report}')
    return 0
