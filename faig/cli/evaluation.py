"""analysis/tools/<net>/{mask_neurons,comparison}.py: mask the top-p % filters of each ranking,
restore the degraded test images, and compare the rankings (tables, curves, masking figure)."""
import os.path as osp

from faig.attribution.methods import METHODS, PAPER_METHODS, load_methods
from faig.cli.args import (Parser, add_model_args, add_network_args, add_pair_args, network_option,
                           original_folder_flag, pair_names, percent, require_file, require_folder,
                           require_output_folder, resolve_device)
from faig.errors import InputError, cli
from faig.evaluation.masking import DEFAULT_PROPORTIONS
from faig.outputs import network_label
from faig.paths import dataset_name, default_test_root
from faig.specs import ORIGINAL_PAIR, ResultsLayout, degradation, network
from faig.store import RunOutputs, check_not_inputs, check_provenance, folder_locks, sha1_file, state_digest


def evaluation_parser(net, description):
    prefix = network(net).flag_prefix
    default = ResultsLayout(net, '<dataset>')
    parser = Parser(description=description)
    add_model_args(parser, net)
    add_network_args(parser, net)
    parser.add_argument('--dataset', default=dataset_name(default_test_root()),
                        help='dataset name: images are read from datasets/<dataset>')
    add_pair_args(parser)
    for name in ORIGINAL_PAIR:
        spec = degradation(name)
        parser.add_argument(original_folder_flag(name, 'folder_name'), default=None,
                            help=f'{spec.adjective} LR folder under the dataset ({spec.folder})')
    parser.add_argument('--deg_a_folder_name', default=None, help='LR folder of --deg_a under the dataset '
                        '(default: the folder of its spec in faig/specs.py)')
    parser.add_argument('--deg_b_folder_name', default=None, help='LR folder of --deg_b under the dataset')
    parser.add_argument(f'--{prefix}_neuron_folder', dest='neuron_folder', default=None,
                        help=f'rankings: <this>/<dataset>/<method>/ (default {osp.dirname(default.rankings("x"))})')
    parser.add_argument(f'--{prefix}_mask_save_folder', dest='mask_folder', default=None,
                        help=f'masked outputs: <this>/<dataset>/<method>/ (default {default.masking()})')
    load_methods()  # methods of plugins (FAIG_PLUGINS) and of faig/attribution/*_method.py can be compared too
    parser.add_argument('--methods', nargs='+', default=list(PAPER_METHODS), choices=list(METHODS),
                        help=f'rankings to compare (default: the paper\'s, {" ".join(PAPER_METHODS)})')
    parser.add_argument('--proportions', nargs='+', type=percent, default=list(DEFAULT_PROPORTIONS),
                        help='percent of filters to mask, each in (0, 100]')
    parser.add_argument('--allow_other_models', action='store_true',
                        help="use rankings whose meta.json records other models or images than those given "
                        "(said at the end of the run; the comparison also records it in its meta.json)")
    return parser


def results_layout(args, net):
    """Output folders named after the network actually used (this one, or the type of --network_g)."""
    overrides = {'neuron_search': args.neuron_folder, 'masking': args.mask_folder,
                 'metrics': getattr(args, 'metric_folder', None), 'figures': getattr(args, 'figure_folder', None),
                 'target_outputs': getattr(args, 'target_model_output_root', None)}
    label = network_label(net, network_option(args, net)) if args.network_g else net
    return ResultsLayout(label, args.dataset, overrides={k: v for k, v in overrides.items() if v})


def folder_names(args, degs):
    given = {deg: getattr(args, f'{deg}_folder_name') for deg in ORIGINAL_PAIR}
    own = dict(zip(degs, (args.deg_a_folder_name, args.deg_b_folder_name)))
    return {deg: own[deg] or given.get(deg) or degradation(deg).folder for deg in degs}


def check_paths(args, net, degs, layout, outputs=None):
    """Everything the run reads exists, everything it writes is writable and outside what it reads."""
    require_file(args.baseline_model_path, '--baseline_model_path')
    require_file(args.target_model_path, '--target_model_path')
    dataroot = osp.join('datasets', args.dataset)
    require_folder(dataroot, '--dataset')
    inputs = {}
    names = folder_names(args, degs)
    if len({osp.realpath(osp.join(dataroot, n)) for n in names.values()}) < len(names):
        raise InputError(f'{osp.join(dataroot, names[degs[0]])}: the same folder for both degradations '
                         f'({", ".join(degs)}); each needs its own degraded images')
    for deg, name in names.items():
        flag = original_folder_flag(deg, 'folder_name') or '--dataset'
        require_folder(osp.join(dataroot, name), flag)
        inputs[flag] = osp.join(dataroot, name)
    for method in args.methods:
        for deg in degs:
            require_file(osp.join(layout.rankings(method), f'{deg}_index.txt'), f'ranking of {method}; run it first')
        inputs[f'the ranking of {method}'] = layout.rankings(method)
    mask_flag = f'--{network(net).flag_prefix}_mask_save_folder'
    outputs = {mask_flag: layout.masking(), **(outputs or {}),
               **{f'{mask_flag} ({m})': osp.join(layout.masking(), m) for m in args.methods}}
    for flag, folder in outputs.items():
        require_output_folder(folder, flag)
    check_not_inputs(outputs, inputs, dataroots=[dataroot],
                     input_files={'--baseline_model_path': args.baseline_model_path,
                                  '--target_model_path': args.target_model_path})
    return dataroot


def check_scale(dataroot, folders, scale, channels=(3, 3)):
    """LR inputs times --scale must give the GT size (when the dataset has its GTmod12); images are
    read with the network's (input, output) channels (1: gray)."""
    from faig.data.image_io import pair_by_name
    from faig.attribution.runner import check_image_sets
    gt = osp.join(dataroot, 'GTmod12')
    if osp.isdir(gt):
        check_image_sets(pair_by_name({'gt': gt, **folders}), scale, channels=channels)


def build_setup(args, net, layout, dataroot, channel='gray'):
    """The comparison's setup, after :func:`check_paths`: models loaded and checked, LR sizes checked,
    proportions that select no filter refused."""
    from faig.attribution.filters import require_weight_change, space_for_network
    from faig.evaluation.comparison import Setup
    from faig.networks import load_model_pair
    degs = pair_names(args)
    device = resolve_device(args.device)
    opt = network_option(args, net)
    net, baseline, target = load_model_pair(opt, args.baseline_model_path, args.target_model_path, args.param_key)
    space = space_for_network(net)  # every layer kind (the same filters as FilterSpace(target) on conv-only nets)
    require_weight_change(space, baseline, target, args.baseline_model_path, args.target_model_path)
    require_selection(args.proportions, space.num_filters, '--proportions')
    names = folder_names(args, degs)
    from faig.inference import image_channels
    check_scale(dataroot, {deg: osp.join(dataroot, name) for deg, name in names.items()}, args.scale,
                image_channels(net))
    return Setup(net_opt=opt, baseline=baseline, target=target, dataroot=dataroot,
                 neuron_root=osp.dirname(layout.rankings('x')), mask_root=layout.masking(),
                 metric_root=layout.metrics(), target_output_root=layout.target_outputs(), folder_names=names,
                 methods=tuple(args.methods), proportions=tuple(args.proportions), channel=channel, device=str(device),
                 degradations=degs, target_path=args.target_model_path)


def require_selection(proportions, num_filters, flag):
    """A proportion must select at least one filter (p % of N is rounded down, as the original did)."""
    from faig.evaluation.masking import num_selected
    for p in proportions:
        if num_selected(num_filters, p) == 0:
            raise InputError(f'{flag}: {p:g} % of the {num_filters} filters selects none (rounded down); '
                             f'use at least {100 / num_filters:.3g} %')


def given_contents(comparison):
    """Hashes of the models and input images a comparison is given (computed once, used by the provenance
    check and by the comparison's run key)."""
    from faig.attribution.runner import inputs_digest
    from faig.data.image_io import pair_by_name
    s = comparison.s
    return {'baseline': state_digest(s.baseline), 'target': state_digest(s.target),
            'inputs': inputs_digest(pair_by_name({deg: s.input_folder(deg) for deg in s.degradations}))}


def check_rankings(comparison, args, given):
    """Every ranking read and checked against the models and images given (faig.store.check_provenance)
    before the first output is written. Returns {method: problems accepted with --allow_other_models}."""
    s = comparison.s
    accepted = {}
    for method in s.methods:
        comparison.rankings(method)
        problems = check_provenance(osp.join(s.neuron_root, method), given, args.allow_other_models)
        if problems:
            accepted[method] = problems
    return accepted


@cli
def mask_main(net, argv=None):
    parser = evaluation_parser(net, 'Mask (put the baseline back at) the top-p % filters of each ranking and '
                               'restore the degraded images.')
    args = parser.parse_args(argv)
    layout = results_layout(args, net)
    dataroot = check_paths(args, net, pair_names(args), layout)
    from faig.evaluation.comparison import Comparison
    comparison = Comparison(build_setup(args, net, layout, dataroot))
    accepted = check_rankings(comparison, args, given_contents(comparison))
    with folder_locks(comparison.s.mask_root):
        for method in comparison.s.methods:
            for p in comparison.s.proportions:
                for masked in comparison.s.degradations:
                    comparison.masked_outputs(method, comparison.rankings(method), p, masked)
            print(f'{method}: masked outputs -> {osp.join(comparison.s.mask_root, method)}')
    print_accepted(accepted)


def print_accepted(accepted, where=''):
    """The closing note of a run that used rankings of other models (--allow_other_models), so that it is the
    last thing a reader sees, not only a warning among the progress lines."""
    if accepted:
        shown = '; '.join(f'{m}: ' + ', '.join(p) for m, p in accepted.items())
        print(f'note: rankings used with other models or images (--allow_other_models): {shown}{where}')


def comparison_key(comparison, given):
    """What the comparison's numbers depend on: models, rankings, images and settings (contents, not paths)."""
    s = comparison.s
    return {**given, 'network': s.net_opt, 'methods': list(s.methods), 'proportions': list(s.proportions),
            'degradations': list(s.degradations), 'channel': s.channel,
            'rankings': {m: {d: sha1_file(osp.join(s.neuron_root, m, f'{d}_index.txt')) for d in s.degradations}
                         for m in s.methods}}


@cli
def comparison_main(net, argv=None):
    prefix = network(net).flag_prefix
    parser = evaluation_parser(net, 'Compare FAIG, IG, |θ−θ̄| and random: mask, restore, measure output '
                               'differences.')
    parser.add_argument(f'--{prefix}_metric_save_folder', dest='metric_folder', default=None,
                        help='metrics: <this>/<dataset>/ (default results/Interpret/metrics/<net>)')
    parser.add_argument('--target_model_output_root', default=None,
                        help=f'target outputs (default {ResultsLayout(net, "").target_outputs()})')
    parser.add_argument('--figure_folder', default=None, help=f'default {ResultsLayout(net, "").figures()}')
    parser.add_argument('--net_type', default=net, help=f"the original's flag; must name this network ({net})")
    parser.add_argument('--teaser_image', default=None, help='image (name without extension) of the masking figure')
    parser.add_argument('--gradient_channel', default='gray', choices=['gray', 'blue'],
                        help="'blue' reproduces the original's blue-channel gradient map")
    parser.add_argument('--force', action='store_true',
                        help='replace the metrics of another comparison (other models, rankings or settings)')
    args = parser.parse_args(argv)
    if args.net_type != net:
        raise InputError(f'--net_type {args.net_type}: this is the {net} comparison script')
    layout = results_layout(args, net)
    dataroot = check_paths(args, net, pair_names(args), layout, outputs={
        f'--{prefix}_metric_save_folder': layout.metrics(), '--figure_folder': layout.figures(),
        '--target_model_output_root': layout.target_outputs()})

    from faig.attribution.ranking import json_bytes
    from faig.evaluation.comparison import METRIC_PATTERNS, Comparison, mean_results, metric_files, print_tables
    from faig.figures import plot_proportion_curves
    setup = build_setup(args, net, layout, dataroot, args.gradient_channel)
    comparison = Comparison(setup)
    if args.teaser_image and args.teaser_image not in comparison.stems:
        raise InputError(f'--teaser_image {args.teaser_image}: not among the test images '
                         f'({", ".join(comparison.stems)})')
    given = given_contents(comparison)
    accepted = check_rankings(comparison, args, given)
    key = comparison_key(comparison, given)
    # the folders are checked against the inputs by check_paths, before the models are loaded
    with folder_locks(setup.mask_root, setup.target_output_root, layout.figures()), \
            RunOutputs(setup.metric_root, key, METRIC_PATTERNS, force=args.force) as run:
        per_image = comparison.run()
        results = mean_results(per_image)
        files = metric_files(per_image, setup.methods, setup.proportions, setup.degradations)
        files['meta.json'] = json_bytes({'run_key': key, 'target_path': args.target_model_path,
                                         'baseline_path': args.baseline_model_path,
                                         'other_models_allowed': accepted})
        run.commit(files)
        print_tables(results, setup.methods, setup.proportions, setup.degradations)
        path = plot_proportion_curves(results, setup.methods, setup.proportions, f'{layout.net} on {args.dataset}',
                                      layout.figure('proportion_curves'),
                                      setup.degradations)
        method = 'faig' if 'faig' in setup.methods else setup.methods[0]
        teaser = masking_figure(comparison, args.teaser_image, layout.figures(), args.dataset, method)
    print_accepted(accepted, ' (recorded in meta.json)')
    print(f'\nmetrics -> {setup.metric_root} (txt, comparison.csv, comparison.md); figures -> {path}, {teaser}')
    return results


def masking_figure(comparison, image, figure_folder, dataset, method='faig', proportion=1):
    """The paper's teaser: per degraded input, the input, the target output, and the outputs with
    the top-1 % filters of each degradation masked (centre crops, input shown at output size); under each
    row, |masked − target| per pixel on one colour scale per row."""
    from faig.data.image_io import as_bgr, read_image
    from faig.figures import crop_center, difference_map, masking_sheet, save_figure, upscale_nearest
    from faig.inference import image_channels
    stem = image or comparison.stems[0]
    degs = comparison.s.degradations
    targets = comparison.target_outputs()
    rankings = comparison.rankings(method)
    masked = {m: comparison.masked_outputs(method, rankings, proportion, m) for m in degs}
    rows = []
    for deg in degs:
        lq = as_bgr(read_image(comparison.inputs[deg][stem], float32=False, channels=image_channels(comparison.net)[0]))
        target = as_bgr(targets[deg][stem])
        cells = [crop_center(c, 160) for c in (upscale_nearest(lq, target.shape), target,
                                                *(as_bgr(masked[m][deg][stem]) for m in degs))]
        maps = [None, None, *(difference_map(c, cells[1]) for c in cells[2:])]  # none under input and target
        rows.append((degradation(deg).input_title, cells, maps))
    labels = ['input', 'target model',
              *(f'{proportion}% {degradation(m).function}\nfilters masked' for m in degs)]
    name = osp.basename(ResultsLayout('', dataset).figure('masking', stem))
    return save_figure(masking_sheet(rows, labels, title=f'{method.upper()} filters, image {stem}'),
                       osp.join(figure_folder, name))
