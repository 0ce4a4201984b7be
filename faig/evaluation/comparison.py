"""Comparison of rankings: mask their top-p % filters, restore, measure output differences.

Layout (the original's):
  masked outputs   <mask_root>/<method>/<N>kernels/<mask kind of deg>/<input folder>/<img>.png
  metrics          <metric_root>/<method>_<mask kind>_<input deg>.txt (one line per p)
plus <metric_root>/comparison.csv (with per-image values) and comparison.md.
Every output folder is stamped with the weights and input images it came from
(faig.store), so it is reused only while those contents are unchanged -- whichever tool wrote it.
:func:`compare` is the same comparison in memory, on tensors and FilterScores, returning a table.
"""
import copy
import csv
import io
import os.path as osp
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from faig.attribution.filters import space_for_network
from faig.attribution.ranking import ranking_space, read_index
from faig.data.image_io import list_images
from faig.errors import InputError
from faig.evaluation.gradient_map import (NOTHING_MEASURABLE, below_resolution, image_gradient_map,
                                          per_image_difference)
from faig.evaluation.masking import DEFAULT_PROPORTIONS, num_selected, substitute_filters
from faig.inference import restore_cached, tensor_to_image
from faig.networks import build_network, fit
from faig.attribution.methods import METHODS as RANKING_METHODS
from faig.specs import DEFAULT_PAIR, ResultsLayout, degradation
from faig.store import commit_files
from faig.tables import Table, render

METHODS = tuple(RANKING_METHODS)
METRIC_PATTERNS = ('*_mask*filter_*.txt', ResultsLayout.COMPARISON_CSV, ResultsLayout.COMPARISON_MD, 'meta.json')  # a comparison's files


@dataclass
class Setup:
    net_opt: dict
    baseline: dict
    target: dict
    dataroot: str
    neuron_root: str  # results/Interpret/neuron-search/<net>/<dataset>
    mask_root: str  # results/Interpret/masking/<net>/<dataset>
    metric_root: str  # results/Interpret/metrics/<net>/<dataset>
    target_output_root: str  # results/Interpret/<net>-targetmodel-sr
    folder_names: dict = field(default_factory=dict)  # degradation -> input folder (default: its spec's)
    methods: tuple = METHODS
    proportions: tuple = DEFAULT_PROPORTIONS
    channel: str = 'gray'
    device: str = 'cpu'
    degradations: tuple = DEFAULT_PAIR
    target_path: str = 'target model'  # for messages

    def folder_name(self, deg):
        return self.folder_names.get(deg) or degradation(deg).folder

    def input_folder(self, deg):
        return osp.join(self.dataroot, self.folder_name(deg))


class Comparison:

    def __init__(self, setup):
        self.s = setup
        self.net = fit(build_network(setup.net_opt), setup.target, setup.target_path, setup.net_opt)
        self.net = self.net.eval().to(setup.device)
        self.space = space_for_network(self.net)  # every layer kind; a ranking made with --layers has its own
        self._spaces = {}
        listings = {deg: list_images(setup.input_folder(deg)) for deg in setup.degradations}
        self.inputs = {deg: {osp.splitext(n)[0]: p for n, p in listing.items()} for deg, listing in listings.items()}
        first, second = setup.degradations
        if set(self.inputs[first]) != set(self.inputs[second]):
            odd = sorted(set(self.inputs[first]) ^ set(self.inputs[second]))
            raise InputError(f'{setup.input_folder(first)}: images differ from {setup.input_folder(second)}: '
                             f'{", ".join(odd[:8])}')
        self.stems = sorted(self.inputs[first])
        self._rankings = {}

    def _outputs(self, state, deg, folder):
        self.net.load_state_dict(state, strict=True)
        return restore_cached(self.net, self.inputs[deg], folder, self.s.device, progress=False)

    def target_outputs(self):
        """Target-model outputs, shared with inference (same folder, same stamps)."""
        return {deg: self._outputs(self.s.target, deg, osp.join(self.s.target_output_root, self.s.folder_name(deg)))
                for deg in self.s.degradations}

    def rankings(self, method):
        """{deg: ranking} of a method (read and checked once)."""
        if method not in self._rankings:
            folder = osp.join(self.s.neuron_root, method)
            space = self._spaces[method] = ranking_space(folder, self.net)
            digest = space.describe()['digest']
            other = next((m for m, s in self._spaces.items() if s.describe()['digest'] != digest), None)
            if other is not None:  # p % of one set of filters against p % of another would not compare
                raise InputError(f'{folder}: ranks {space.num_filters} filters ({space.layers or "every layer"}) but '
                                 f'the {other} ranking {self._spaces[other].num_filters} '
                                 f'({self._spaces[other].layers or "every layer"}); compare rankings of the same '
                                 'layers (--layers)')
            self._rankings[method] = {
                deg: read_index(osp.join(folder, f'{deg}_index.txt'), space.num_filters)
                for deg in self.s.degradations}
        return self._rankings[method]

    def space_of(self, method):
        """The filter space the method's ranking indexes (the whole network's unless it was made with --layers)."""
        self.rankings(method)
        return self._spaces[method]

    def masked_outputs(self, method, rankings, proportion, masked_deg):
        """Outputs (per input degradation) of the target with the top-p % ``masked_deg`` filters masked."""
        space = self.space_of(method)
        n = num_selected(space.num_filters, proportion)
        base = osp.join(self.s.mask_root, method, f'{n}kernels', degradation(masked_deg).mask_kind)
        state = substitute_filters(self.s.baseline, self.s.target, rankings[masked_deg][:n], space)
        return {deg: self._outputs(state, deg, osp.join(base, self.s.folder_name(deg))) for deg in self.s.degradations}

    def run(self, progress=True):
        """{(method, proportion, masked degradation, input degradation): {image: output difference}}.

        The paper's number is the mean over images (:func:`mean_results`)."""
        for method in self.s.methods:  # every ranking is checked before the first output is written
            self.rankings(method)
        reference = {deg: {s: image_gradient_map(img, self.s.channel) for s, img in outs.items()}
                     for deg, outs in self.target_outputs().items()}
        results = {}
        jobs = [(m, p, k) for m in self.s.methods for p in self.s.proportions for k in self.s.degradations]
        for method, proportion, masked in tqdm(jobs, desc='masking', unit='model', disable=not progress):
            outputs = self.masked_outputs(method, self.rankings(method), proportion, masked)
            for deg in self.s.degradations:
                maps = {s: image_gradient_map(img, self.s.channel) for s, img in outputs[deg].items()}
                results[(method, proportion, masked, deg)] = per_image_difference(maps, reference[deg])
        return results


def named_images(images):
    """{image name: (1, C, H, W) tensor} of a batch tensor, a list of tensors or such a mapping."""
    if isinstance(images, Mapping):
        return dict(images)
    if isinstance(images, torch.Tensor) and images.ndim == 4:
        return {str(i): images[i:i + 1] for i in range(images.shape[0])}
    return {str(i): image for i, image in enumerate(images)}


@torch.no_grad()
def output_maps(net, images, channel='gray'):
    """{image name: gradient map of the network's 8-bit output} (the comparison's measure)."""
    return {name: image_gradient_map(tensor_to_image(net(image)), channel) for name, image in images.items()}


def compare(net, baseline, scores, inputs, proportions=DEFAULT_PROPORTIONS, channel='gray'):
    """The paper's comparison in memory: for each method, proportion p and degradation d, the top-p % filters
    specific to d masked (in a copy of ``net``: the caller's network is not touched) while the target runs on
    every input; per image, the output difference against the target's own output (as the command-line
    comparison measures it).

    Args:
        net: the target network.
        baseline: the baseline network or its state dict.
        scores: {method name: :class:`~faig.FilterScores`} of the same two degradations.
        inputs: {degradation: LR images}, a batch tensor (N, C, H, W), a list of (1, C, H, W) tensors or
            {image name: tensor}; the same images for both degradations.
        proportions: the percentages of filters masked.
    Returns:
        a :class:`~faig.tables.Table` with the columns of comparison.csv (:func:`comparison_table`).
    """
    sets = {deg: named_images(images) for deg, images in inputs.items()}
    a, b = degradations = tuple(sets)
    if set(sets[a]) != set(sets[b]):
        raise InputError(f'inputs: the {a} and {b} images differ: {", ".join(sorted(set(sets[a]) ^ set(sets[b])))}')
    other = {a: b, b: a}
    target = {k: v.detach().clone() for k, v in net.state_dict().items()}
    baseline = baseline.state_dict() if isinstance(baseline, torch.nn.Module) else baseline
    work = copy.deepcopy(net).eval()
    whole = space_for_network(net)
    reference = {deg: output_maps(work, images, channel) for deg, images in sets.items()}
    per_image = {}
    for method, method_scores in scores.items():
        space = whole if method_scores.space is None else method_scores.space
        for p in proportions:
            for masked_deg in degradations:
                filters = method_scores.top(p, masked_deg, other[masked_deg])
                work.load_state_dict(substitute_filters(baseline, target, filters, space), strict=True)
                for deg in degradations:
                    per_image[(method, p, masked_deg, deg)] = per_image_difference(
                        output_maps(work, sets[deg], channel), reference[deg])
    return comparison_table(per_image)


def mean_results(per_image):
    """{key: mean over images} of :meth:`Comparison.run`'s per-image results (the paper's numbers)."""
    return {key: float(np.mean(list(values.values()))) for key, values in per_image.items()}


# ---- tables ---------------------------------------------------------------------------------

def panels(degradations):
    """(input, masked filters, better direction) for the four panels of the paper's figures."""
    a, b = degradations
    return ((a, a, 'higher'), (a, b, 'lower'), (b, b, 'higher'), (b, a, 'lower'))


def metric_files(per_image, methods, proportions, degradations=DEFAULT_PAIR):
    """{file name: bytes}: the original's txt files (means), the CSV (means and per-image values) and
    the markdown table, to be written together (faig.store.commit_files)."""
    results = mean_results(per_image)
    files = {}
    for method in methods:
        for masked in degradations:
            for deg in degradations:
                values = [results[(method, p, masked, deg)] for p in proportions]
                files[f'{method}_{degradation(masked).mask_kind}_{deg}.txt'] = ''.join(f'{v:.6f}\n' for v in values).encode()
    buffer = io.StringIO()
    comparison_table(per_image).to_csv(buffer, formats={'output_difference': '{:.6f}'})
    files[ResultsLayout.COMPARISON_CSV] = buffer.getvalue().encode()
    files[ResultsLayout.COMPARISON_MD] = markdown_tables(results, methods, proportions, degradations).encode()
    return files


COLUMNS = ['method', 'proportion_percent', 'masked_filters', 'input', 'image', 'output_difference']


def comparison_table(per_image):
    """The comparison as a :class:`~faig.tables.Table` (the columns of comparison.csv): per key, the mean over
    images (image 'mean', the paper's number) and then every image's output difference."""
    means = mean_results(per_image)
    rows = []
    for key, values in sorted(per_image.items(), key=lambda kv: tuple(map(str, kv[0]))):
        rows += [[*key, image, value] for image, value in (('mean', means[key]), *values.items())]
    return Table(COLUMNS, rows)


def write_metric_files(per_image, metric_root, methods, proportions, degradations=DEFAULT_PAIR):
    """:func:`metric_files` written into ``metric_root`` as one set."""
    commit_files(metric_root, metric_files(per_image, methods, proportions, degradations), replaces=METRIC_PATTERNS)


def read_comparison(path):
    """(mean results, per-image results) from a comparison.csv."""
    means, per_image = {}, {}
    with open(path) as f:
        for row in csv.DictReader(f):
            p = float(row['proportion_percent'])
            key = (row['method'], int(p) if p.is_integer() else p, row['masked_filters'], row['input'])
            value = float(row['output_difference'])
            if row['image'] == 'mean':
                means[key] = value
            else:
                per_image.setdefault(key, {})[row['image']] = value
    return means, per_image


def panel_title(deg, masked):
    return f'{degradation(deg).input_title}, {degradation(masked).function} filters masked'


def markdown_tables(results, methods, proportions, degradations=DEFAULT_PAIR):
    """comparison.md: one table of the means per panel (methods × proportions)."""
    blocks = []
    for deg, masked, better in panels(degradations):
        blocks += [f'**{panel_title(deg, masked)}** ({better} is better)',
                   Table(['method', *(f'{p}%' for p in proportions)],
                         [[method, *(f'{results[(method, p, masked, deg)]:.4f}' for p in proportions)]
                          for method in methods])]
    if below_resolution(results.values()):
        blocks.append(f'**{NOTHING_MEASURABLE[0].upper()}{NOTHING_MEASURABLE[1:]}.**')
    return render(blocks)


def print_tables(results, methods, proportions, degradations=DEFAULT_PAIR):
    for deg, masked, better in panels(degradations):
        print(f'\n{panel_title(deg, masked)} -- output difference ({better} is better)')
        print(f'{"method":>18} ' + ' '.join(f'{p:>9}%' for p in proportions))
        for method in methods:
            print(f'{method:>18} ' + ' '.join(f'{results[(method, p, masked, deg)]:>10.4f}' for p in proportions))
    if below_resolution(results.values()):
        print(f'\n{NOTHING_MEASURABLE}')
