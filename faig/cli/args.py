"""Argument types and checks shared by the command lines. No torch import: ``--help`` and bad
arguments answer at once, before the seconds that torch and basicsr take to import."""
import argparse
import math
import os
import os.path as osp

from faig.errors import InputError


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text} must be >= 1')
    return value


def finite_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number') from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f'{text} is not a finite number')
    return value


def percent(text):
    """A proportion of filters in percent: 0 < p <= 100."""
    value = finite_float(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f'{text}: a proportion must be in (0, 100] percent')
    return int(value) if value.is_integer() else value


SEED_LIMIT = 2**32  # numpy's seeds: 0 <= seed < 2**32


def seed_int(text):
    """A random seed as numpy takes it: an integer in [0, 2**32 - 1]; negative or larger ones are refused
    (no silent mapping: ``--seed -1`` is an error, not another seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f'{text}: a seed must be an integer in [0, {SEED_LIMIT - 1}]')
    return value


def require_at_least(checks):
    """``checks``: (flag, integer value, lowest allowed); the first one too small is a one-line error."""
    for flag, value, low in checks:
        if value < low:
            need = {0: 'zero or a positive integer', 1: 'a positive integer'}.get(low, f'an integer of at least {low}')
            raise InputError(f'{flag}: must be {need}, got {value}')


class Parser(argparse.ArgumentParser):
    """argparse with the project's one-line error form: ``error: <flag>: <problem>``, exit 2."""

    def error(self, message):
        message = message[len('argument '):] if message.startswith('argument ') else message
        self.exit(2, f'error: {message} (see {self.prog} --help)\n')


def require_file(path, flag):
    if not osp.isfile(path):
        what = 'a folder, not a file' if osp.isdir(path) else 'file not found'
        raise InputError(f'{path}: {what} ({flag})')


def require_folder(path, flag):
    if not osp.isdir(path):
        what = 'a file, not a folder' if osp.exists(path) else 'folder not found'
        raise InputError(f'{path}: {what} ({flag})')


def require_output_folder(path, flag):
    """An output folder must be creatable and writable: checked before any work is done."""
    probe = osp.abspath(path)
    while not osp.exists(probe):
        probe = osp.dirname(probe)
    if not osp.isdir(probe):
        raise InputError(f'{path}: cannot write here, {probe} is a file ({flag})')
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f'{path}: folder is not writable ({flag})')
    import tempfile
    from faig.outputs import outermost_missing, remove_empty
    created = outermost_missing(path)
    try:  # access() says yes for root on /proc, a read-only mount, ...: try it, in the output folder itself
        os.makedirs(path, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(prefix='.write-check-', dir=path))
    except OSError as exc:
        raise InputError(f'{path}: cannot write here ({exc.strerror or exc}) ({flag})') from None
    finally:
        remove_empty(path, created)  # nothing is left behind


def require_output_file(path, flag):
    """An output file: not a folder, and its folder creatable and writable (checked before any work)."""
    if osp.isdir(path):
        raise InputError(f'{path}: {flag} is a folder; give a file name')
    require_output_folder(osp.dirname(path) or '.', flag)


def resolve_device(name=None):
    """``--device``: cuda/cpu/cuda:N; default cuda when available. A missing GPU is a user error."""
    import torch
    if not name:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f'--device {name}: not a device (use cpu, cuda or cuda:<index>)') from None
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise InputError(f'--device {name}: CUDA is not available on this machine (use --device cpu)')
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f'--device {name}: only {torch.cuda.device_count()} CUDA device(s)')
    elif device.type != 'cpu':
        raise InputError(f'--device {name}: only cpu and cuda are supported')
    return device


# ---- flag groups shared by several tools ------------------------------------------------------

def add_network_args(parser, net):
    parser.add_argument('--scale', type=positive_int, default=2, help='scale ratio')
    parser.add_argument('--network_g', default=None,
                        help=f'network options: YAML file (or its network_g) or inline YAML; default: {net} preset')
    parser.add_argument('--param_key', default=None, help='checkpoint key (default: params_ema, else params)')
    parser.add_argument('--device', default=None, help='cuda, cuda:<n> or cpu (default: cuda when available)')


def add_model_args(parser, net, baseline=True):
    from faig.paths import default_model
    if baseline:
        parser.add_argument('--baseline_model_path', default=default_model(net, 'baseline'))
    parser.add_argument('--target_model_path', default=default_model(net, 'target'))


def add_pair_args(parser, root=None):
    """The two degradations to tell apart (default: the paper's blur and noise) and their LR folders.

    ``--blur_folder``/``--noise_folder`` are the original's flags; any other degradation takes its
    folder from ``--deg_a_folder``/``--deg_b_folder`` (default: ``<test root>/<its spec's folder>``)."""
    from faig.specs import DEFAULT_PAIR
    parser.add_argument('--deg_a', default=DEFAULT_PAIR[0], help='first degradation (default blur)')
    parser.add_argument('--deg_b', default=DEFAULT_PAIR[1], help='second degradation (default noise)')
    if root is not None:
        parser.add_argument('--blur_folder', default=None, help=f'blurry LR images (default {root}/Blur2_LRbicx2)')
        parser.add_argument('--noise_folder', default=None,
                            help=f'noisy LR images (default {root}/LRbicx2_noise0.1)')
        parser.add_argument('--deg_a_folder', default=None, help='LR images of --deg_a (overrides the above)')
        parser.add_argument('--deg_b_folder', default=None, help='LR images of --deg_b')


def pair_names(args):
    from faig.specs import pair
    return tuple(spec.name for spec in pair(args.deg_a, args.deg_b))


def pair_folder_flags(args):
    """{degradation: the flag that names its LR folder} (what an error about that folder names)."""
    flags = {}
    for deg, own, flag in ((args.deg_a, args.deg_a_folder, '--deg_a_folder'),
                           (args.deg_b, args.deg_b_folder, '--deg_b_folder')):
        flags[deg] = flag if own or deg not in ('blur', 'noise') else f'--{deg}_folder'
    return flags


def pair_folders(args, root):
    """{degradation: LR folder} for ``--deg_a``/``--deg_b``, each checked to exist."""
    from faig.specs import degradation
    folders = {}
    flags = pair_folder_flags(args)
    for deg, own in ((args.deg_a, args.deg_a_folder), (args.deg_b, args.deg_b_folder)):
        original = getattr(args, f'{deg}_folder', None) if deg in ('blur', 'noise') else None
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
