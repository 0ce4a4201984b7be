"""analysis/scripts/{vis_filters_distribution,filter_modulation}.py: where the discovered filters
sit, and what happens when they are moved between the baseline and the target."""
import os.path as osp

import numpy as np

from faig.cli.args import (Parser, add_model_args, add_network_args, finite_float, flag_value, network_option,
                           original_folder_flag, percent, require_file, require_folder,
                           require_output_file, require_output_folder, resolve_device)
from faig.errors import InputError, cli
from faig.outputs import dataset_label, network_label
from faig.paths import dataset_name, default_model, default_test_root
from faig.specs import DEFAULT_NETWORK, DEFAULT_PAIR, DEGRADATIONS, NETWORKS, ORIGINAL_PAIR, ResultsLayout, degradation
from faig.store import RunOutputs, check_not_inputs, check_provenance, files_digest, sha1_file, state_digest


def net_and_dataset(description, argv):
    """A parser whose defaults depend on --net and --dataset, and those two values.

    --net and --dataset are read first by a pre-parser without -h (so ``--help`` is never answered
    before the other flags exist); the parser returned defines them again, and its ``--help`` lists
    every flag the tool takes."""
    def add(parser):
        parser.add_argument('--net', default=DEFAULT_NETWORK, choices=sorted(NETWORKS),
                            help='network: names the default models and output folders')
        parser.add_argument('--dataset', default=dataset_name(default_test_root()),
                            help='dataset name (datasets/<dataset>)')

    first = Parser(description=description, add_help=False)
    add(first)
    known, _ = first.parse_known_args(argv)
    parser = Parser(description=description)
    add(parser)
    return parser, known.net, ResultsLayout(known.net, known.dataset)


def lambda_label(lam):
    """Exact text of a λ for folder names and tables: two decimals when they give back exactly this
    float and |λ| < 1e6 (``1.00``, ``0.50``: the original's ``lambda_{λ:.2f}`` folders), else Python's shortest
    round-trip repr (``0.501``, ``0.30000000000000004``, ``1e+308``: never hundreds of digits). Distinct floats
    never share a label (a repr has two decimals only where the two-decimal form is not used)."""
    lam = float(lam) + 0.0  # -0.0 -> 0.0
    short = f'{lam:.2f}'
    return short if abs(lam) < 1e6 and float(short) == lam else repr(lam)


def check_lambdas(lambdas):
    """--lambdas as floats in ascending order (the curve, the figure's columns and the record follow λ, whatever
    order they were given in); a value given twice (0.5 and 0.50 are one value) is refused."""
    seen = []
    for lam in lambdas:
        lam = float(lam) + 0.0
        if lam in seen:
            raise InputError(f'--lambdas: λ={lambda_label(lam)} is given twice (each λ is one output folder)')
        seen.append(lam)
    return sorted(seen)


def check_modulated_weights(baseline, target, top, lambdas, space):
    """Refuse a λ whose weights θ̄ + λ(θ − θ̄) overflow (``--lambdas 1e308``): outputs of inf/NaN weights would
    be measured as if they meant something."""
    import torch
    from faig.evaluation.masking import modulate_filters
    for lam in lambdas:
        for name, value in modulate_filters(baseline, target, top, lam, space).items():
            if torch.is_tensor(value) and value.is_floating_point() and not torch.isfinite(value).all():
                raise InputError(f'--lambdas: λ={lambda_label(lam)} makes the weights {name} overflow to inf/NaN '
                                 f'({value.dtype}); choose a smaller |λ|')


@cli
def distribution_main(argv=None):
    parser, net, layout = net_and_dataset('Where the top-p % filters of two degradations sit, per layer.', argv)
    parser.add_argument('--target_model_path', default=default_model(net, 'target'))
    ranking_flags = add_original_ranking_args(parser,
                                              lambda deg: osp.join(layout.rankings('faig'), f'{deg}_index.txt'))
    parser.add_argument('--proportion', type=percent, default=1)
    parser.add_argument('--save_path', default=layout.figure('filter_distribution'))
    parser.add_argument('--param_key', default=None, help='checkpoint key (default: params_ema, else params)')
    add_allow_other_models(parser)
    args = parser.parse_args(argv)
    require_file(args.target_model_path, '--target_model_path')
    txts = {deg: flag_value(args, flag) for deg, flag in ranking_flags.items()}
    for deg, flag in ranking_flags.items():
        require_file(txts[deg], flag)
    require_output_file(args.save_path, '--save_path')
    check_not_inputs({'--save_path': args.save_path}, {}, dataroots=[osp.join('datasets', args.dataset)],
                     input_files={'--target_model_path': args.target_model_path,
                                  **{flag: txts[deg] for deg, flag in ranking_flags.items()}})
    if not args.save_path.lower().endswith(('.png', '.jpg', '.jpeg', '.pdf', '.svg')):
        raise InputError(f'{args.save_path}: --save_path must name a figure file (.png, .jpg, .pdf, .svg)')

    from faig.attribution.ranking import ranking_space, read_index
    from faig.cli.evaluation import require_selection
    from faig.evaluation.location import describe_location, filter_location
    from faig.figures import plot_filter_distribution
    from faig.networks import load_params
    params = load_params(args.target_model_path, args.param_key)
    first = txts[ORIGINAL_PAIR[0]]
    space = ranking_space(osp.dirname(first) or '.', params)  # the layers it ranks (--layers)
    require_selection([args.proportion], space.num_filters, '--proportion')
    rankings = {deg: read_index(txt, space.num_filters) for deg, txt in txts.items()}
    accepted = []
    for txt in dict.fromkeys(osp.dirname(t) for t in txts.values()):
        problems = check_provenance(txt or '.', {'target': state_digest(params)}, args.allow_other_models)
        accepted += [f'{txt or "."}: {p}' for p in problems]
    note = ('rankings used with other models (--allow_other_models): ' + '; '.join(accepted)) if accepted else None
    path = plot_filter_distribution(space, rankings, args.proportion, net, args.save_path, note=note)
    for deg, ranking in rankings.items():
        stats = filter_location(space, ranking, args.proportion)
        print(describe_location(f'top {args.proportion:g}% {deg} filters ({stats["filters"]})', stats))
    print(f'figure -> {path}')


def add_original_ranking_args(parser, default):
    """The original's flags of the rankings of its pair (faig.specs.ORIGINAL_PAIR), ``default(degradation)``
    their defaults; returns {degradation: flag}."""
    first, second = ORIGINAL_PAIR
    actions = (parser.add_argument('--blurry_neuron_txt', default=default(first),
                                   help=f'ranking of {first} (default: FAIG {first}_index.txt)'),
               parser.add_argument('--noisy_neuron_txt', default=default(second),
                                   help=f'ranking of {second} (default: FAIG {second}_index.txt)'))
    return {deg: action.option_strings[0] for deg, action in zip(ORIGINAL_PAIR, actions)}


def add_allow_other_models(parser):
    parser.add_argument('--allow_other_models', action='store_true',
                        help="use a ranking whose meta.json records other models or images than those given "
                        "(said in the output and recorded)")


@cli
def modulation_main(argv=None):
    parser, net, layout = net_and_dataset(
        'Filter modulation: w = λ·θ_target + (1−λ)·θ_baseline on the top-p % FAIG filters of one degradation; '
        'λ=1 is the target, λ=0 the masked model.', argv)
    add_model_args(parser, net)
    parser.add_argument('--degradation', default=DEFAULT_PAIR[0],
                        help=f'whose filters to modulate ({", ".join(DEGRADATIONS)}, ...)')
    ranking_flags = add_original_ranking_args(parser, lambda deg: None)
    parser.add_argument('--neuron_txt', default=None, help='ranking of --degradation (default: FAIG <deg>_index.txt)')
    for deg in ORIGINAL_PAIR:
        parser.add_argument(original_folder_flag(deg), default=None,
                            help=f'{degradation(deg).adjective} input images (default: datasets/<dataset>/'
                            f'{degradation(deg).folder})')
    parser.add_argument('--input_folder', default=None, help='input images of --degradation (any degradation)')
    parser.add_argument('--proportion', type=percent, default=1)
    parser.add_argument('--lambdas', nargs='+', type=finite_float, default=[i / 10 for i in range(16)],
                        help='λ values, each once (default 0, 0.1, ..., 1.5); the differences are always '
                        'measured against the target model (λ=1), asked for or not')
    parser.add_argument('--save_folder', default=None,
                        help=f'default: {layout.modulation()} (named after --network_g\'s type when given)')
    parser.add_argument('--force', action='store_true',
                        help='replace the results of another modulation run (other models, ranking or settings)')
    add_allow_other_models(parser)
    add_network_args(parser, net)
    args = parser.parse_args(argv)
    lambdas = check_lambdas(args.lambdas)
    deg = degradation(args.degradation)
    original_ranking = flag_value(args, ranking_flags.get(deg.name))
    original_folder = flag_value(args, original_folder_flag(deg.name))
    folder = args.input_folder or original_folder or osp.join('datasets', args.dataset, deg.folder)
    require_file(args.baseline_model_path, '--baseline_model_path')
    require_file(args.target_model_path, '--target_model_path')
    require_folder(folder, '--input_folder')
    opt = network_option(args, net)
    label = network_label(net, opt)  # the network actually used names the default folders
    named = ResultsLayout(label, args.dataset)
    ranking_path = args.neuron_txt or original_ranking or osp.join(named.rankings('faig'), f'{deg.name}_index.txt')
    require_file(ranking_path, '--neuron_txt')
    in_dataset = osp.realpath(osp.dirname(osp.normpath(folder))) == osp.realpath(osp.join('datasets', args.dataset))
    dataset = args.dataset if in_dataset else dataset_label([folder])  # the data set the inputs come from
    save_folder = args.save_folder or ResultsLayout(label, dataset).modulation()
    require_output_folder(save_folder, '--save_folder')
    check_not_inputs({'--save_folder': save_folder}, {'--input_folder': folder},
                     dataroots=[osp.join('datasets', args.dataset)] if in_dataset else [],
                     input_files={'--baseline_model_path': args.baseline_model_path,
                                  '--target_model_path': args.target_model_path, '--neuron_txt': ranking_path})

    from faig.attribution.filters import require_weight_change
    from faig.attribution.ranking import json_bytes, ranking_space, read_index
    from faig.cli.evaluation import check_scale, require_selection
    from faig.data.image_io import as_bgr, list_images
    from faig.evaluation.gradient_map import (NOTHING_MEASURABLE, below_resolution, image_gradient_map,
                                              per_image_difference)
    from faig.evaluation.masking import modulate_filters, top_filters
    from faig.figures import contact_sheet, crop_center
    from faig.inference import restore_cached
    from faig.networks import load_model_pair
    from tqdm import tqdm
    device = resolve_device(args.device)
    model, baseline, target = load_model_pair(opt, args.baseline_model_path, args.target_model_path, args.param_key)
    if osp.dirname(osp.normpath(folder)) == osp.join('datasets', args.dataset):
        from faig.inference import image_channels
        check_scale(osp.join('datasets', args.dataset), {deg.name: folder}, args.scale, image_channels(model))
    # every layer kind (modulate_filters works in each weight's own layout), the layers of the ranking (--layers)
    space = ranking_space(osp.dirname(ranking_path) or '.', model)
    require_weight_change(space, baseline, target, args.baseline_model_path, args.target_model_path)
    require_selection([args.proportion], space.num_filters, '--proportion')
    top = top_filters(read_index(ranking_path, space.num_filters), args.proportion, space.num_filters)
    require_weight_change(space, baseline, target, args.baseline_model_path, args.target_model_path, top,
                          f'the top {args.proportion:g} % of {ranking_path}')
    check_modulated_weights(baseline, target, top, lambdas, space)
    images = list_images(folder)
    given = {'baseline': state_digest(baseline), 'target': state_digest(target),
             'inputs': {deg.name: files_digest(list(images.values()))}}
    accepted = check_provenance(osp.dirname(ranking_path) or '.', given, args.allow_other_models)
    model = model.to(device)
    inputs = {osp.splitext(n)[0]: p for n, p in images.items()}
    base = osp.join(save_folder, f'{len(top)}kernels', deg.modulation_kind)
    key = {'baseline': given['baseline'], 'target': given['target'], 'network': opt, 'inputs': given['inputs'],
           'ranking': sha1_file(ranking_path), 'proportion': args.proportion, 'lambdas': lambdas}
    # the folder is checked against the inputs above, before the models are loaded
    with RunOutputs(base, key, [ResultsLayout.MODULATION_RECORD], force=args.force,
                    record=ResultsLayout.MODULATION_RECORD) as run:
        outputs, differences = {}, {}
        folders = {lam: osp.join(base, f'lambda_{lambda_label(lam)}') for lam in [*lambdas, 1.0]}
        # the reference: the target model itself (λ = 1 exactly), whether or not 1 is among --lambdas
        model.load_state_dict(target)
        target_outputs = restore_cached(model, inputs, folders[1.0], device, progress=False)
        reference = {s: image_gradient_map(img) for s, img in target_outputs.items()}
        for lam in tqdm(lambdas, desc='modulation', unit='λ'):
            model.load_state_dict(modulate_filters(baseline, target, top, lam, space))
            outputs[lam] = restore_cached(model, inputs, folders[lam], device, progress=False)
        per_image = {}
        for lam in lambdas:
            per_image[lam] = per_image_difference({s: image_gradient_map(i) for s, i in outputs[lam].items()}, reference)
            differences[lam] = float(np.mean(list(per_image[lam].values())))
        stems = sorted(inputs)
        rows = [(stem, [as_bgr(crop_center(outputs[lam][stem], 96)) for lam in lambdas]) for stem in stems]
        labels = [f'λ={lambda_label(lam)}' for lam in lambdas]
        title = (f'{label}: modulating the top {args.proportion:g}% FAIG {deg.function} filters ({len(top)}), '
                 f'{dataset} {deg.adjective} inputs (centre crops)')
        sheet = contact_sheet(rows, labels, osp.join(base, ResultsLayout.CONTACT_SHEET), cell_width=110, title=title)
        run.commit({ResultsLayout.MODULATION_RECORD: json_bytes(
                   {'lambdas': lambdas, 'output_difference': [differences[v] for v in lambdas],
                    'reference': f'target model (λ=1): {osp.basename(folders[1.0])}',
                    'folders': [osp.basename(folders[v]) for v in lambdas],
                    'filters': int(len(top)), 'ranking': ranking_path, 'inputs': folder, 'run_key': key,
                    'other_models_allowed': accepted,
                    'per_image': {stem: [per_image[v][stem] for v in lambdas] for stem in stems}})})
    print('λ      output difference to the target (gradient-map MSE ×1000)')
    for lam in lambdas:
        print(f'{lambda_label(lam):>5}  {differences[lam]:.4f}')
    if below_resolution([d for lam, d in differences.items() if lam != 1]):  # λ = 1: the target itself
        print(NOTHING_MEASURABLE)
    print(f'outputs -> {base}; contact sheet -> {sheet}')
    return differences
