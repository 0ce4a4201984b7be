"""Command lines of mask_neurons.py, comparison.py and the analysis/scripts tools (one implementation)."""
import argparse
import os.path as osp

import numpy as np

from faig.attribution.filters import FilterSpace
from faig.attribution.path import check_compatible
from faig.attribution.ranking import read_index
from faig.errors import InputError, cli
from faig.evaluation.comparison import (INPUTS, METHODS, Comparison, Setup, load_outputs, print_tables,
                                        restore_images, write_metric_files)
from faig.evaluation.masking import DEFAULT_PROPORTIONS, MASK_KINDS, modulate_filters, num_selected, top_filters
from faig.evaluation.location import describe_location, filter_location
from faig.networks import build_network, load_params, parse_network_option, preset
from faig.paths import dataset_name, default_model, default_test_root

FLAG_PREFIX = {'srresnet': 'srresnet', 'srcnn_style': 'srcnn'}


def target_output_root(net):
    return f'results/Interpret/{FLAG_PREFIX.get(net, net)}-targetmodel-sr'


def evaluation_parser(net, description):
    prefix = FLAG_PREFIX.get(net, net)
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--baseline_model_path', default=default_model(net, 'baseline'))
    parser.add_argument('--target_model_path', default=default_model(net, 'target'))
    parser.add_argument('--scale', type=int, default=2, help='scale ratio')
    parser.add_argument('--dataset', default=dataset_name(default_test_root()),
                        help='dataset name: images are read from datasets/<dataset>')
    parser.add_argument('--blur_folder_name', default='Blur2_LRbicx2')
    parser.add_argument('--noise_folder_name', default='LRbicx2_noise0.1')
    parser.add_argument(f'--{prefix}_neuron_folder', dest='neuron_folder',
                        default=f'results/Interpret/neuron-search/{net}', help='rankings: <this>/<dataset>/<method>/')
    parser.add_argument(f'--{prefix}_mask_save_folder', dest='mask_folder',
                        default=f'results/Interpret/masking/{net}', help='masked outputs: <this>/<dataset>/<method>/')
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    parser.add_argument('--proportions', nargs='+', type=float, default=list(DEFAULT_PROPORTIONS),
                        help='percent of filters to mask')
    parser.add_argument('--network_g', default=None, help=f'network options (default: {net} preset)')
    parser.add_argument('--param_key', default=None)
    parser.add_argument('--device', default=None)
    return parser


def build_setup(args, net, metric_root='', target_root=None, channel='gray'):
    from faig.attribution.runner import file_fingerprint, torch_device
    opt = parse_network_option(args.network_g) if args.network_g else preset(net, args.scale)
    baseline = load_params(args.baseline_model_path, args.param_key)
    target = load_params(args.target_model_path, args.param_key)
    check_compatible(baseline, target, args.baseline_model_path, args.target_model_path)
    dataroot = osp.join('datasets', args.dataset)
    if not osp.isdir(dataroot):
        raise InputError(f'{dataroot}: dataset folder not found (--dataset {args.dataset})')
    proportions = tuple(int(p) if float(p).is_integer() else p for p in args.proportions)
    return Setup(net_opt=opt, baseline=baseline, target=target, dataroot=dataroot,
                 neuron_root=osp.join(args.neuron_folder, args.dataset),
                 mask_root=osp.join(args.mask_folder, args.dataset), metric_root=metric_root,
                 target_output_root=target_root or target_output_root(net),
                 folder_names={'blur': args.blur_folder_name, 'noise': args.noise_folder_name},
                 methods=tuple(args.methods), proportions=proportions, channel=channel,
                 device=str(torch_device(args.device)),
                 models_id=file_fingerprint(args.baseline_model_path) + '|' + file_fingerprint(args.target_model_path))


@cli
def mask_main(net):
    parser = evaluation_parser(net, 'Mask (put the baseline back at) the top-p % filters of each ranking and restore '
                               'the blurry and noisy images.')
    args = parser.parse_args()
    comparison = Comparison(build_setup(args, net))
    for method in comparison.s.methods:
        rankings = comparison.rankings(method)
        for p in comparison.s.proportions:
            for masked in INPUTS:
                comparison.masked_outputs(method, rankings, p, masked)
        print(f'{method}: masked outputs -> {osp.join(comparison.s.mask_root, method)}')


@cli
def comparison_main(net):
    prefix = FLAG_PREFIX.get(net, net)
    parser = evaluation_parser(net, 'Compare FAIG, IG, |θ−θ̄| and random: mask, restore, measure output differences.')
    parser.add_argument(f'--{prefix}_metric_save_folder', dest='metric_folder',
                        default=f'results/Interpret/metrics/{net}')
    parser.add_argument('--target_model_output_root', default=target_output_root(net))
    parser.add_argument('--figure_folder', default=f'results/Interpret/figures/{net}')
    parser.add_argument('--net_type', default=net, help='kept for the original command line')
    parser.add_argument('--teaser_image', default=None, help='image (name without extension) of the masking figure')
    parser.add_argument('--gradient_channel', default='gray', choices=['gray', 'blue'],
                        help="'blue' reproduces the original's blue-channel gradient map")
    args = parser.parse_args()
    metric_root = osp.join(args.metric_folder, args.dataset)
    setup = build_setup(args, net, metric_root, args.target_model_output_root, args.gradient_channel)
    comparison = Comparison(setup)
    results = comparison.run()
    write_metric_files(results, metric_root, setup.methods, setup.proportions)
    print_tables(results, setup.methods, setup.proportions)
    from faig.figures import plot_proportion_curves
    path = plot_proportion_curves(results, setup.methods, setup.proportions, f'{net} on {args.dataset}',
                                  osp.join(args.figure_folder, f'proportion_curves_{args.dataset}.png'))
    teaser = masking_figure(comparison, args.teaser_image, args.figure_folder, args.dataset)
    print(f'\nmetrics -> {metric_root} (txt, comparison.csv, comparison.md); figures -> {path}, {teaser}')
    return results


def masking_figure(comparison, image, figure_folder, dataset, method='faig', proportion=1):
    """The paper's teaser: per degraded input, the input, the target output, and the outputs with
    the top-1 % deblurring / denoising filters masked (centre crops, input shown at output size)."""
    from faig.figures import contact_sheet, crop_center, upscale_nearest
    stems = comparison.stems
    stem = image or stems[0]
    if stem not in stems:
        raise InputError(f'--teaser_image {stem}: not among the test images ({", ".join(stems)})')
    targets = comparison.target_outputs()
    rankings = comparison.rankings(method)
    masked = {m: comparison.masked_outputs(method, rankings, proportion, m) for m in INPUTS}
    rows = []
    for deg in INPUTS:
        lq = load_outputs(comparison.s.input_folder(deg), [stem])[stem]
        target = targets[deg][stem]
        cells = [upscale_nearest(lq, target.shape), target, masked['blur'][deg][stem], masked['noise'][deg][stem]]
        rows.append((f'{"blurry" if deg == "blur" else "noisy"} input', [crop_center(c, 160) for c in cells]))
    labels = ['input', 'target model', f'{proportion}% deblurring\nfilters masked', f'{proportion}% denoising\nfilters masked']
    return contact_sheet(rows, labels, osp.join(figure_folder, f'masking_{dataset}_{stem}.png'), cell_width=170,
                         title=f'{method.upper()} filters, image {stem}')


@cli
def distribution_main():
    parser = argparse.ArgumentParser(description='Where the top-p % deblurring and denoising filters sit.')
    parser.add_argument('--net', default='srresnet', choices=sorted(FLAG_PREFIX))
    parser.add_argument('--dataset', default=dataset_name(default_test_root()))
    args, _ = parser.parse_known_args()
    root = f'results/Interpret/neuron-search/{args.net}/{args.dataset}/faig'
    parser.add_argument('--target_model_path', default=default_model(args.net, 'target'))
    parser.add_argument('--blurry_neuron_txt', default=osp.join(root, 'blur_index.txt'))
    parser.add_argument('--noisy_neuron_txt', default=osp.join(root, 'noise_index.txt'))
    parser.add_argument('--proportion', type=float, default=1)
    parser.add_argument('--save_path', default=f'results/Interpret/figures/{args.net}/filter_distribution.png')
    parser.add_argument('--param_key', default=None)
    args = parser.parse_args()
    space = FilterSpace(load_params(args.target_model_path, args.param_key))
    rankings = {'blur': read_index(args.blurry_neuron_txt, space.num_filters),
                'noise': read_index(args.noisy_neuron_txt, space.num_filters)}
    from faig.figures import plot_filter_distribution
    path = plot_filter_distribution(space, rankings, args.proportion, args.net, args.save_path)
    for deg, ranking in rankings.items():
        stats = filter_location(space, ranking, args.proportion)
        print(describe_location(f'top {args.proportion:g}% {deg} filters ({stats["filters"]})', stats))
    print(f'figure -> {path}')


@cli
def modulation_main():
    parser = argparse.ArgumentParser(description='Filter modulation: w = λ·θ_target + (1−λ)·θ_baseline on the top-p % '
                                     'FAIG filters of one degradation; λ=1 is the target, λ=0 the masked model.')
    parser.add_argument('--net', default='srresnet', choices=sorted(FLAG_PREFIX))
    args, _ = parser.parse_known_args()
    root = default_test_root()
    ranking_root = f'results/Interpret/neuron-search/{args.net}/{dataset_name(root)}/faig'
    parser.add_argument('--baseline_model_path', default=default_model(args.net, 'baseline'))
    parser.add_argument('--target_model_path', default=default_model(args.net, 'target'))
    parser.add_argument('--degradation', default='blur', choices=INPUTS)
    parser.add_argument('--dataset', default=dataset_name(root))
    parser.add_argument('--blurry_neuron_txt', default=None, help='ranking (default: FAIG blur_index.txt)')
    parser.add_argument('--noisy_neuron_txt', default=None, help='ranking (default: FAIG noise_index.txt)')
    parser.add_argument('--blur_folder', default=None, help='input images (default: datasets/<dataset>/Blur2_LRbicx2)')
    parser.add_argument('--noise_folder', default=None, help='input (default: datasets/<dataset>/LRbicx2_noise0.1)')
    parser.add_argument('--scale', type=int, default=2)
    parser.add_argument('--proportion', type=float, default=1)
    parser.add_argument('--lambdas', nargs='+', type=float, default=list(np.linspace(0, 1.5, 16)))
    parser.add_argument('--save_folder', default=None,
                        help='default: results/Interpret/modulation/<net>/<dataset>/faig')
    parser.add_argument('--network_g', default=None)
    parser.add_argument('--param_key', default=None)
    parser.add_argument('--device', default=None)
    args = parser.parse_args()
    from faig.attribution.runner import torch_device
    from faig.evaluation.gradient_map import image_gradient_map, output_difference
    from faig.figures import contact_sheet, crop_center
    deg = args.degradation
    ranking_path = (args.blurry_neuron_txt if deg == 'blur' else args.noisy_neuron_txt) or osp.join(
        ranking_root.replace(dataset_name(root), args.dataset), f'{deg}_index.txt')
    folder = (args.blur_folder if deg == 'blur' else args.noise_folder) or osp.join(
        'datasets', args.dataset, 'Blur2_LRbicx2' if deg == 'blur' else 'LRbicx2_noise0.1')
    save_folder = args.save_folder or f'results/Interpret/modulation/{args.net}/{args.dataset}/faig'
    opt = parse_network_option(args.network_g) if args.network_g else preset(args.net, args.scale)
    baseline = load_params(args.baseline_model_path, args.param_key)
    target = load_params(args.target_model_path, args.param_key)
    check_compatible(baseline, target, args.baseline_model_path, args.target_model_path)
    space = FilterSpace(target)
    top = top_filters(read_index(ranking_path, space.num_filters), args.proportion, space.num_filters)
    device = torch_device(args.device)
    net = build_network(opt).eval().to(device)
    kind = {'blur': 'Modulation-deblur-filter', 'noise': 'Modulation-denoise-filter'}[deg]
    base = osp.join(save_folder, f'{len(top)}kernels', kind)
    outputs, differences = {}, {}
    for lam in args.lambdas:
        net.load_state_dict(modulate_filters(baseline, target, top, lam, space))
        outputs[lam] = restore_images(net, folder, device, osp.join(base, f'lambda_{lam:.2f}'))
    reference = {s: image_gradient_map(img) for s, img in outputs[min(args.lambdas, key=lambda v: abs(v - 1))].items()}
    for lam in args.lambdas:
        differences[lam] = output_difference({s: image_gradient_map(i) for s, i in outputs[lam].items()}, reference)
    stems = sorted(outputs[args.lambdas[0]])
    rows = [(stem, [crop_center(outputs[lam][stem], 96) for lam in args.lambdas]) for stem in stems]
    labels = [f'λ={lam:.1f}' for lam in args.lambdas]
    title = (f'{args.net}: modulating the top {args.proportion:g}% FAIG '
             f'{"deblurring" if deg == "blur" else "denoising"} filters ({len(top)}), {args.dataset} '
             f'{"blurry" if deg == "blur" else "noisy"} inputs (centre crops)')
    sheet = contact_sheet(rows, labels, osp.join(base, 'contact_sheet.png'), cell_width=110, title=title)
    from faig.attribution.ranking import write_json
    write_json(osp.join(base, 'differences.json'),
               {'lambdas': [float(v) for v in args.lambdas], 'output_difference': [differences[v] for v in args.lambdas],
                'filters': int(len(top)), 'ranking': ranking_path, 'inputs': folder})
    print('λ      output difference to the target (gradient-map MSE ×1000)')
    for lam in args.lambdas:
        print(f'{lam:5.2f}  {differences[lam]:.4f}')
    print(f'outputs -> {base}; contact sheet -> {sheet}')
    return differences


def load_gradient_folder(folder):
    import glob
    paths = sorted(glob.glob(osp.join(folder, '*.npy')))
    if not paths:
        raise InputError(f'{folder}: no gradient maps (*.npy); run analysis/scripts/generate_gradient_map.py first')
    return {osp.splitext(osp.basename(p))[0]: np.load(p) for p in paths}


@cli
def gradient_map_main():
    parser = argparse.ArgumentParser(description='Gradient maps (npy) of every PNG under the target-output and masking '
                                     'folders of a network, mirrored under results/Interpret/gradient/<net>/<dataset>.')
    parser.add_argument('--net', default='srresnet', choices=sorted(FLAG_PREFIX))
    parser.add_argument('--dataset', default=dataset_name(default_test_root()))
    parser.add_argument('--channel', default='gray', choices=['gray', 'blue'])
    args = parser.parse_args()
    import glob
    import io

    import cv2

    from faig.data.image_io import write_bytes
    from faig.evaluation.gradient_map import image_gradient_map
    sources = {osp.join('results/Interpret/gradient', args.net, args.dataset, 'targetmodel-sr'):
               target_output_root(args.net),
               osp.join('results/Interpret/gradient', args.net, args.dataset):
               osp.join('results/Interpret/masking', args.net, args.dataset)}
    count = 0
    for out_root, in_root in sources.items():
        for path in sorted(glob.glob(osp.join(in_root, '**', '*.png'), recursive=True)):
            rel = osp.relpath(path, in_root)
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            buffer = io.BytesIO()
            np.save(buffer, image_gradient_map(img, args.channel))
            write_bytes(osp.join(out_root, osp.splitext(rel)[0] + '.npy'), buffer.getvalue())
            count += 1
    if not count:
        raise InputError(f'{target_output_root(args.net)}: no outputs found; run inference and mask_neurons first')
    print(f'{count} gradient maps -> results/Interpret/gradient/{args.net}/{args.dataset}')


@cli
def gradient_loss_main(input_deg):
    parser = argparse.ArgumentParser(description=f'Output differences on the {input_deg} input from saved gradient '
                                     'maps (analysis/scripts/generate_gradient_map.py).')
    parser.add_argument('--net', default='srresnet', choices=sorted(FLAG_PREFIX))
    parser.add_argument('--dataset', default=dataset_name(default_test_root()))
    parser.add_argument('--input_folder_name', default='Blur2_LRbicx2' if input_deg == 'blur' else 'LRbicx2_noise0.1')
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    parser.add_argument('--proportions', nargs='+', type=float, default=list(DEFAULT_PROPORTIONS))
    parser.add_argument('--total_neuron_nums', type=int, default=None, help='default: the network\'s filter count')
    args = parser.parse_args()
    from faig.cli_attribution import NET_DEFAULTS
    from faig.data.image_io import write_bytes
    from faig.evaluation.gradient_map import output_difference
    total = args.total_neuron_nums or NET_DEFAULTS[args.net]['total_neuron_nums']
    root = osp.join('results/Interpret/gradient', args.net, args.dataset)
    reference = load_gradient_folder(osp.join(root, 'targetmodel-sr', args.input_folder_name))
    metric_root = osp.join('results/Interpret/metrics', args.net, args.dataset)
    for masked in INPUTS:
        better = 'Higher' if masked == input_deg else 'Lower'
        print(f'masking {masked} filters, {input_deg} input ({better} is better):')
        for method in args.methods:
            values = []
            for p in args.proportions:
                folder = osp.join(root, method, f'{num_selected(total, p)}kernels', MASK_KINDS[masked],
                                  args.input_folder_name)
                values.append(output_difference(load_gradient_folder(folder), reference))
            write_bytes(osp.join(metric_root, f'{method}_{MASK_KINDS[masked]}_{input_deg}.txt'),
                        ''.join(f'{v:.6f}\n' for v in values).encode())
            print(f'  {method:>18}: ' + '  '.join(f'{p:g}%: {v:.4f}' for p, v in zip(args.proportions, values)))
