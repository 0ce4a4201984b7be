"""analysis/tools/<net>/{mask_neurons,comparison}.py: mask the top-p % filters of each ranking,
restore the degraded test images, and compare the rankings (tables, curves, masking figure)."""
import os.path as osp

from faig.cli.args import (Parser, add_model_args, add_network_args, add_pair_args, network_option, pair_names,
                           percent, require_file, require_folder, require_output_folder, resolve_device)
from faig.errors import InputError, cli
from faig.evaluation.masking import DEFAULT_PROPORTIONS
from faig.paths import dataset_name, default_test_root
from faig.specs import RANKING_METHODS, ResultsLayout, network


def evaluation_parser(net, description):
    prefix = network(net).flag_prefix
    default = ResultsLayout(net, '<dataset>')
    parser = Parser(description=description)
    add_model_args(parser, net)
    add_network_args(parser, net)
    parser.add_argument('--dataset', default=dataset_name(default_test_root()),
                        help='dataset name: images are read from datasets/<dataset>')
    add_pair_args(parser)
    parser.add_argument('--blur_folder_name', default=None, help='blurry LR folder under the dataset (Blur2_LRbicx2)')
    parser.add_argument('--noise_folder_name', default=None,
                        help='noisy LR folder under the dataset (LRbicx2_noise0.1)')
    parser.add_argument('--deg_a_folder_name', default=None, help='LR folder of --deg_a under the dataset '
                        '(default: the folder of its spec in faig/specs.py)')
    parser.add_argument('--deg_b_folder_name', default=None, help='LR folder of --deg_b under the dataset')
    parser.add_argument(f'--{prefix}_neuron_folder', dest='neuron_folder', default=None,
                        help=f'rankings: <this>/<dataset>/<method>/ (default {osp.dirname(default.rankings("x"))})')
    parser.add_argument(f'--{prefix}_mask_save_folder', dest='mask_folder', default=None,
                        help=f'masked outputs: <this>/<dataset>/<method>/ (default {default.masking()})')
    parser.add_argument('--methods', nargs='+', default=list(RANKING_METHODS), choices=list(RANKING_METHODS))
    parser.add_argument('--proportions', nargs='+', type=percent, default=list(DEFAULT_PROPORTIONS),
                        help='percent of filters to mask, each in (0, 100]')
    return parser


def results_layout(args, net):
    overrides = {'neuron_search': args.neuron_folder, 'masking': args.mask_folder,
                 'metrics': getattr(args, 'metric_folder', None), 'figures': getattr(args, 'figure_folder', None),
                 'target_outputs': getattr(args, 'target_model_output_root', None)}
    return ResultsLayout(net, args.dataset, overrides={k: v for k, v in overrides.items() if v})


def folder_names(args, degs):
    from faig.specs import degradation
    given = {'blur': args.blur_folder_name, 'noise': args.noise_folder_name}
    own = dict(zip(degs, (args.deg_a_folder_name, args.deg_b_folder_name)))
    return {deg: own[deg] or given.get(deg) or degradation(deg).folder for deg in degs}


def check_paths(args, net, degs, layout):
    """Everything the run reads exists and everything it writes is writable -- before torch is imported."""
    require_file(args.baseline_model_path, '--baseline_model_path')
    require_file(args.target_model_path, '--target_model_path')
    dataroot = osp.join('datasets', args.dataset)
    require_folder(dataroot, '--dataset')
    for deg, name in folder_names(args, degs).items():
        require_folder(osp.join(dataroot, name), f'--{deg}_folder_name' if deg in ('blur', 'noise') else '--dataset')
    for method in args.methods:
        for deg in degs:
            require_file(osp.join(layout.rankings(method), f'{deg}_index.txt'), f'ranking of {method}; run it first')
    require_output_folder(layout.masking(), '--mask_save_folder')
    return dataroot


def check_scale(dataroot, folders, scale):
    """LR inputs times --scale must give the GT size (when the dataset has its GTmod12)."""
    from faig.data.image_io import pair_by_name
    from faig.attribution.runner import check_image_sets
    gt = osp.join(dataroot, 'GTmod12')
    if osp.isdir(gt):
        check_image_sets(pair_by_name({'gt': gt, **folders}), scale)


def build_setup(args, net, layout, dataroot, channel='gray'):
    """The comparison's setup, after :func:`check_paths`: models loaded and checked, LR sizes checked."""
    from faig.evaluation.comparison import Setup
    from faig.networks import load_model_pair
    degs = pair_names(args)
    device = resolve_device(args.device)
    opt = network_option(args, net)
    _, baseline, target = load_model_pair(opt, args.baseline_model_path, args.target_model_path, args.param_key)
    names = folder_names(args, degs)
    check_scale(dataroot, {deg: osp.join(dataroot, name) for deg, name in names.items()}, args.scale)
    return Setup(net_opt=opt, baseline=baseline, target=target, dataroot=dataroot,
                 neuron_root=osp.dirname(layout.rankings('x')), mask_root=layout.masking(),
                 metric_root=layout.metrics(), target_output_root=layout.target_outputs(), folder_names=names,
                 methods=tuple(args.methods), proportions=tuple(args.proportions), channel=channel, device=str(device),
                 degradations=degs, target_path=args.target_model_path)


@cli
def mask_main(net, argv=None):
    parser = evaluation_parser(net, 'Mask (put the baseline back at) the top-p % filters of each ranking and '
                               'restore the degraded images.')
    args = parser.parse_args(argv)
    layout = results_layout(args, net)
    dataroot = check_paths(args, net, pair_names(args), layout)
    from faig.evaluation.comparison import Comparison
    comparison = Comparison(build_setup(args, net, layout, dataroot))
    for method in comparison.s.methods:
        comparison.rankings(method)  # all checked before the first output is written
    for method in comparison.s.methods:
        for p in comparison.s.proportions:
            for masked in comparison.s.degradations:
                comparison.masked_outputs(method, comparison.rankings(method), p, masked)
        print(f'{method}: masked outputs -> {osp.join(comparison.s.mask_root, method)}')


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
    args = parser.parse_args(argv)
    if args.net_type != net:
        raise InputError(f'--net_type {args.net_type}: this is the {net} comparison script')
    layout = results_layout(args, net)
    dataroot = check_paths(args, net, pair_names(args), layout)
    require_output_folder(layout.metrics(), f'--{prefix}_metric_save_folder')
    require_output_folder(layout.figures(), '--figure_folder')

    from faig.evaluation.comparison import Comparison, mean_results, print_tables, write_metric_files
    from faig.figures import plot_proportion_curves
    setup = build_setup(args, net, layout, dataroot, args.gradient_channel)
    comparison = Comparison(setup)
    if args.teaser_image and args.teaser_image not in comparison.stems:
        raise InputError(f'--teaser_image {args.teaser_image}: not among the test images '
                         f'({", ".join(comparison.stems)})')
    per_image = comparison.run()
    results = mean_results(per_image)
    write_metric_files(per_image, setup.metric_root, setup.methods, setup.proportions, setup.degradations)
    print_tables(results, setup.methods, setup.proportions, setup.degradations)
    path = plot_proportion_curves(results, setup.methods, setup.proportions, f'{net} on {args.dataset}',
                                  osp.join(layout.figures(), f'proportion_curves_{args.dataset}.png'),
                                  setup.degradations)
    method = 'faig' if 'faig' in setup.methods else setup.methods[0]
    teaser = masking_figure(comparison, args.teaser_image, layout.figures(), args.dataset, method)
    print(f'\nmetrics -> {setup.metric_root} (txt, comparison.csv, comparison.md); figures -> {path}, {teaser}')
    return results


def masking_figure(comparison, image, figure_folder, dataset, method='faig', proportion=1):
    """The paper's teaser: per degraded input, the input, the target output, and the outputs with
    the top-1 % filters of each degradation masked (centre crops, input shown at output size)."""
    from faig.data.image_io import read_image
    from faig.figures import contact_sheet, crop_center, upscale_nearest
    from faig.specs import degradation
    stem = image or comparison.stems[0]
    degs = comparison.s.degradations
    targets = comparison.target_outputs()
    rankings = comparison.rankings(method)
    masked = {m: comparison.masked_outputs(method, rankings, proportion, m) for m in degs}
    rows = []
    for deg in degs:
        lq = read_image(comparison.inputs[deg][stem], float32=False)
        target = targets[deg][stem]
        cells = [upscale_nearest(lq, target.shape), target, *(masked[m][deg][stem] for m in degs)]
        rows.append((degradation(deg).input_title, [crop_center(c, 160) for c in cells]))
    labels = ['input', 'target model',
              *(f'{proportion}% {degradation(m).function}\nfilters masked' for m in degs)]
    return contact_sheet(rows, labels, osp.join(figure_folder, f'masking_{dataset}_{stem}.png'), cell_width=170,
                         title=f'{method.upper()} filters, image {stem}')
