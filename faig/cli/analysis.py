"""analysis/scripts/{vis_filters_distribution,filter_modulation}.py: where the discovered filters
sit, and what happens when they are moved between the baseline and the target."""
import os.path as osp

import numpy as np

from faig.cli.args import (Parser, add_model_args, add_network_args, finite_float, network_option, percent,
                           require_file, require_folder, require_output_folder, resolve_device)
from faig.errors import cli
from faig.paths import dataset_name, default_model, default_test_root
from faig.specs import NETWORKS, ResultsLayout, degradation


def net_and_dataset(description, argv):
    """A parser whose defaults depend on --net and --dataset (read first)."""
    parser = Parser(description=description)
    parser.add_argument('--net', default='srresnet', choices=sorted(NETWORKS))
    parser.add_argument('--dataset', default=dataset_name(default_test_root()))
    known, _ = parser.parse_known_args(argv)
    return parser, known.net, ResultsLayout(known.net, known.dataset)


@cli
def distribution_main(argv=None):
    parser, net, layout = net_and_dataset('Where the top-p % filters of two degradations sit, per layer.', argv)
    parser.add_argument('--target_model_path', default=default_model(net, 'target'))
    parser.add_argument('--blurry_neuron_txt', default=osp.join(layout.rankings('faig'), 'blur_index.txt'))
    parser.add_argument('--noisy_neuron_txt', default=osp.join(layout.rankings('faig'), 'noise_index.txt'))
    parser.add_argument('--proportion', type=percent, default=1)
    parser.add_argument('--save_path', default=osp.join(layout.figures(), 'filter_distribution.png'))
    parser.add_argument('--param_key', default=None)
    args = parser.parse_args(argv)
    require_file(args.target_model_path, '--target_model_path')
    require_file(args.blurry_neuron_txt, '--blurry_neuron_txt')
    require_file(args.noisy_neuron_txt, '--noisy_neuron_txt')
    require_output_folder(osp.dirname(args.save_path) or '.', '--save_path')

    from faig.attribution.filters import FilterSpace
    from faig.attribution.ranking import read_index
    from faig.evaluation.location import describe_location, filter_location
    from faig.figures import plot_filter_distribution
    from faig.networks import load_params
    space = FilterSpace(load_params(args.target_model_path, args.param_key))
    rankings = {'blur': read_index(args.blurry_neuron_txt, space.num_filters),
                'noise': read_index(args.noisy_neuron_txt, space.num_filters)}
    path = plot_filter_distribution(space, rankings, args.proportion, net, args.save_path)
    for deg, ranking in rankings.items():
        stats = filter_location(space, ranking, args.proportion)
        print(describe_location(f'top {args.proportion:g}% {deg} filters ({stats["filters"]})', stats))
    print(f'figure -> {path}')


@cli
def modulation_main(argv=None):
    parser, net, layout = net_and_dataset(
        'Filter modulation: w = λ·θ_target + (1−λ)·θ_baseline on the top-p % FAIG filters of one degradation; '
        'λ=1 is the target, λ=0 the masked model.', argv)
    add_model_args(parser, net)
    parser.add_argument('--degradation', default='blur', help='whose filters to modulate (blur, noise, ...)')
    parser.add_argument('--blurry_neuron_txt', default=None, help='ranking (default: FAIG blur_index.txt)')
    parser.add_argument('--noisy_neuron_txt', default=None, help='ranking (default: FAIG noise_index.txt)')
    parser.add_argument('--neuron_txt', default=None, help='ranking of --degradation (default: FAIG <deg>_index.txt)')
    parser.add_argument('--blur_folder', default=None, help='input images (default: datasets/<dataset>/Blur2_LRbicx2)')
    parser.add_argument('--noise_folder', default=None, help='input (default: datasets/<dataset>/LRbicx2_noise0.1)')
    parser.add_argument('--input_folder', default=None, help='input images of --degradation (any degradation)')
    parser.add_argument('--proportion', type=percent, default=1)
    parser.add_argument('--lambdas', nargs='+', type=finite_float, default=list(np.linspace(0, 1.5, 16)))
    parser.add_argument('--save_folder', default=None, help=f'default: {layout.modulation()}')
    add_network_args(parser, net)
    args = parser.parse_args(argv)
    deg = degradation(args.degradation)
    original_ranking = {'blur': args.blurry_neuron_txt, 'noise': args.noisy_neuron_txt}.get(deg.name)
    original_folder = {'blur': args.blur_folder, 'noise': args.noise_folder}.get(deg.name)
    ranking_path = args.neuron_txt or original_ranking or osp.join(layout.rankings('faig'), f'{deg.name}_index.txt')
    folder = args.input_folder or original_folder or osp.join('datasets', args.dataset, deg.folder)
    save_folder = args.save_folder or layout.modulation()
    require_file(args.baseline_model_path, '--baseline_model_path')
    require_file(args.target_model_path, '--target_model_path')
    require_file(ranking_path, '--neuron_txt')
    require_folder(folder, '--input_folder')
    require_output_folder(save_folder, '--save_folder')

    from faig.attribution.filters import FilterSpace
    from faig.attribution.ranking import read_index, write_json
    from faig.cli.evaluation import check_scale
    from faig.data.image_io import list_images
    from faig.evaluation.gradient_map import image_gradient_map, per_image_difference
    from faig.evaluation.masking import modulate_filters, top_filters
    from faig.figures import contact_sheet, crop_center
    from faig.inference import restore_cached
    from faig.networks import load_model_pair
    from tqdm import tqdm
    device = resolve_device(args.device)
    opt = network_option(args, net)
    model, baseline, target = load_model_pair(opt, args.baseline_model_path, args.target_model_path, args.param_key)
    if osp.dirname(osp.normpath(folder)) == osp.join('datasets', args.dataset):
        check_scale(osp.join('datasets', args.dataset), {deg.name: folder}, args.scale)
    space = FilterSpace(target)
    top = top_filters(read_index(ranking_path, space.num_filters), args.proportion, space.num_filters)
    model = model.to(device)
    inputs = {osp.splitext(n)[0]: p for n, p in list_images(folder).items()}
    base = osp.join(save_folder, f'{len(top)}kernels', deg.modulation_kind)
    outputs, differences = {}, {}
    for lam in tqdm(args.lambdas, desc='modulation', unit='λ'):
        model.load_state_dict(modulate_filters(baseline, target, top, lam, space))
        outputs[lam] = restore_cached(model, inputs, osp.join(base, f'lambda_{lam:.2f}'), device, progress=False)
    reference = {s: image_gradient_map(img) for s, img in outputs[min(args.lambdas, key=lambda v: abs(v - 1))].items()}
    per_image = {}
    for lam in args.lambdas:
        per_image[lam] = per_image_difference({s: image_gradient_map(i) for s, i in outputs[lam].items()}, reference)
        differences[lam] = float(np.mean(list(per_image[lam].values())))
    stems = sorted(inputs)
    rows = [(stem, [crop_center(outputs[lam][stem], 96) for lam in args.lambdas]) for stem in stems]
    labels = [f'λ={lam:.1f}' for lam in args.lambdas]
    title = (f'{net}: modulating the top {args.proportion:g}% FAIG {deg.function} filters ({len(top)}), '
             f'{args.dataset} {deg.adjective} inputs (centre crops)')
    sheet = contact_sheet(rows, labels, osp.join(base, 'contact_sheet.png'), cell_width=110, title=title)
    write_json(osp.join(base, 'differences.json'),
               {'lambdas': [float(v) for v in args.lambdas],
                'output_difference': [differences[v] for v in args.lambdas],
                'filters': int(len(top)), 'ranking': ranking_path, 'inputs': folder,
                'per_image': {stem: [per_image[v][stem] for v in args.lambdas] for stem in stems}})
    print('λ      output difference to the target (gradient-map MSE ×1000)')
    for lam in args.lambdas:
        print(f'{lam:5.2f}  {differences[lam]:.4f}')
    print(f'outputs -> {base}; contact sheet -> {sheet}')
    return differences
