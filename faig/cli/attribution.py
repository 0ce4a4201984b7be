"""analysis/tools/<net>/{faig,ig,absolute_filter_change,random_neurons}.py.

One implementation for every network: the per-network scripts only name the network spec
(faig.specs). Arguments are parsed and checked before torch is imported.
"""
import os.path as osp
import time

from faig.attribution.modes import FAST_MODE, LAYOUTS, PRECISIONS
from faig.attribution.quadrature import METHODS
from faig.cli.args import (Parser, add_model_args, add_network_args, add_pair_args, network_option, pair_folders,
                           pair_names, positive_int, require_file, require_folder, require_output_folder,
                           resolve_device)
from faig.errors import InputError, cli
from faig.paths import dataset_name, default_test_root
from faig.specs import ResultsLayout, network


def attribution_parser(net, method, description, baseline=True):
    root = default_test_root()
    parser = Parser(description=description)
    add_network_args(parser, net)
    add_model_args(parser, net, baseline)
    add_pair_args(parser, root)
    parser.add_argument('--total_step', type=positive_int, default=100, help='number of quadrature nodes N')
    parser.add_argument('--quadrature', default=None, choices=METHODS,
                        help="quadrature rule (default: the original script's)")
    parser.add_argument('--record_filters_folder', default=ResultsLayout(net, dataset_name(root)).rankings(method))
    parser.add_argument('--resume', action='store_true', help='reuse per-image results of an interrupted run')
    parser.add_argument('--layout', default='auto', choices=LAYOUTS,
                        help='memory layout of weights and images. auto (default): whichever of contiguous and '
                        'channels_last one measured pass on this machine finds faster (same filter sets up to '
                        "near-ties); contiguous reproduces the original's scores bit for bit")
    return parser, root


def check_run_paths(args, baseline=True):
    if baseline:
        require_file(args.baseline_model_path, '--baseline_model_path')
    require_file(args.target_model_path, '--target_model_path')
    require_output_folder(args.record_filters_folder, '--record_filters_folder')


def choose_layout(args, net, store_folder, sample):
    """The layout of a resumed run is the one it started with; otherwise ``--layout`` (measured if auto)."""
    from faig.attribution.path import default_layout_cache, resolve_layout
    from faig.attribution.runner import PartialStore
    previous = PartialStore.previous_config(store_folder) if args.resume else None
    if args.layout == 'auto' and previous and 'channels_last' in previous:
        return previous['channels_last'], previous.get('layout_seconds')
    return resolve_layout(args.layout, net, sample, cache_path=default_layout_cache())


def summarize(folder, rankings, space):
    from faig.evaluation.location import describe_location, filter_location
    print(f'wrote {", ".join(f"{d}_index.txt" for d in rankings)} ({space.num_filters} filters) -> {folder}')
    for deg, ranking in rankings.items():
        print('  ' + describe_location(f'top-1% {deg} filters', filter_location(space, ranking)))


def write_per_image(path, arrays):
    """{image: s(x_a) - s(x_b)} of a FAIG run, for per-image robustness checks (faig.report)."""
    import io

    import numpy as np

    from faig.data.image_io import write_bytes
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes(path, buffer.getvalue())


def run_stored(store, job):
    """Run ``job()``; on bad input, drop the partial results this run made (a kill keeps them for --resume)."""
    try:
        return job()
    except InputError:
        store.discard()
        raise


@cli
def faig_main(net, argv=None):
    parser, root = attribution_parser(net, 'faig', f'FAIG: rank the filters of the {net} target model for two '
                                      'degradations (default blur and noise).')
    parser.add_argument('--gt_folder', default=osp.join(root, 'GTmod12'))
    parser.add_argument('--precision', default='fp32', choices=PRECISIONS,
                        help='bf16: autocast (CPU AMX / CUDA); approximate, see docs/benchmarks.md')
    parser.add_argument('--nodes_per_pass', type=positive_int, default=1,
                        help='path nodes evaluated in one batched pass (torch.func); for GPUs, where one node '
                        'leaves the device idle. Same scores up to float rounding')
    parser.add_argument('--fast', action='store_true',
                        help=f'the recommended fast mode: {FAST_MODE["help"]} (overrides --total_step etc.)')
    args = parser.parse_args(argv)
    if args.fast:
        for key, value in FAST_MODE['settings'].items():
            setattr(args, key, value)
    degs = pair_names(args)
    check_run_paths(args)
    require_folder(args.gt_folder, '--gt_folder')
    folders = {'gt': args.gt_folder, **pair_folders(args, root)}

    import torch
    from faig.attribution.filters import FilterSpace
    from faig.attribution.ranking import rank, write_rankings
    from faig.attribution.runner import PartialStore, check_image_sets, inputs_digest, load_image_set, run_faig
    from faig.data.image_io import pair_by_name
    from faig.networks import load_model_pair
    from faig.stamps import state_digest
    torch.set_grad_enabled(True)
    method = args.quadrature or 'riemann_left'
    device = resolve_device(args.device)
    opt = network_option(args, net)
    model, baseline, target = load_model_pair(opt, args.baseline_model_path, args.target_model_path, args.param_key)
    pairs = pair_by_name(folders)
    check_image_sets(pairs, args.scale)
    sample = load_image_set(pairs[0], args.scale, device)[degs[0]]
    channels_last, layout_seconds = choose_layout(args, model.to(device), args.record_filters_folder, sample)
    config = {'method': 'faig', 'quadrature': method, 'total_step': args.total_step, 'network': opt,
              'precision': args.precision, 'channels_last': channels_last, 'layout_seconds': layout_seconds,
              'nodes_per_pass': args.nodes_per_pass,
              'degradations': list(degs), 'scale': args.scale, 'folders': folders,
              'baseline': state_digest(baseline), 'target': state_digest(target), 'inputs': inputs_digest(pairs),
              'baseline_path': args.baseline_model_path, 'target_path': args.target_model_path}
    store = PartialStore(args.record_filters_folder, config, args.resume)
    start = time.time()
    per_image = {}
    scores, report = run_stored(store, lambda: run_faig(
        model, baseline, target, folders, args.scale, args.total_step, method, device, store,
        network(net).faig_image_reduce, degs, args.precision, channels_last, per_image, args.nodes_per_pass))
    rankings = {deg: rank(s) for deg, s in scores.items()}
    errors = [abs(r[f'completeness_{d}']['error']) / max(abs(r[f'completeness_{d}']['loss_difference']), 1e-12)
              for r in report for d in degs]
    meta = {**config, 'seconds': round(time.time() - start, 1), 'device': str(device), 'images': report,
            'max_relative_completeness_error': max(errors)}
    run_stored(store, lambda: write_rankings(args.record_filters_folder, rankings, scores, meta))
    write_per_image(osp.join(args.record_filters_folder, 'per_image_scores.npz'), per_image)
    store.clear()
    print(f'device: {device}; layout: {"channels_last" if channels_last else "contiguous"}'
          + (f' (measured: {layout_seconds})' if layout_seconds else ''))
    print(f'completeness: max relative error |sum attribution - (L(baseline) - L(target))| / |...| = {max(errors):.3g}')
    summarize(args.record_filters_folder, rankings, FilterSpace(target))


@cli
def ig_main(net, argv=None):
    parser, root = attribution_parser(net, 'ig', f'IG baseline: rank the filters of the {net} target model by '
                                      'input-space IG.', baseline=False)
    parser.add_argument('--bic_folder', default=osp.join(root, 'Linear_LRbicx2'), help='clean LR images')
    args = parser.parse_args(argv)
    degs = pair_names(args)
    check_run_paths(args, baseline=False)
    require_folder(args.bic_folder, '--bic_folder')
    folders = {'clean': args.bic_folder, **pair_folders(args, root)}

    import torch
    from faig.attribution.filters import FilterSpace
    from faig.attribution.ranking import rank, write_rankings
    from faig.attribution.runner import PartialStore, check_image_sets, inputs_digest, load_image_set, run_ig
    from faig.data.image_io import pair_by_name
    from faig.networks import load_network
    from faig.stamps import state_digest
    torch.set_grad_enabled(True)
    method = args.quadrature or network(net).ig_method
    device = resolve_device(args.device)
    opt = network_option(args, net)
    model = load_network(opt, args.target_model_path, args.param_key, device)
    pairs = pair_by_name(folders)
    check_image_sets(pairs, args.scale, gt_role=None)
    sample = load_image_set(pairs[0], args.scale, device, gt_role=None)['clean']
    channels_last, layout_seconds = choose_layout(args, model, args.record_filters_folder, sample)
    config = {'method': 'ig', 'quadrature': method, 'total_step': args.total_step, 'network': opt,
              'degradations': list(degs), 'folders': folders, 'channels_last': channels_last,
              'layout_seconds': layout_seconds, 'target': state_digest(model.state_dict()),
              'inputs': inputs_digest(pairs), 'target_path': args.target_model_path}
    store = PartialStore(args.record_filters_folder, config, args.resume)
    start = time.time()
    scores = run_stored(store, lambda: run_ig(model, folders, args.scale, args.total_step, method, device, store,
                                              degs, channels_last))
    rankings = {deg: rank(s) for deg, s in scores.items()}
    meta = {**config, 'seconds': round(time.time() - start, 1), 'device': str(device)}
    run_stored(store, lambda: write_rankings(args.record_filters_folder, rankings, scores, meta))
    store.clear()
    print(f'device: {device}; layout: {"channels_last" if channels_last else "contiguous"}')
    summarize(args.record_filters_folder, rankings, FilterSpace(model.state_dict()))


@cli
def absolute_filter_change_main(net, argv=None):
    parser = Parser(description='|theta - theta_bar|: rank filters by relative weight change (the same ranking is '
                    'written for both degradations).')
    add_model_args(parser, net)
    parser.add_argument('--param_key', default=None)
    add_pair_args(parser)
    parser.add_argument('--record_filters_folder',
                        default=ResultsLayout(net, dataset_name(default_test_root())).rankings('abs_filter_change'))
    args = parser.parse_args(argv)
    degs = pair_names(args)
    check_run_paths(args)

    from faig.attribution.filters import FilterSpace
    from faig.attribution.path import check_compatible
    from faig.attribution.ranking import rank, write_rankings
    from faig.attribution.weights import absolute_filter_change
    from faig.networks import load_params
    from faig.stamps import state_digest
    baseline = load_params(args.baseline_model_path, args.param_key)
    target = load_params(args.target_model_path, args.param_key)
    check_compatible(baseline, target, args.baseline_model_path, args.target_model_path)
    space = FilterSpace(target)
    scores = absolute_filter_change(space, baseline, target)
    ranking = rank(scores)
    write_rankings(args.record_filters_folder, {d: ranking for d in degs}, {d: scores for d in degs},
                   {'method': 'abs_filter_change', 'baseline_path': args.baseline_model_path,
                    'target_path': args.target_model_path, 'baseline': state_digest(baseline),
                    'target': state_digest(target), 'degradations': list(degs)})
    summarize(args.record_filters_folder, {degs[0]: ranking}, space)


@cli
def random_main(net, argv=None):
    spec = network(net)
    parser = Parser(description='Random baseline: one random permutation of the filters per degradation, '
                    'reproducible with --seed.')
    parser.add_argument('--total_neuron_nums', type=positive_int, default=spec.num_filters_x2,
                        help=f'number of filters ({net} x2: {spec.num_filters_x2})')
    parser.add_argument('--record_filters_folder',
                        default=ResultsLayout(net, dataset_name(default_test_root())).rankings('random'))
    parser.add_argument('--seed', type=int, default=0)
    add_pair_args(parser)
    args = parser.parse_args(argv)
    degs = pair_names(args)
    require_output_folder(args.record_filters_folder, '--record_filters_folder')

    from faig.attribution.ranking import write_rankings
    from faig.attribution.weights import random_rankings
    rankings = random_rankings(args.total_neuron_nums, args.seed, degs)
    write_rankings(args.record_filters_folder, rankings, None,
                   {'method': 'random', 'seed': args.seed, 'total_neuron_nums': args.total_neuron_nums,
                    'degradations': list(degs)})
    print(f'wrote random {"/".join(degs)} rankings of {args.total_neuron_nums} filters (seed {args.seed}) '
          f'-> {args.record_filters_folder}')


TOOLS = {'faig': faig_main, 'ig': ig_main, 'absolute_filter_change': absolute_filter_change_main,
         'random_neurons': random_main}


def run_tool(tool, net, argv=None):
    """Entry of the thin per-network scripts (and of reproduce.py, in-process)."""
    return TOOLS[tool](net, argv)
