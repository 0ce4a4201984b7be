"""Argument checks and flag groups shared by the command lines (the value types are faig.validation's, the
parser faig.errors', the device faig.devices'). No torch import: ``--help`` and bad arguments answer at
once, before the seconds that torch and basicsr take to import."""
import os.path as osp

from faig.devices import resolve_device  # noqa: F401  (the command lines' names)
from faig.files import require_output_folder  # noqa: F401
from faig.errors import InputError, Parser  # noqa: F401
from faig.paths import default_model
from faig.specs import DEFAULT_PAIR, ORIGINAL_PAIR, degradation, pair
from faig.validation import SEED_LIMIT, finite_float, percent, positive_int, seed_int  # noqa: F401


def require_at_least(checks):
    """``checks``: (flag, integer value, lowest allowed); the first one too small is a one-line error."""
    for flag, value, low in checks:
        if value < low:
            need = {0: 'zero or a positive integer', 1: 'a positive integer'}.get(low, f'an integer of at least {low}')
            raise InputError(f'{flag}: must be {need}, got {value}')


def require_file(path, flag):
    if not osp.isfile(path):
        what = 'a folder, not a file' if osp.isdir(path) else 'file not found'
        raise InputError(f'{path}: {what} ({flag})')


def require_folder(path, flag):
    if not osp.isdir(path):
        what = 'a file, not a folder' if osp.exists(path) else 'folder not found'
        raise InputError(f'{path}: {what} ({flag})')


def require_output_file(path, flag):
    """An output file: not a folder, and its folder creatable and writable (checked before any work)."""
    if osp.isdir(path):
        raise InputError(f'{path}: {flag} is a folder; give a file name')
    require_output_folder(osp.dirname(path) or '.', flag)


# ---- flag groups shared by several tools ------------------------------------------------------

def add_network_args(parser, net):
    parser.add_argument('--scale', type=positive_int, default=2, help='scale ratio')
    parser.add_argument('--network_g', default=None,
                        help=f'network options: YAML file (or its network_g) or inline YAML; default: {net} preset')
    parser.add_argument('--param_key', default=None, help='checkpoint key (default: params_ema, else params)')
    parser.add_argument('--device', default=None, help='cuda, cuda:<n> or cpu (default: cuda when available)')


def add_model_args(parser, net, baseline=True):
    if baseline:
        parser.add_argument('--baseline_model_path', default=default_model(net, 'baseline'))
    parser.add_argument('--target_model_path', default=default_model(net, 'target'))


def add_pair_args(parser, root=None):
    """The two degradations to tell apart (default: the paper's pair) and their LR folders.

    ``--<name>_folder`` for each of the original's pair are the original's flags; any other degradation takes its
    folder from ``--deg_a_folder``/``--deg_b_folder`` (default: ``<test root>/<its spec's folder>``)."""
    parser.add_argument('--deg_a', default=DEFAULT_PAIR[0], help=f'first degradation (default {DEFAULT_PAIR[0]})')
    parser.add_argument('--deg_b', default=DEFAULT_PAIR[1], help=f'second degradation (default {DEFAULT_PAIR[1]})')
    if root is not None:
        for name in ORIGINAL_PAIR:
            spec = degradation(name)
            parser.add_argument(original_folder_flag(name), default=None,
                                help=f'{spec.adjective} LR images (default {root}/{spec.folder})')
        parser.add_argument('--deg_a_folder', default=None, help='LR images of --deg_a (overrides the above)')
        parser.add_argument('--deg_b_folder', default=None, help='LR images of --deg_b')


def original_folder_flag(deg, suffix='folder'):
    """The original's ``--<deg>_<suffix>`` flag of a degradation of its pair (``--blur_folder``), else None."""
    return f'--{deg}_{suffix}' if deg in ORIGINAL_PAIR else None


def flag_value(args, flag):
    """The parsed value of ``flag`` (None for no flag)."""
    return getattr(args, flag[2:]) if flag else None


def pair_names(args):
    return tuple(spec.name for spec in pair(args.deg_a, args.deg_b))


def pair_folder_flags(args):
    """{degradation: the flag that names its LR folder} (what an error about that folder names)."""
    flags = {}
    for deg, own, flag in ((args.deg_a, args.deg_a_folder, '--deg_a_folder'),
                           (args.deg_b, args.deg_b_folder, '--deg_b_folder')):
        flags[deg] = flag if own else original_folder_flag(deg) or flag
    return flags


def pair_folders(args, root):
    """{degradation: LR folder} for ``--deg_a``/``--deg_b``, each checked to exist."""
    folders = {}
    flags = pair_folder_flags(args)
    for deg, own in ((args.deg_a, args.deg_a_folder), (args.deg_b, args.deg_b_folder)):
        original = getattr(args, f'{deg}_folder', None) if original_folder_flag(deg) else None
        folder = own or original or osp.join(root, degradation(deg).folder)
        require_folder(folder, flags[deg])
        folders[deg] = folder
    first, second = folders.values()
    if osp.realpath(first) == osp.realpath(second):
        raise InputError(f'{second}: the same folder for both degradations ({", ".join(folders)}); each needs its '
                         'own degraded images')
    return folders


def network_option(args, net):
    from faig.networks import parse_network_option, preset
    return parse_network_option(args.network_g) if args.network_g else preset(net, args.scale)
