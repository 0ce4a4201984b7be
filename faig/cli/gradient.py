"""analysis/scripts/{generate_gradient_map,cal_blur_gradient_loss,cal_noise_gradient_loss,cal_gradient_loss}.py:
the original's two-step way to the output differences, through gradient maps saved as npy.

The degradation pair is the one the comparison recorded (its meta.json), so the loss scripts work for
any registered pair (e.g. ``cal_gradient_loss.py --degradation jpeg``), not only blur and noise.

Only stamped output folders are converted (faig.stamps): each gradient-map folder records the
hashes of the PNGs it came from, and the loss scripts check that both the PNGs and the maps
belong to the current images of the dataset -- a replaced dataset or a re-run model is an
error, never an average over stale files.
"""
import io
import os
import os.path as osp

import numpy as np

from faig.attribution.ranking import json_bytes, ranking_space, read_index
from faig.cli.args import Parser, network_option, percent, positive_int, require_folder
from faig.data.image_io import list_images, read_image, write_bytes
from faig.errors import InputError, cli
from faig.attribution.methods import METHODS as RANKING_METHODS
from faig.evaluation.gradient_map import image_gradient_map, output_difference
from faig.evaluation.masking import DEFAULT_PROPORTIONS, num_selected, substitute_filters
from faig.networks import load_model_pair
from faig.outputs import network_label
from faig.store import FolderLock, check_not_inputs, claim_results, commit_files, is_within
from faig.paths import dataset_name, default_model, default_test_root
from faig.specs import DEFAULT_NETWORK, DEFAULT_PAIR, DEGRADATIONS, NETWORKS, ResultsLayout, degradation
from faig.store import STAMP, StampedFolder, files_digest, network_digest, read_record, state_digest


def stamped_folders(root):
    """Every folder under ``root`` that holds stamped outputs."""
    for folder, _, files in os.walk(root):
        if STAMP in files:
            yield folder


def map_folder(png_folder, in_root, out_root, channel):
    """The gradient-map folder mirroring a stamped PNG folder, keyed on the PNGs' hashes and the channel."""
    stamp = StampedFolder(png_folder, None).stamp() or {}
    return StampedFolder(osp.join(out_root, osp.relpath(png_folder, in_root)),
                         {'pngs': stamp.get('outputs', {}), 'channel': channel}, ext='.npy')


@cli
def gradient_map_main(argv=None):
    parser = Parser(description='Gradient maps (npy) of the target and masked outputs of a network, mirrored under '
                    'results/Interpret/gradient/<net>/<dataset>.')
    parser.add_argument('--net', default=DEFAULT_NETWORK, choices=sorted(NETWORKS))
    parser.add_argument('--dataset', default=dataset_name(default_test_root()))
    parser.add_argument('--channel', default='gray', choices=['gray', 'blue'])
    args = parser.parse_args(argv)
    layout = ResultsLayout(args.net, args.dataset)
    sources = {osp.join(layout.gradient(), 'targetmodel-sr'): layout.target_outputs(),
               layout.gradient(): layout.masking()}



    count = 0
    for out_root, in_root in sources.items():
        for png_folder in sorted(stamped_folders(in_root)):
            stamp = StampedFolder(png_folder, None).stamp()
            source = StampedFolder(png_folder, stamp['key'])
            stems = sorted(stamp['outputs'])
            if not source.fresh(stems):
                raise InputError(f'{png_folder}: outputs changed since they were written; run the tool that made '
                                 'them again (comparison.py / mask_neurons.py / inference)')
            maps = map_folder(png_folder, in_root, out_root, args.channel)
            if maps.fresh(stems):
                continue
            maps.invalidate()
            for stem in stems:
                buffer = io.BytesIO()
                np.save(buffer, image_gradient_map(read_image(source.path(stem), float32=False), args.channel))
                write_bytes(maps.path(stem), buffer.getvalue())
                count += 1
            maps.seal(stems)
    if not count and not any(True for root in sources.values() for _ in stamped_folders(root)):
        raise InputError(f'{layout.target_outputs()}: no outputs found; run inference and mask_neurons first')
    print(f'{count} gradient maps -> {layout.gradient()}')


class OutputModels:
    """The networks whose outputs the loss reads, as comparison.py / mask_neurons.py build them: the target, and
    the target with the top-p % filters of a ranking put back to the baseline. A folder's stamp records the
    digest of the network that wrote it (faig.inference; stamps written before network_digest have the weights'
    state_digest), so outputs of other models (a swapped pair, a ranking made again) are refused instead of
    averaged against the current ones."""

    def __init__(self, args, layout):
        self.paths = {kind: getattr(args, f'{kind}_model_path') or default_model(args.net, kind)
                      for kind in ('baseline', 'target')}
        self.net, self.baseline, self.target = load_model_pair(
            network_option(args, args.net), self.paths['baseline'], self.paths['target'], args.param_key)
        self.layout = layout
        self._rankings = {}
        self.target_digests = self.digests()
        self.identity = {'baseline': state_digest(self.baseline), 'target': state_digest(self.target)}

    def digests(self):
        """The digests a stamp of the network as it is now may record (current and earlier stamps)."""
        return {network_digest(self.net), state_digest(self.net.state_dict())}

    def ranking(self, method, masked_deg):
        """(filter space, ranking) of ``method``'s ``masked_deg`` index, read once per run."""
        if (method, masked_deg) not in self._rankings:
            folder = self.layout.rankings(method)
            path = osp.join(folder, f'{masked_deg}_index.txt')
            if not osp.isfile(path):
                raise InputError(f'{path}: ranking not found (the masked outputs are checked against it)')
            space = ranking_space(folder, self.net)
            self._rankings[(method, masked_deg)] = space, read_index(path, space.num_filters)
        return self._rankings[(method, masked_deg)]

    def masked_digest(self, method, masked_deg, proportion):
        """(digests of the masked network, N of its folder, filters the ranking ranks) for the top ``proportion`` %
        of ``method``'s ranking (N as comparison.py names the folder: of the ranking's own filter space)."""
        space, ranking = self.ranking(method, masked_deg)
        n = num_selected(space.num_filters, proportion)
        self.net.load_state_dict(substitute_filters(self.baseline, self.target, ranking[:n], space), strict=True)
        digests = self.digests()
        self.net.load_state_dict(self.target, strict=True)
        return digests, n, space.num_filters


def check_network_and_roots(args, layout):
    """What the gradient scripts can read: the folders of a paper network (comparison.py files another arch's
    outputs under that arch's name), and target outputs inside the folder generate_gradient_map.py maps."""
    if args.network_g and network_label(args.net, network_option(args, args.net)) != args.net:
        raise InputError(f'--network_g: not the arch of --net {args.net}; comparison.py files the outputs of '
                         'another arch under its own name, which the gradient-map scripts do not read')
    root = args.target_model_output_root
    if root and not is_within(root, layout.target_outputs()):
        raise InputError(f'--target_model_output_root: {root} is not inside {layout.target_outputs()}, the folder '
                         'generate_gradient_map.py makes maps of')


def load_maps(png_folder, map_root, in_root, channel, inputs_digest, stems, models=None, made_by=''):
    """Gradient maps of ``png_folder``'s outputs for ``stems``, checked to be current (and, with ``models``, to be
    the outputs of a network of one of these digests: ``made_by`` names it in the message)."""

    stamp = StampedFolder(png_folder, None).stamp()
    if stamp is None:
        raise InputError(f'{png_folder}: no stamped outputs; run comparison.py or mask_neurons.py first')
    if stamp['key'].get('inputs') != inputs_digest:
        raise InputError(f'{png_folder}: outputs were made from other input images than the current dataset; '
                         'run comparison.py / mask_neurons.py again, then generate_gradient_map.py')
    if models is not None and stamp['key'].get('model') not in models:
        raise InputError(f'{png_folder}: outputs were made by another network than {made_by}; run comparison.py / '
                         'mask_neurons.py again with these models, then generate_gradient_map.py')
    maps = map_folder(png_folder, in_root, map_root, channel)
    if not maps.fresh(stems):
        raise InputError(f'{maps.folder}: gradient maps missing or stale; '
                         'run analysis/scripts/generate_gradient_map.py')
    return {stem: np.load(maps.path(stem)) for stem in stems}


def comparison_pair(metric_folder):
    """The degradation pair the comparison in ``metric_folder`` recorded (meta.json), or None."""
    record = read_record(osp.join(metric_folder, 'meta.json'), 'record of the comparison', bad='skip')
    run_key = record.get('run_key', {}) if record is not None else None
    recorded = run_key.get('degradations') if isinstance(run_key, dict) else None
    return tuple(recorded) if isinstance(recorded, list) and len(recorded) == 2 else None


def other_degradation(input_deg, metric_folder):
    """The other degradation of ``input_deg``'s pair: the comparison's recorded pair, else the paper's."""
    for pair in (comparison_pair(metric_folder), tuple(DEFAULT_PAIR)):
        if pair and input_deg in pair:
            return pair[1] if pair[0] == input_deg else pair[0]
    raise InputError(f'--other: needed for {input_deg} (no comparison in {metric_folder} records a pair with it)')


@cli
def gradient_loss_any_main(argv=None):
    """cal_gradient_loss.py: the loss script of any registered degradation (``--degradation``)."""
    return gradient_loss_main.__wrapped__(None, argv)


@cli
def gradient_loss_main(input_deg, argv=None):
    """cal_<deg>_gradient_loss.py (``input_deg`` fixed), or cal_gradient_loss.py (``None``: --degradation)."""
    spec = degradation(input_deg) if input_deg else None
    parser = Parser(description=f'Output differences on the {spec.adjective if spec else "degraded"} input from '
                    'saved gradient maps (analysis/scripts/generate_gradient_map.py).')
    if spec is None:
        parser.add_argument('--degradation', required=True,
                            help=f'the input degradation (a registered one, e.g. {", ".join(DEGRADATIONS)})')
    parser.add_argument('--net', default=DEFAULT_NETWORK, choices=sorted(NETWORKS))
    parser.add_argument('--dataset', default=dataset_name(default_test_root()))
    parser.add_argument('--input_folder_name', default=spec.folder if spec else None,
                        help="the input's LR folder under the dataset (default: its degradation spec's folder)")
    parser.add_argument('--methods', nargs='+', default=list(RANKING_METHODS), choices=list(RANKING_METHODS))
    parser.add_argument('--proportions', nargs='+', type=percent, default=list(DEFAULT_PROPORTIONS))
    parser.add_argument('--total_neuron_nums', type=int, default=None,
                        help="the filters the rankings rank (default and only accepted value: the rankings' own count)")
    parser.add_argument('--channel', default='gray', choices=['gray', 'blue'], help='of the saved maps')
    parser.add_argument('--other', default=None,
                        help="the other degradation (default: the other one of the comparison's recorded pair)")
    parser.add_argument('--save_folder', default=None,
                        help='where the txt files go (default results/Interpret/metrics/<net>/<dataset>/'
                        'gradient_loss_<channel>: beside, not over, the comparison\'s own files)')
    parser.add_argument('--force', action='store_true', help='replace results of other settings in --save_folder')
    parser.add_argument('--baseline_model_path', default=None,
                        help="the baseline the masked outputs must come from (default: comparison.py's for --net)")
    parser.add_argument('--target_model_path', default=None,
                        help="the target the outputs must come from (default: comparison.py's for --net)")
    parser.add_argument('--scale', type=positive_int, default=2, help='scale ratio (as given to comparison.py)')
    parser.add_argument('--network_g', default=None, help='network options, as given to comparison.py '
                        '(YAML file or inline YAML; default: the --net preset)')
    parser.add_argument('--param_key', default=None, help='checkpoint key (default: params_ema, else params)')
    parser.add_argument('--target_model_output_root', default=None,
                        help="the target's outputs, as given to comparison.py: that folder or one inside it, where "
                        "generate_gradient_map.py finds them (default results/Interpret/<prefix>-targetmodel-sr; "
                        "reproduce.py's runs: its <dataset> subfolder)")
    parser.add_argument('--neuron_folder', default=None,
                        help="rankings: <this>/<dataset>/<method>/, as comparison.py's --<prefix>_neuron_folder "
                        '(default results/Interpret/neuron-search/<net>); the masked outputs are checked against them')
    args = parser.parse_args(argv)
    if spec is None:
        input_deg = args.degradation
        args.input_folder_name = args.input_folder_name or degradation(input_deg).folder
    layout = ResultsLayout(args.net, args.dataset,
                           overrides={'neuron_search': args.neuron_folder} if args.neuron_folder else {})
    check_network_and_roots(args, layout)
    other = args.other or other_degradation(input_deg, layout.metrics())
    if other == input_deg:
        raise InputError(f'--other: must differ from the input degradation ({input_deg})')
    save_folder = args.save_folder or osp.join(layout.metrics(), f'gradient_loss_{args.channel}')
    input_folder = osp.join('datasets', args.dataset, args.input_folder_name)
    require_folder(input_folder, '--input_folder_name')
    inputs = list_images(input_folder)
    digest = files_digest(list(inputs.values()))
    stems = sorted(osp.splitext(n)[0] for n in inputs)
    models = OutputModels(args, layout)
    target_outputs = args.target_model_output_root or layout.target_outputs()
    reference = load_maps(osp.join(target_outputs, args.input_folder_name),
                          osp.join(layout.gradient(), 'targetmodel-sr'), layout.target_outputs(), args.channel, digest,
                          stems, models.target_digests, f'--target_model_path ({models.paths["target"]})')
    lines = {}
    for masked in (input_deg, other):
        kind = degradation(masked).mask_kind
        better = 'Higher' if masked == input_deg else 'Lower'
        print(f'masking {masked} filters, {spec.adjective} input ({better} is better):')
        for method in args.methods:
            values = []
            for p in args.proportions:
                expected, n, total = models.masked_digest(method, masked, p)
                if args.total_neuron_nums not in (None, total):
                    raise InputError(f'--total_neuron_nums: {args.total_neuron_nums}, but the {method} ranking ranks '
                                     f'{total} filters (the masked outputs are in {n}kernels); leave it out')
                png_folder = osp.join(layout.masking(), method, f'{n}kernels', kind, args.input_folder_name)
                maps = load_maps(png_folder, layout.gradient(), layout.masking(), args.channel, digest, stems, expected,
                                 f'the target ({models.paths["target"]}) with the top {p:g} % of the {method} '
                                 "ranking's "
                                 f'{masked} filters put back to the baseline ({models.paths["baseline"]})')
                values.append(output_difference(maps, reference))
            lines[f'{method}_{kind}_{input_deg}.txt'] = ''.join(f'{v:.6f}\n' for v in values).encode()
            print(f'  {method:>18}: ' + '  '.join(f'{p:g}%: {v:.4f}' for p, v in zip(args.proportions, values)))
    check_not_inputs({'--save_folder': save_folder}, {'--input_folder_name': input_folder},
                     dataroots=[osp.join('datasets', args.dataset)])
    meta = f'meta_{input_deg}.json'
    key = {'inputs': digest, 'channel': args.channel, 'methods': list(args.methods),
           'proportions': list(args.proportions), 'total_neuron_nums': total, 'other': other,
           'models': models.identity}
    with FolderLock(save_folder):  # written only once every value is known, as one set
        claim_results(save_folder, key, args.force, [*lines, meta], meta_name=meta)
        commit_files(save_folder, {**lines, meta: json_bytes({'run_key': key})})
    print(f'-> {save_folder}')
