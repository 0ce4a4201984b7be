"""analysis/tools/<net>/{faig,ig,absolute_filter_change,random_neurons}.py and ``python -m faig <method>``.

One command line for every registered attribution method (faig.attribution.methods): its flags
come from what the method declares (models, image roles, its own settings), and the main only
builds an :class:`faig.attribution.pipeline.AttributionJob` and calls ``rank_dataset``. Arguments
are parsed and checked before torch is imported. Under ``torchrun --nproc_per_node K`` the
images are shared out over the K processes (see faig.attribution.pipeline).
"""
import os
import os.path as osp

from faig.attribution.modes import CHANNELS_LAST_MARGIN, LAYOUT_REPEATS, LAYOUTS
from faig.cli.args import (Parser, add_model_args, add_network_args, add_pair_args, network_option,
                           pair_folder_flags, pair_folders, pair_names, require_file, require_folder,
                           require_output_folder)
from faig.cli.tools import ATTRIBUTION_SCRIPTS, RESERVED_NAMES
from faig.errors import InputError, cli
from faig.outputs import dataset_label, network_label
from faig.paths import dataset_name, default_test_root
from faig.specs import CLEAN_FOLDER, DEFAULT_PAIR, NETWORKS, ResultsLayout
from faig.store import check_not_inputs

ROLE_FLAGS = {  # image role -> (flag, default folder under the test root, help)
    'gt': ('--gt_folder', 'GTmod12', 'ground-truth HR images'),
    'clean': ('--bic_folder', CLEAN_FOLDER, 'clean LR images'),
}


def role_flag(role):
    return ROLE_FLAGS.get(role, (f'--{role}_folder', role, f'{role} images'))


def method_parser(cls, net):
    """The command line of method ``cls`` for network ``net``: the pipeline's flags, then the method's."""
    root = default_test_root()
    parser = Parser(description=(cls.description or f'{cls.label or cls.name}: rank the filters of the {{net}} '
                                 'target model.').format(net=net, pair=' and '.join(DEFAULT_PAIR)))
    images = cls.image_roles is not None
    if images:
        add_network_args(parser, net)
    else:
        parser.add_argument('--network_g', default=None, help='network options (YAML file or inline YAML): '
                            + ('names the output folder, and its layer kinds (Linear, ConvTranspose, ...) define the '
                               'filters' if cls.models else 'whose filters are ranked'))
        if cls.models:
            parser.add_argument('--param_key', default=None, help='checkpoint key (default: params_ema, else params)')
        else:
            from faig.cli.args import positive_int
            parser.add_argument('--scale', type=positive_int, default=2, help='scale ratio (with the preset network)')
    if 'target' in cls.models:
        add_model_args(parser, net, baseline='baseline' in cls.models)
    add_pair_args(parser, root if images else None)
    for role in cls.image_roles or ():
        flag, folder, text = role_flag(role)
        parser.add_argument(flag, default=osp.join(root, folder), help=f'{text} (default {root}/{folder})')
    if images:
        exact = ("contiguous reproduces the original's scores bit for bit" if cls.name == 'faig' else
                 'either layout agrees with the original to float rounding')
        parser.add_argument('--layout', default='auto', choices=LAYOUTS,
                            help='memory layout of weights and images. auto (default): whichever of contiguous and '
                            'channels_last is faster on this machine, network and input size (forward+backward passes of both '
                            f'in turns, best of {LAYOUT_REPEATS} after a warm-up; channels-last only when at least '
                            f'{round(100 * (1 - CHANNELS_LAST_MARGIN))} %% faster; measured '
                            f'once and kept in ~/.cache/faig/layout.json); {exact}')
    if cls.models or cls.image_roles is None:
        parser.add_argument('--layers', default=None,
                            help="attribute only these layers: comma-separated fnmatch patterns of parameter or module "
                            "names, '!' excludes (e.g. 'body.*,!conv_last.weight'); the ranking then indexes the "
                            'selected filters only, and meta.json records the selection for the tools that read it')
    add_setting_args(parser, cls, net)
    add_output_args(parser, cls.name, resumable=images)
    return parser, root


def add_setting_args(parser, cls, net):
    """A flag per declared setting of method ``cls`` (its type, bounds and choices checked as the flag is read),
    then one per preset."""
    for setting in cls.setting_specs:
        parser.add_argument(f'--{setting.name}', type=setting.parse, default=setting.default, choices=setting.choices,
                            help=setting.help.format(net=net))
    for name, preset in cls.presets.items():
        parser.add_argument(f'--{name}', action='store_true', help=preset['help'])


def method_from_args(cls, args, net):
    """The method of the parsed flags: a preset given sets its flags first; a setting left at None takes the
    method's default for ``net``."""
    for name, preset in cls.presets.items():
        if getattr(args, name):
            for key, value in preset['settings'].items():
                setattr(args, key, value)
    given = {setting.keyword or setting.name: getattr(args, setting.name) for setting in cls.setting_specs}
    return cls(**{**cls.network_defaults(net), **{k: v for k, v in given.items() if v is not None}})


def add_output_args(parser, method, resumable=False):
    parser.add_argument('--record_filters_folder', default=None,
                        help=f'where the rankings go (default results/Interpret/neuron-search/<net>/<dataset>/{method}: '
                        '<net> is this network, or the type of --network_g; <dataset> the data set of the input '
                        'folders)')
    if resumable:
        parser.add_argument('--resume', action='store_true',
                            help='continue an interrupted run of the same settings (its finished images are reused; '
                            'any number of processes)')
    parser.add_argument('--force', action='store_true',
                        help='replace results of another run (other settings) in the output folder')


def output_folder(args, net, opt, method, image_folders=None, flags=None, writer=True):
    """``--record_filters_folder``, or its default named after the network and the data set actually
    used; checked to be writable and outside every folder the run reads (by the process that writes:
    under torchrun the output folder need only exist on rank 0's machine)."""
    dataset = dataset_label(image_folders.values()) if image_folders else dataset_name(default_test_root())
    folder = args.record_filters_folder or ResultsLayout(network_label(net, opt), dataset).rankings(method)
    if not writer:
        return folder
    require_output_folder(folder, '--record_filters_folder')
    models = {flag: getattr(args, flag[2:], None) for flag in ('--baseline_model_path', '--target_model_path')}
    check_not_inputs({'--record_filters_folder': folder},
                     {(flags or {}).get(role, f'--{role}_folder'): path for role, path in (image_folders or {}).items()},
                     input_files=models)
    return folder


def build_job(cls, args, net, root, writer=True):
    """The AttributionJob of parsed flags (every path checked before any heavy import; the output folder
    only by the ``writer``)."""
    from faig.networks import parse_network_option
    degs = pair_names(args)
    paths = {kind: getattr(args, f'{kind}_model_path') for kind in cls.models}
    for kind, path in paths.items():
        require_file(path, f'--{kind}_model_path')
    folders = flags = None
    if cls.image_roles is not None:
        folders, flags = {}, pair_folder_flags(args)
        for role in cls.image_roles:
            flag = flags[role] = role_flag(role)[0]
            require_folder(getattr(args, flag[2:]), flag)
            folders[role] = getattr(args, flag[2:])
        folders.update(pair_folders(args, root))
        opt = network_option(args, net)
    else:
        opt = parse_network_option(args.network_g) if args.network_g else None
    method = method_from_args(cls, args, net)
    if opt is None and not cls.models and (method.settings.get('total_neuron_nums') is None or args.layers):
        opt = network_option(args, net)  # the random ranking's size comes from the network (or its --layers)
    if 'total_neuron_nums' in method.settings and method.settings['total_neuron_nums'] is None:
        method.settings['total_neuron_nums'] = default_filter_count(net, args, opt)
    out = output_folder(args, net, opt, cls.name, folders, flags, writer)
    from faig.attribution.pipeline import AttributionJob  # torch: after every path is checked
    job = AttributionJob(out, degs, folders or {}, opt, net, paths, getattr(args, 'param_key', None),
                         getattr(args, 'scale', 2), getattr(args, 'device', None), getattr(args, 'layout', 'auto'),
                         getattr(args, 'resume', False), args.force, layers_option(args))
    return method, job


def layers_option(args):
    from faig.attribution.filters import parse_layers
    return parse_layers(getattr(args, 'layers', None))


def default_filter_count(net, args, opt):
    spec = NETWORKS.get(net)
    if spec and args.scale == 2 and not args.network_g and not getattr(args, 'layers', None):
        return spec.num_filters_x2
    return count_filters(opt, layers_option(args))


def count_filters(opt, layers=None):
    """Filters of a network built from its options (for the random ranking's default size)."""
    from faig.attribution.filters import space_for_network
    from faig.networks import build_network
    return space_for_network(build_network(opt), layers).num_filters


def summarize(folder, rankings, space):
    from faig.evaluation.location import describe_location, filter_location
    print(f'wrote {", ".join(f"{d}_index.txt" for d in rankings)} ({space.num_filters} filters) -> {folder}')
    for deg, ranking in rankings.items():
        print('  ' + describe_location(f'top-1% {deg} filters', filter_location(space, ranking)))


def report(method, job, result):
    if result is None or result.up_to_date:
        return
    meta = result.meta
    if job.folders:
        layout = 'channels_last' if meta.get('channels_last') else 'contiguous'
        seconds = meta.get('layout_seconds')
        ranks = f'; {meta["ranks"]} processes' if meta.get('ranks', 1) > 1 else ''
        print(f'device: {meta.get("device")}; layout: {layout}' + (f' (measured: {seconds})' if seconds else '') + ranks)
    for line in method.report_lines(meta):
        print(line)
    if result.space is not None:
        summarize(job.out, result.rankings, result.space)
    else:
        s = method.settings
        seed = f' (seed {s["seed"]})' if 'seed' in s else ''
        print(f'wrote {method.name} {"/".join(job.degradations)} rankings of {s.get("total_neuron_nums")} '
              f'filters{seed} -> {job.out}')


def attribution_main(name, net, argv=None):
    """The command line of the registered method ``name`` for network ``net``."""
    from faig.attribution.methods import get_method
    cls = get_method(name)
    parser, root = method_parser(cls, net)
    args = parser.parse_args(argv)
    if int(os.environ.get('WORLD_SIZE', '1')) <= 1:  # one process (Ranks.launched, before torch loads)
        method, job = build_job(cls, args, net, root)
        ranks = None
    else:  # join the other ranks first: a flag's file missing on one machine must stop them all, not leave them waiting
        from faig.attribution.ranks import Ranks
        ranks = Ranks(getattr(args, 'device', None))
        try:
            method, job = ranks.agree(lambda: build_job(cls, args, net, root, writer=ranks.main))
        except BaseException as exc:
            ranks.stop(exc)
            raise
    from faig.attribution.pipeline import rank_dataset  # torch: after the arguments and paths are checked
    result = rank_dataset(method, job, ranks)
    report(method, job, result)
    return result


def method_tool(name):
    """main(net, argv) of the attribution tool that runs method ``name``."""
    @cli
    def main(net, argv=None):
        return attribution_main(name, net, argv)
    main.__name__ = f'{name}_main'
    return main


ORIGINAL_TOOLS = {script: method_tool(method) for script, method in ATTRIBUTION_SCRIPTS.items()}  # their names
faig_main, ig_main = ORIGINAL_TOOLS['faig'], ORIGINAL_TOOLS['ig']
absolute_filter_change_main, random_main = ORIGINAL_TOOLS['absolute_filter_change'], ORIGINAL_TOOLS['random_neurons']


def tools():
    """{tool name: main(net, argv)}: the original's scripts and every registered method under its own name
    (a method may not take the name of another tool)."""
    from faig.attribution.methods import load_methods
    found = dict(ORIGINAL_TOOLS)
    for name, method in load_methods().items():
        if name in RESERVED_NAMES:
            raise InputError(f'{name}: the name of a tool; the attribution method {method.__name__} needs another name')
        if name not in found and name not in ATTRIBUTION_SCRIPTS.values():
            found[name] = method_tool(name)
    return found


TOOLS = ORIGINAL_TOOLS


@cli
def run_tool(tool, net, argv=None):
    """Entry of the thin per-network scripts (and of reproduce.py, in-process)."""
    return tools()[tool](net, argv)

