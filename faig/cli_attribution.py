"""Command lines of analysis/tools/<net>/{faig,ig,absolute_filter_change,random_neurons}.py.

One implementation for every network: the per-network scripts only choose the preset
(network options, defaults that the original scripts had).
"""
import argparse
import os.path as osp
import time

import torch

from faig.attribution.filters import FilterSpace
from faig.attribution.path import LAYOUTS, use_channels_last
from faig.attribution.quadrature import METHODS
from faig.attribution.ranking import rank, write_rankings
from faig.attribution.runner import PartialStore, file_fingerprint, load_models, run_faig, run_ig, torch_device
from faig.attribution.weights import absolute_filter_change, random_rankings
from faig.errors import cli
from faig.evaluation.location import describe_location, filter_location
from faig.networks import load_params, parse_network_option, preset
from faig.paths import dataset_name, default_model, default_test_root

# What the original scripts did differently per network (kept so rankings match the original).
NET_DEFAULTS = {
    'srresnet': {'ig_method': 'riemann_left', 'faig_image_reduce': 'sum', 'total_neuron_nums': 151936},
    'srcnn_style': {'ig_method': 'riemann_closed_sum', 'faig_image_reduce': 'mean', 'total_neuron_nums': 156224},
}


# Chosen from docs/benchmarks.md (sections 3 and 4): the fastest settings whose top-1 % ranking
# agreed with the faithful N=100 ranking on both networks.
FAST_MODE = {
    'settings': {'quadrature': 'gauss_legendre', 'total_step': 8, 'precision': 'fp32', 'layout': 'channels_last'},
    'help': 'gauss_legendre with 8 nodes, fp32, channels_last',
}


def record_folder(net, method):
    return f'results/Interpret/neuron-search/{net}/{dataset_name(default_test_root())}/{method}'


def common_parser(net, description):
    root = default_test_root()
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--scale', type=int, default=2, help='scale ratio')
    parser.add_argument('--network_g', default=None,
                        help=f'network options: YAML file (or its network_g) or inline YAML; default: {net} preset')
    parser.add_argument('--param_key', default=None, help='checkpoint key (default: params_ema, else params)')
    parser.add_argument('--device', default=None, help='cuda / cpu (default: cuda when available)')
    return parser, root


def network_option(args, net):
    return parse_network_option(args.network_g) if args.network_g else preset(net, args.scale)


def add_path_args(parser, net, method, root, with_baseline=True):
    if with_baseline:
        parser.add_argument('--baseline_model_path', default=default_model(net, 'baseline'))
    parser.add_argument('--target_model_path', default=default_model(net, 'target'))
    parser.add_argument('--blur_folder', default=osp.join(root, 'Blur2_LRbicx2'))
    parser.add_argument('--noise_folder', default=osp.join(root, 'LRbicx2_noise0.1'))
    parser.add_argument('--total_step', type=int, default=100, help='number of quadrature nodes N')
    parser.add_argument('--quadrature', default=None, choices=METHODS,
                        help='quadrature rule (default: the original script\'s)')
    parser.add_argument('--record_filters_folder', default=record_folder(net, method))
    parser.add_argument('--resume', action='store_true', help='reuse per-image results of an interrupted run')
    parser.add_argument('--layout', default='auto', choices=LAYOUTS,
                        help='memory layout of weights and images. auto (default): channels_last on CPU (same '
                        'filter sets up to near-ties, scores within ~1e-4, faster), contiguous on CUDA; '
                        'contiguous on CPU reproduces the original\'s scores bit for bit')
    parser.add_argument('--channels_last', dest='layout', action='store_const', const='channels_last',
                        help='same as --layout channels_last')


def summarize(folder, rankings, space):
    print(f'wrote {", ".join(f"{d}_index.txt" for d in rankings)} ({space.num_filters} filters) -> {folder}')
    for deg, ranking in rankings.items():
        print('  ' + describe_location(f'top-1% {deg} filters', filter_location(space, ranking)))


@cli
def faig_main(net):
    parser, root = common_parser(net, f'FAIG: rank the filters of the {net} target model for blur and noise.')
    parser.add_argument('--gt_folder', default=osp.join(root, 'GTmod12'))
    add_path_args(parser, net, 'faig', root)
    parser.add_argument('--precision', default='fp32', choices=['fp32', 'bf16'],
                        help='bf16: autocast (CPU AMX / CUDA); approximate, see docs/benchmarks.md')
    parser.add_argument('--batched', action='store_true',
                        help='blurry and noisy image in one batch with per-sample gradients (torch.func)')
    parser.add_argument('--fast', action='store_true',
                        help=f'the recommended fast mode: {FAST_MODE["help"]} (overrides --total_step etc.)')
    args = parser.parse_args()
    if args.fast:
        for key, value in FAST_MODE['settings'].items():
            setattr(args, key, value)
    method = args.quadrature or 'riemann_left'
    device = torch_device(args.device)
    channels_last = use_channels_last(args.layout, device)
    opt = network_option(args, net)
    model, baseline, target = load_models(opt, args.baseline_model_path, args.target_model_path, args.param_key)
    folders = {'gt': args.gt_folder, 'blur': args.blur_folder, 'noise': args.noise_folder}
    config = {'method': 'faig', 'quadrature': method, 'total_step': args.total_step, 'network': opt,
              'precision': args.precision, 'channels_last': channels_last, 'batched': args.batched,
              'baseline': file_fingerprint(args.baseline_model_path), 'scale': args.scale,
              'target': file_fingerprint(args.target_model_path), 'folders': folders}
    store = PartialStore(args.record_filters_folder, config, args.resume)
    start = time.time()
    scores, report = run_faig(model, baseline, target, folders, args.scale, args.total_step, method, device, store,
                              NET_DEFAULTS.get(net, {}).get('faig_image_reduce', 'sum'), precision=args.precision,
                              channels_last=channels_last, batched=args.batched)
    rankings = {deg: rank(s) for deg, s in scores.items()}
    errors = [abs(r[f'completeness_{d}']['error']) / max(abs(r[f'completeness_{d}']['loss_difference']), 1e-12)
              for r in report for d in ('blur', 'noise')]
    meta = {**config, 'seconds': round(time.time() - start, 1), 'device': str(device), 'images': report,
            'max_relative_completeness_error': max(errors)}
    write_rankings(args.record_filters_folder, rankings, scores, meta)
    store.clear()
    print(f'completeness: max relative error |sum attribution - (L(baseline) - L(target))| / |...| = {max(errors):.3g}')
    summarize(args.record_filters_folder, rankings, FilterSpace(target))


@cli
def ig_main(net):
    parser, root = common_parser(net, f'IG baseline: rank the filters of the {net} target model by input-space IG.')
    parser.add_argument('--bic_folder', default=osp.join(root, 'Linear_LRbicx2'), help='clean LR images')
    add_path_args(parser, net, 'ig', root, with_baseline=False)
    args = parser.parse_args()
    method = args.quadrature or NET_DEFAULTS.get(net, {}).get('ig_method', 'riemann_left')
    device = torch_device(args.device)
    channels_last = use_channels_last(args.layout, device)
    opt = network_option(args, net)
    from faig.networks import load_network
    model = load_network(opt, args.target_model_path, args.param_key)
    folders = {'clean': args.bic_folder, 'blur': args.blur_folder, 'noise': args.noise_folder}
    config = {'method': 'ig', 'quadrature': method, 'total_step': args.total_step, 'network': opt,
              'target': file_fingerprint(args.target_model_path), 'folders': folders, 'channels_last': channels_last}
    store = PartialStore(args.record_filters_folder, config, args.resume)
    start = time.time()
    scores = run_ig(model, folders, args.scale, args.total_step, method, device, store, channels_last=channels_last)
    rankings = {deg: rank(s) for deg, s in scores.items()}
    write_rankings(args.record_filters_folder, rankings, scores,
                   {**config, 'seconds': round(time.time() - start, 1), 'device': str(device)})
    store.clear()
    summarize(args.record_filters_folder, rankings, FilterSpace(model.state_dict()))


@cli
def absolute_filter_change_main(net):
    parser = argparse.ArgumentParser(description='|theta - theta_bar|: rank filters by relative weight change '
                                     '(the same ranking is written for blur and noise).')
    parser.add_argument('--baseline_model_path', default=default_model(net, 'baseline'))
    parser.add_argument('--target_model_path', default=default_model(net, 'target'))
    parser.add_argument('--param_key', default=None)
    parser.add_argument('--record_filters_folder', default=record_folder(net, 'abs_filter_change'))
    args = parser.parse_args()
    baseline = load_params(args.baseline_model_path, args.param_key)
    target = load_params(args.target_model_path, args.param_key)
    from faig.attribution.path import check_compatible
    check_compatible(baseline, target, args.baseline_model_path, args.target_model_path)
    space = FilterSpace(target)
    scores = absolute_filter_change(space, baseline, target)
    ranking = rank(scores)
    write_rankings(args.record_filters_folder, {'blur': ranking, 'noise': ranking}, {'blur': scores, 'noise': scores},
                   {'method': 'abs_filter_change', 'baseline': args.baseline_model_path,
                    'target': args.target_model_path})
    summarize(args.record_filters_folder, {'blur': ranking}, space)


@cli
def random_main(net):
    parser = argparse.ArgumentParser(description='Random baseline: one random permutation of the filters per '
                                     'degradation, reproducible with --seed.')
    parser.add_argument('--total_neuron_nums', type=int, default=NET_DEFAULTS[net]['total_neuron_nums'],
                        help=f'number of filters ({net} x2: {NET_DEFAULTS[net]["total_neuron_nums"]})')
    parser.add_argument('--record_filters_folder', default=record_folder(net, 'random'))
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    rankings = random_rankings(args.total_neuron_nums, args.seed)
    write_rankings(args.record_filters_folder, rankings, None,
                   {'method': 'random', 'seed': args.seed, 'total_neuron_nums': args.total_neuron_nums})
    print(f'wrote random blur/noise rankings of {args.total_neuron_nums} filters (seed {args.seed}) '
          f'-> {args.record_filters_folder}')


def run_tool(tool, net):
    """Entry of the thin per-network scripts."""
    torch.set_grad_enabled(True)
    return {'faig': faig_main, 'ig': ig_main, 'absolute_filter_change': absolute_filter_change_main,
            'random_neurons': random_main}[tool](net)
