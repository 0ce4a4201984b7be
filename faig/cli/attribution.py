"""analysis/tools/<net>/{faig,ig,absolute_filter_change,random_neurons}.py.

One implementation for every network: the per-network scripts only name the network spec
(faig.specs). Arguments are parsed and checked before torch is imported.
"""
import os.path as osp
import time

from faig.attribution.modes import FAST_MODE, LAYOUTS, PRECISIONS
from faig.attribution.quadrature import METHODS
from faig.cli.args import (Parser, add_model_args, add_network_args, add_pair_args, network_option, pair_folders,
                           pair_names, positive_int, require_file, seed_int, require_folder, require_output_folder,
                           resolve_device)
from faig.errors import InputError, cli
from faig.paths import dataset_name, default_test_root
from faig.specs import NETWORKS, ResultsLayout, network


def attribution_parser(net, method, description, baseline=True):
    root = default_test_root()
    parser = Parser(description=description)
    add_network_args(parser, net)
    add_model_args(parser, net, baseline)
    add_pair_args(parser, root)
    parser.add_argument('--total_step', type=positive_int, default=100, help='number of quadrature nodes N')
    parser.add_argument('--quadrature', default=None, choices=METHODS,
                        help="quadrature rule (default: the original script's)")
    add_output_args(parser, method, resumable=True)
    exact = ("contiguous reproduces the original's scores bit for bit" if method == 'faig' else
             "IG's scores agree with the original's to float rounding in either layout, not bit for bit (its path "
             'nodes go through the network as one batch)')
    parser.add_argument('--layout', default='auto', choices=LAYOUTS,
                        help='memory layout of weights and images. auto (default): whichever of contiguous and '
                        'channels_last one measured pass on this machine finds faster (same filter sets up to '
                        f'near-ties); {exact}')
    return parser, root


def add_output_args(parser, method, resumable=False):
    parser.add_argument('--record_filters_folder', default=None,
                        help=f'where the rankings go (default results/Interpret/neuron-search/<net>/<dataset>/{method}: '
                        '<net> is this network, or the type of --network_g; <dataset> the data set of the input '
                        'folders)')
    if resumable:
        parser.add_argument('--resume', action='store_true',
                            help='continue an interrupted run of the same settings (its finished images are reused)')
    parser.add_argument('--force', action='store_true',
                        help='replace results of another run (other settings) in the output folder')


def check_models(args, baseline=True):
    if baseline:
        require_file(args.baseline_model_path, '--baseline_model_path')
    require_file(args.target_model_path, '--target_model_path')


def output_folder(args, net, opt, method, image_folders=None):
    """``--record_filters_folder``, or its default named after the network and the data set actually
    used; checked to be writable and outside every folder the run reads."""
    from faig.outputs import check_not_inputs, dataset_label, network_label
    dataset = dataset_label(image_folders.values()) if image_folders else dataset_name(default_test_root())
    folder = args.record_filters_folder or ResultsLayout(network_label(net, opt), dataset).rankings(method)
    require_output_folder(folder, '--record_filters_folder')
    models = {flag: getattr(args, flag[2:], None) for flag in ('--baseline_model_path', '--target_model_path')}
    check_not_inputs({'--record_filters_folder': folder},
                     {f'--{role}_folder': path for role, path in (image_folders or {}).items()}, input_files=models)
    return folder


def run_key(config, drop=('baseline_path', 'target_path', 'folders', 'layout_seconds', 'channels_last')):
    """What a ranking depends on: settings and the contents of models and images, not their paths."""
    return {k: v for k, v in config.items() if k not in drop}


def choose_layout(args, net, store_folder, sample):
    """The layout of an interrupted run is the one it started with (so that its partial results stay
    comparable); otherwise ``--layout`` (measured if auto)."""
    from faig.attribution.path import default_layout_cache, resolve_layout
    from faig.attribution.runner import PartialStore
    previous = PartialStore.previous_config(store_folder) if not args.force or args.resume else None
    if args.layout == 'auto' and previous and 'channels_last' in previous:
        return previous['channels_last'], previous.get('layout_seconds')
    return resolve_layout(args.layout, net, sample, cache_path=default_layout_cache())


def summarize(folder, rankings, space):
    from faig.evaluation.location import describe_location, filter_location
    print(f'wrote {", ".join(f"{d}_index.txt" for d in rankings)} ({space.num_filters} filters) -> {folder}')
    for deg, ranking in rankings.items():
        print('  ' + describe_location(f'top-1% {deg} filters', filter_location(space, ranking)))


def per_image_bytes(arrays):
    """{image: s(x_a) - s(x_b)} of a FAIG run as .npz bytes, for per-image robustness checks (faig.report)."""
    import io

    import numpy as np
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def run_stored(store, job):
    """Run ``job()``; on bad input, drop the partial results this run made. A kill, or a failed write
    (faig.errors.WriteError: disk full, ...), keeps them for --resume."""
    from faig.errors import WriteError
    try:
        return job()
    except WriteError:
        raise
    except InputError:
        store.discard()
        raise


def claim(folder, key, args, degs, resumable):
    """'same' when ``folder`` already holds this run's results (see faig.outputs.claim_results). A
    ``--resume`` of a run of these settings that was started with ``--force`` and stopped may replace
    the results it was started to replace."""
    from faig.attribution.ranking import result_names
    from faig.attribution.runner import PartialStore
    from faig.outputs import canonical, claim_results
    previous = PartialStore.previous_config(folder) if resumable and args.resume else None
    continuing = previous is not None and canonical(run_key(previous)) == canonical(key)
    return claim_results(folder, key, args.force or continuing, result_names(degs), resumable=resumable)


def up_to_date(folder):
    print(f'{folder}: results of these settings are there already (--resume); nothing to do')


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
    check_models(args)
    require_folder(args.gt_folder, '--gt_folder')
    folders = {'gt': args.gt_folder, **pair_folders(args, root)}
    opt = network_option(args, net)
    out = output_folder(args, net, opt, 'faig', folders)

    import torch
    from faig.attribution.filters import FilterSpace, require_weight_change
    from faig.attribution.ranking import rank, write_rankings
    from faig.attribution.runner import PartialStore, check_image_sets, inputs_digest, load_image_set, run_faig
    from faig.data.image_io import pair_by_name
    from faig.inference import image_channels
    from faig.networks import load_model_pair
    from faig.outputs import FolderLock
    from faig.stamps import state_digest
    torch.set_grad_enabled(True)
    method = args.quadrature or 'riemann_left'
    device = resolve_device(args.device)
    model, baseline, target = load_model_pair(opt, args.baseline_model_path, args.target_model_path, args.param_key)
    space = FilterSpace(target)
    require_weight_change(space, baseline, target, args.baseline_model_path, args.target_model_path)
    pairs = pair_by_name(folders)
    channels = image_channels(model)  # a 1-channel (Y) network reads gray images
    check_image_sets(pairs, args.scale, channels=channels)
    config = {'method': 'faig', 'quadrature': method, 'total_step': args.total_step, 'network': opt,
              'precision': args.precision, 'nodes_per_pass': args.nodes_per_pass,
              'degradations': list(degs), 'scale': args.scale, 'folders': folders,
              'baseline': state_digest(baseline), 'target': state_digest(target), 'inputs': inputs_digest(pairs),
              'baseline_path': args.baseline_model_path, 'target_path': args.target_model_path}
    key = run_key(config)
    with FolderLock(out):
        if claim(out, key, args, degs, resumable=True) == 'same' and args.resume:
            return up_to_date(out)
        sample = load_image_set(pairs[0], args.scale, device, channels=channels)[degs[0]]
        channels_last, layout_seconds = choose_layout(args, model.to(device), out, sample)
        config.update(channels_last=channels_last, layout_seconds=layout_seconds)
        store = PartialStore(out, config, args.resume, args.force)
        start = time.time()
        per_image = {}
        scores, report = run_stored(store, lambda: run_faig(
            model, baseline, target, folders, args.scale, args.total_step, method, device, store,
            network(net).faig_image_reduce if net in NETWORKS else 'sum', degs, args.precision, channels_last,
            per_image, args.nodes_per_pass))
        rankings = {deg: rank(s) for deg, s in scores.items()}
        errors = [abs(r[f'completeness_{d}']['error']) / max(abs(r[f'completeness_{d}']['loss_difference']), 1e-12)
                  for r in report for d in degs]
        meta = {**config, 'run_key': key, 'seconds': round(time.time() - start, 1), 'device': str(device),
                'images': report, 'max_relative_completeness_error': max(errors)}
        run_stored(store, lambda: write_rankings(out, rankings, scores, meta,
                                                 extra={'per_image_scores.npz': per_image_bytes(per_image)}))
        store.clear()
    print(f'device: {device}; layout: {"channels_last" if channels_last else "contiguous"}'
          + (f' (measured: {layout_seconds})' if layout_seconds else ''))
    print(f'completeness: max relative error |sum attribution - (L(baseline) - L(target))| / |...| = {max(errors):.3g}')
    summarize(out, rankings, space)


@cli
def ig_main(net, argv=None):
    parser, root = attribution_parser(net, 'ig', f'IG baseline: rank the filters of the {net} target model by '
                                      'input-space IG.', baseline=False)
    parser.add_argument('--bic_folder', default=osp.join(root, 'Linear_LRbicx2'), help='clean LR images')
    args = parser.parse_args(argv)
    degs = pair_names(args)
    check_models(args, baseline=False)
    require_folder(args.bic_folder, '--bic_folder')
    folders = {'clean': args.bic_folder, **pair_folders(args, root)}
    opt = network_option(args, net)
    out = output_folder(args, net, opt, 'ig', folders)

    import torch
    from faig.attribution.filters import FilterSpace
    from faig.attribution.ranking import rank, write_rankings
    from faig.attribution.runner import PartialStore, check_image_sets, inputs_digest, load_image_set, run_ig
    from faig.data.image_io import pair_by_name
    from faig.inference import image_channels
    from faig.networks import load_network, load_params
    from faig.outputs import FolderLock
    from faig.stamps import state_digest
    torch.set_grad_enabled(True)
    method = args.quadrature or (network(net).ig_method if net in NETWORKS else 'riemann_left')
    device = resolve_device(args.device)
    model = load_network(opt, args.target_model_path, args.param_key, device)
    pairs = pair_by_name(folders)
    channels = image_channels(model)
    check_image_sets(pairs, args.scale, gt_role=None, channels=channels)
    config = {'method': 'ig', 'quadrature': method, 'total_step': args.total_step, 'network': opt,
              'degradations': list(degs), 'folders': folders,
              'target': state_digest(load_params(args.target_model_path, args.param_key)),  # as FAIG records it
              'inputs': inputs_digest(pairs), 'target_path': args.target_model_path}
    key = run_key(config)
    with FolderLock(out):
        if claim(out, key, args, degs, resumable=True) == 'same' and args.resume:
            return up_to_date(out)
        sample = load_image_set(pairs[0], args.scale, device, gt_role=None, channels=channels)['clean']
        channels_last, layout_seconds = choose_layout(args, model, out, sample)
        config.update(channels_last=channels_last, layout_seconds=layout_seconds)
        store = PartialStore(out, config, args.resume, args.force)
        start = time.time()
        scores = run_stored(store, lambda: run_ig(model, folders, args.scale, args.total_step, method, device, store,
                                                  degs, channels_last))
        rankings = {deg: rank(s) for deg, s in scores.items()}
        meta = {**config, 'run_key': key, 'seconds': round(time.time() - start, 1), 'device': str(device)}
        run_stored(store, lambda: write_rankings(out, rankings, scores, meta))
        store.clear()
    print(f'device: {device}; layout: {"channels_last" if channels_last else "contiguous"}')
    summarize(out, rankings, FilterSpace(model.state_dict()))


@cli
def absolute_filter_change_main(net, argv=None):
    parser = Parser(description='|theta - theta_bar|: rank filters by relative weight change (the same ranking is '
                    'written for both degradations).')
    add_model_args(parser, net)
    parser.add_argument('--param_key', default=None, help='checkpoint key (default: params_ema, else params)')
    parser.add_argument('--network_g', default=None,
                        help='network options (YAML file or inline): only names the output folder')
    add_pair_args(parser)
    add_output_args(parser, 'abs_filter_change')
    args = parser.parse_args(argv)
    degs = pair_names(args)
    check_models(args)
    from faig.networks import parse_network_option
    out = output_folder(args, net, parse_network_option(args.network_g) if args.network_g else None,
                        'abs_filter_change')

    from faig.attribution.filters import FilterSpace, require_weight_change
    from faig.attribution.path import check_compatible
    from faig.attribution.ranking import rank, write_rankings
    from faig.attribution.weights import absolute_filter_change
    from faig.networks import load_params
    from faig.outputs import FolderLock
    from faig.stamps import state_digest
    baseline = load_params(args.baseline_model_path, args.param_key)
    target = load_params(args.target_model_path, args.param_key)
    check_compatible(baseline, target, args.baseline_model_path, args.target_model_path)
    space = FilterSpace(target)
    require_weight_change(space, baseline, target, args.baseline_model_path, args.target_model_path)
    config = {'method': 'abs_filter_change', 'baseline_path': args.baseline_model_path,
              'target_path': args.target_model_path, 'baseline': state_digest(baseline),
              'target': state_digest(target), 'degradations': list(degs)}
    key = run_key(config)
    with FolderLock(out):
        claim(out, key, args, degs, resumable=False)
        scores = absolute_filter_change(space, baseline, target)
        ranking = rank(scores)
        write_rankings(out, {d: ranking for d in degs}, {d: scores for d in degs}, {**config, 'run_key': key})
    summarize(out, {degs[0]: ranking}, space)


def count_filters(opt):
    """Filters of a network built from its options (for the random ranking's default size)."""
    from faig.attribution.filters import FilterSpace
    from faig.networks import build_network
    return FilterSpace(build_network(opt).state_dict()).num_filters


@cli
def random_main(net, argv=None):
    parser = Parser(description='Random baseline: one random permutation of the filters per degradation, '
                    'reproducible with --seed.')
    spec = NETWORKS.get(net)
    parser.add_argument('--total_neuron_nums', type=positive_int, default=None,
                        help='number of filters (default: those of --network_g, else of the '
                        f'{net} preset at --scale{f"; x2: {spec.num_filters_x2}" if spec else ""})')
    parser.add_argument('--scale', type=positive_int, default=2, help='scale ratio (with the preset network)')
    parser.add_argument('--network_g', default=None, help='network options (YAML file or inline YAML) whose '
                        'filters are ranked')
    parser.add_argument('--seed', type=seed_int, default=0, help='random seed (0 <= seed < 2**32)')
    add_pair_args(parser)
    add_output_args(parser, 'random')
    args = parser.parse_args(argv)
    degs = pair_names(args)
    opt = network_option(args, net) if (args.network_g or args.total_neuron_nums is None) else None
    out = output_folder(args, net, opt, 'random')
    total = args.total_neuron_nums
    if total is None:
        total = spec.num_filters_x2 if (spec and args.scale == 2 and not args.network_g) else count_filters(opt)

    from faig.attribution.ranking import write_rankings
    from faig.attribution.weights import random_rankings
    from faig.outputs import FolderLock
    config = {'method': 'random', 'seed': args.seed, 'total_neuron_nums': total, 'degradations': list(degs)}
    with FolderLock(out):
        claim(out, config, args, degs, resumable=False)
        rankings = random_rankings(total, args.seed, degs)
        write_rankings(out, rankings, None, {**config, 'run_key': config})
    print(f'wrote random {"/".join(degs)} rankings of {total} filters (seed {args.seed}) -> {out}')


TOOLS = {'faig': faig_main, 'ig': ig_main, 'absolute_filter_change': absolute_filter_change_main,
         'random_neurons': random_main}


def run_tool(tool, net, argv=None):
    """Entry of the thin per-network scripts (and of reproduce.py, in-process)."""
    return TOOLS[tool](net, argv)
