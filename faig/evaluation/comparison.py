"""Comparison of the four rankings: mask their top-p % filters, restore, measure output differences.

Layout (the original's):
  masked outputs   <mask_root>/<method>/<N>kernels/{maskdeblurfilter,maskdenoisefilter}/<input folder>/<img>.png
  metrics          <metric_root>/<method>_{maskdeblurfilter,maskdenoisefilter}_{blur,noise}.txt (one line per p)
plus <metric_root>/comparison.csv and comparison.md.
Outputs are cached: masked outputs are reused while the ranking files and models they came from
are unchanged; target outputs are read from the inference folder when present.
"""
import csv
import io
import json
import os.path as osp
from dataclasses import dataclass, field

import cv2
from tqdm import tqdm

from faig.attribution.filters import FilterSpace
from faig.attribution.ranking import read_index
from faig.attribution.runner import sha1_file
from faig.data.image_io import list_images, pair_by_name, read_image, write_bytes, write_image
from faig.evaluation.gradient_map import image_gradient_map, output_difference
from faig.evaluation.masking import DEFAULT_PROPORTIONS, MASK_KINDS, num_selected, substitute_filters
from faig.inference import restore
from faig.networks import build_network

METHODS = ('faig', 'ig', 'abs_filter_change', 'random')
INPUTS = ('blur', 'noise')


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
    folder_names: dict = field(default_factory=lambda: {'blur': 'Blur2_LRbicx2', 'noise': 'LRbicx2_noise0.1'})
    methods: tuple = METHODS
    proportions: tuple = DEFAULT_PROPORTIONS
    channel: str = 'gray'
    device: str = 'cpu'
    models_id: str = ''

    def input_folder(self, deg):
        return osp.join(self.dataroot, self.folder_names[deg])


def restore_images(net, folder, device, save_folder=None):
    """{image stem: uint8 BGR output} for every image of ``folder`` (saved as PNG when asked)."""
    outputs = {}
    for name, path in list_images(folder).items():
        stem = osp.splitext(name)[0]
        out = restore(net, read_image(path), device)
        if save_folder:
            write_image(osp.join(save_folder, f'{stem}.png'), out)
        outputs[stem] = out
    return outputs


def load_outputs(folder, stems):
    """Cached outputs if every expected PNG is there, else None."""
    paths = {s: osp.join(folder, f'{s}.png') for s in stems}
    if not all(osp.isfile(p) for p in paths.values()):
        return None
    return {s: cv2.imread(p, cv2.IMREAD_COLOR) for s, p in paths.items()}


class Comparison:

    def __init__(self, setup):
        self.s = setup
        self.space = FilterSpace(setup.target)
        self.net = build_network(setup.net_opt).eval().to(setup.device)
        pairs = pair_by_name({deg: setup.input_folder(deg) for deg in INPUTS})
        self.stems = [osp.splitext(osp.basename(p['blur']))[0] for p in pairs]

    def _net_with(self, state):
        self.net.load_state_dict(state, strict=True)
        return self.net

    def target_outputs(self):
        """Target-model outputs, reused from the inference folder only if they came from the same model and inputs."""
        outputs = {}
        for deg in INPUTS:
            folder = osp.join(self.s.target_output_root, self.s.folder_names[deg])
            stamp_path = osp.join(folder, '.source.json')
            stamp = {'models': self.s.models_id, 'inputs': osp.abspath(self.s.input_folder(deg))}
            fresh = osp.isfile(stamp_path) and json.load(open(stamp_path)) == stamp
            cached = load_outputs(folder, self.stems) if fresh else None
            if cached is None:
                cached = restore_images(self._net_with(self.s.target), self.s.input_folder(deg), self.s.device, folder)
                write_bytes(stamp_path, json.dumps(stamp, sort_keys=True).encode())
            outputs[deg] = cached
        return outputs

    def rankings(self, method):
        folder = osp.join(self.s.neuron_root, method)
        return {deg: read_index(osp.join(folder, f'{deg}_index.txt'), self.space.num_filters) for deg in INPUTS}

    def masked_outputs(self, method, rankings, proportion, masked_deg):
        """Outputs (per input degradation) of the target with the top-p % ``masked_deg`` filters masked."""
        n = num_selected(self.space.num_filters, proportion)
        base = osp.join(self.s.mask_root, method, f'{n}kernels', MASK_KINDS[masked_deg])
        # one stamp per output folder, written after its outputs: a stamp shared by several folders
        # would mark the ones not yet recomputed as fresh
        stamp_path = osp.join(base, '.source.json')
        stamp = {'ranking': sha1_file(osp.join(self.s.neuron_root, method, f'{masked_deg}_index.txt')),
                 'models': self.s.models_id, 'inputs': [osp.abspath(self.s.input_folder(d)) for d in INPUTS]}
        fresh = osp.isfile(stamp_path) and json.load(open(stamp_path)) == stamp
        outputs = {}
        state = None
        for deg in INPUTS:
            folder = osp.join(base, self.s.folder_names[deg])
            cached = load_outputs(folder, self.stems) if fresh else None
            if cached is None:
                if state is None:
                    state = substitute_filters(self.s.baseline, self.s.target, rankings[masked_deg][:n], self.space)
                cached = restore_images(self._net_with(state), self.s.input_folder(deg), self.s.device, folder)
            outputs[deg] = cached
        write_bytes(stamp_path, json.dumps(stamp, sort_keys=True).encode())
        return outputs

    def run(self, progress=True):
        """{(method, proportion, masked degradation, input degradation): output difference}."""
        reference = {deg: {s: image_gradient_map(img, self.s.channel) for s, img in outs.items()}
                     for deg, outs in self.target_outputs().items()}
        results = {}
        jobs = [(m, p, k) for m in self.s.methods for p in self.s.proportions for k in INPUTS]
        rankings = {m: self.rankings(m) for m in self.s.methods}
        for method, proportion, masked in tqdm(jobs, desc='masking', unit='model', disable=not progress):
            outputs = self.masked_outputs(method, rankings[method], proportion, masked)
            for deg in INPUTS:
                maps = {s: image_gradient_map(img, self.s.channel) for s, img in outputs[deg].items()}
                results[(method, proportion, masked, deg)] = output_difference(maps, reference[deg])
        return results


# ---- tables ---------------------------------------------------------------------------------

PANELS = (  # (input, masked filters, which direction is better)
    ('blur', 'blur', 'higher'), ('blur', 'noise', 'lower'), ('noise', 'noise', 'higher'), ('noise', 'blur', 'lower'))
FUNCTION = {'blur': 'deblur', 'noise': 'denoise'}
INPUT_TITLE = {'blur': 'blurry input', 'noise': 'noisy input'}


def write_metric_files(results, metric_root, methods, proportions):
    """The original's txt files, the CSV and the markdown table."""
    for method in methods:
        for masked in INPUTS:
            for deg in INPUTS:
                values = [results[(method, p, masked, deg)] for p in proportions]
                text = ''.join(f'{v:.6f}\n' for v in values)
                write_bytes(osp.join(metric_root, f'{method}_{MASK_KINDS[masked]}_{deg}.txt'), text.encode())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(['method', 'proportion_percent', 'masked_filters', 'input', 'output_difference'])
    for (method, p, masked, deg), value in sorted(results.items()):
        writer.writerow([method, p, FUNCTION[masked], deg, f'{value:.6f}'])
    write_bytes(osp.join(metric_root, 'comparison.csv'), buffer.getvalue().encode())
    write_bytes(osp.join(metric_root, 'comparison.md'), markdown_tables(results, methods, proportions).encode())


def markdown_tables(results, methods, proportions):
    lines = []
    for deg, masked, better in PANELS:
        lines.append(f'**{INPUT_TITLE[deg]}, {FUNCTION[masked]} filters masked** ({better} is better)\n')
        lines.append('| method | ' + ' | '.join(f'{p}%' for p in proportions) + ' |')
        lines.append('|---|' + '---|' * len(proportions))
        for method in methods:
            row = [results[(method, p, masked, deg)] for p in proportions]
            lines.append(f'| {method} | ' + ' | '.join(f'{v:.4f}' for v in row) + ' |')
        lines.append('')
    return '\n'.join(lines)


def print_tables(results, methods, proportions):
    for deg, masked, better in PANELS:
        print(f'\n{INPUT_TITLE[deg]}, {FUNCTION[masked]} filters masked -- output difference ({better} is better)')
        print(f'{"method":>18} ' + ' '.join(f'{p:>9}%' for p in proportions))
        for method in methods:
            print(f'{method:>18} ' + ' '.join(f'{results[(method, p, masked, deg)]:>10.4f}' for p in proportions))
