"""The degradation predictor's inputs and files: labelled folders, the model pair with its rankings and the
filter-based numbers they give (:class:`FilterFeatures`), and the calibration saved beside a ranking (checked
against what it was fitted for).

An input folder holds LR images, or one subfolder per true label (``clean``, ``<a>``, ``<b>``, ``<a>_<b>``), each
holding images or one subfolder per level. A calibration file records its thresholds and what they depend on
(:func:`use_key`: network, weights, rankings, p, pair; and its images); it is refused for anything else.
"""
import os
import os.path as osp
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from skimage.restoration import estimate_sigma

from faig.attribution.filters import FilterSpace, require_weight_change
from faig.attribution.ranking import json_bytes, ranking_space, read_index
from faig.data.image_io import IMAGE_EXTENSIONS, list_images, read_image
from faig.errors import InputError
from faig.evaluation.degradation_predictor import Calibration, class_labels, fit_calibration, relative_values
from faig.evaluation.gradient_map import GRAY_WEIGHTS_BGR, image_gradient_map, per_image_difference
from faig.evaluation.masking import num_selected, substitute_filters, top_filters
from faig.inference import image_channels, restore
from faig.networks import load_model_pair, parse_network_option, preset
from faig.paths import default_model
from faig.specs import DEFAULT_PAIR
from faig.store import (RunOutputs, canonical, check_provenance, claim_results, key_difference, read_record, sha1_file,
                        state_digest)


def check_images(images):
    """One-line errors for images the predictor cannot compare: none, other sizes, not [0, 1] floats."""
    if not images:
        raise InputError('images: none given')
    first = None
    for name, img in images.items():
        img = np.asarray(img)
        if img.ndim not in (2, 3) or not np.issubdtype(img.dtype, np.floating):
            raise InputError(f'{name}: expected a float image (HW or HWC), got {img.dtype} of shape {img.shape}')
        if not np.isfinite(img).all() or img.min() < 0 or img.max() > 1:
            raise InputError(f'{name}: pixel values must be finite and within [0, 1]')
        if first is None:
            first = (name, img.shape[:2])
        elif img.shape[:2] != first[1]:
            raise InputError(f'{name}: size {img.shape[1]}x{img.shape[0]} differs from {first[0]} '
                             f'({first[1][1]}x{first[1][0]}); thresholds hold for one size')


def output_energy(gradient_map):
    """mean(G^2) ×1000 of a gradient map: the detail in an output, on the scale of the output difference."""
    return float(np.mean(np.asarray(gradient_map, dtype=np.float64) ** 2) * 1000)


class FilterFeatures:
    """Per LR image, the output difference with the top-p % filters of each degradation masked.

    ``net``: the network (any module; its weights are replaced); ``rankings``: {degradation: filter ranking,
    best first}, two, in the pair's order. The measure is the comparison's (faig.evaluation.gradient_map)."""

    def __init__(self, net, baseline, target, rankings, proportion=1, device='cpu', channel='gray', space=None):
        if len(rankings) != 2:
            raise ValueError('two rankings: one per degradation of the pair')
        self.space = space or FilterSpace(target)
        self.degradations = tuple(rankings)
        self.proportion = proportion
        self.selected = {deg: top_filters(r, proportion, self.space.num_filters) for deg, r in rankings.items()}
        self.states = {'target': target, **{deg: substitute_filters(baseline, target, top, self.space)
                                            for deg, top in self.selected.items()}}
        self.target = target
        self.net = net.eval().to(device)
        self.device = device
        self.channel = channel

    def _maps(self, state, images):
        self.net.load_state_dict(state, strict=True)
        return {name: image_gradient_map(restore(self.net, img, self.device), self.channel)
                for name, img in images.items()}

    def responses(self, images):
        """{name: {'a', 'b', 'energy'}} of {name: [0, 1] float image}: both output differences and the gradient
        energy of the target's own output, in one pass."""
        check_images(images)
        try:
            reference = self._maps(self.target, images)
            changes = [per_image_difference(self._maps(self.states[deg], images), reference)
                       for deg in self.degradations]
        finally:
            self.net.load_state_dict(self.target, strict=True)
        return {name: {'a': changes[0][name], 'b': changes[1][name], 'energy': output_energy(reference[name])}
                for name in images}

    def measure(self, images):
        """{name: (difference with A's filters masked, with B's filters masked)}."""
        return {name: (r['a'], r['b']) for name, r in self.responses(images).items()}

    def measure_relative(self, images):
        """{name: (relative a, relative b)}: the differences over the output's gradient energy."""
        return {name: relative_values(r) for name, r in self.responses(images).items()}


def classical_features(img):
    """(variance of the Laplacian, estimated noise sigma) of a [0, 1] float image (BGR HWC or gray HW): OpenCV's
    3×3 Laplacian of the gray image, and ``estimate_sigma`` (wavelet MAD) averaged over the channels."""
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    gray = img if img.ndim == 2 else img @ GRAY_WEIGHTS_BGR.astype(np.float64)
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    sigma = estimate_sigma(img, channel_axis=None if img.ndim == 2 else -1, average_sigmas=True)
    return sharpness, float(sigma)


def measure_classical(images):
    return {name: classical_features(img) for name, img in images.items()}


@dataclass(frozen=True)
class InputImage:
    name: str  # path relative to the input folder, e.g. 'blur/blur2/astronaut_0.png' (the CSV's image)
    path: str
    label: str = None  # the true class, from the folder names (None: unlabelled)
    level: str = None  # the level subfolder, when there is one


def _subfolders(folder):
    return sorted(d for d in os.listdir(folder) if not d.startswith('.') and osp.isdir(osp.join(folder, d)))


def _has_images(folder):
    return any(n.lower().endswith(IMAGE_EXTENSIONS) and osp.isfile(osp.join(folder, n)) for n in os.listdir(folder))


def read_input_folder(folder, degradations=DEFAULT_PAIR):
    """The images of an input folder, with their true labels when its subfolders name them.

    ``folder`` holds either LR images (unlabelled) or only label folders (``clean``, ``<a>``, ``<b>``,
    ``<a>_<b>``; any subset), each holding images or only level subfolders of images."""
    if not osp.isdir(folder):
        raise InputError(f'{folder}: {"not a folder" if osp.exists(folder) else "folder not found"}')
    labels = class_labels(degradations)
    subfolders = _subfolders(folder)
    label_folders = [d for d in subfolders if d in labels]
    if not label_folders:
        if not _has_images(folder) and subfolders:
            raise InputError(f'{folder}: no images found, and no label folders ({", ".join(labels)}) either')
        return [InputImage(name, path) for name, path in list_images(folder).items()]
    if _has_images(folder):
        raise InputError(f'{folder}: holds images beside the label folders ({", ".join(label_folders)}); keep '
                         'either images or label folders')
    others = [d for d in subfolders if d not in labels]
    if others:
        raise InputError(f'{osp.join(folder, others[0])}: not a label folder; a labelled folder holds only '
                         f'{", ".join(labels)}')
    entries = []
    for label in label_folders:
        label_folder = osp.join(folder, label)
        levels = _subfolders(label_folder)
        if levels and _has_images(label_folder):
            raise InputError(f'{label_folder}: holds images beside level folders ({", ".join(levels)}); keep '
                             'either images or level folders')
        for level in levels or [None]:
            sub = osp.join(label_folder, level) if level else label_folder
            for name, path in list_images(sub).items():
                entries.append(InputImage('/'.join(p for p in (label, level, name) if p), path, label, level))
    return entries


def load_images(entries, channels=3):
    """{name: [0, 1] float image} of the entries, all of one size (the thresholds hold for one size)."""
    images, first = {}, None
    for entry in entries:
        img = read_image(entry.path, channels=channels)
        if first is None:
            first = (entry.path, img.shape[:2])
        elif img.shape[:2] != first[1]:
            (h, w), (h0, w0) = img.shape[:2], first[1]
            raise InputError(f'{entry.path}: size {w}x{h} differs from {first[0]} ({w0}x{h0}); the two numbers '
                             'are compared with thresholds fitted at one size, so give images of one size')
        images[entry.name] = img
    return images


def image_size(images):
    h, w = next(iter(images.values())).shape[:2]
    return [int(w), int(h)]


# ---- calibration files beside a ranking ----------------------------------------------------------

def calibration_path(ranking_folder, degradations=DEFAULT_PAIR, proportion=1):
    """Where the calibration of a ranking is kept: ``<ranking folder>/prediction_calibration_<a>_<b>_p<p>.json``."""
    a, b = degradations
    return osp.join(ranking_folder, f'prediction_calibration_{a}_{b}_p{proportion:g}.json')


def use_key(net_opt, baseline, target, ranking_files, proportion, degradations, channel='gray'):
    """What a calibration's thresholds depend on besides its images: network, weights, rankings, p, pair."""
    return {'network': net_opt, 'baseline': state_digest(baseline), 'target': state_digest(target),
            'rankings': {deg: sha1_file(path) for deg, path in ranking_files.items()},
            'proportion': proportion, 'degradations': list(degradations), 'channel': channel}


def check_calibration(calibration, key, path, size=None):
    """Refuse a calibration fitted for other models, rankings or settings (or another image size)."""
    recorded = (calibration.info or {}).get('use_key')
    if recorded is None or canonical(recorded) != canonical(key):
        why = key_difference(recorded, canonical(key)) if recorded is not None else 'it records no settings'
        raise InputError(f'{path}: this calibration was fitted for other models, rankings or settings ({why}); '
                         'fit it again (--fit_calibration DIR) or pass --calibration DIR')
    fitted = (calibration.info or {}).get('image_size')
    if size is not None and fitted is not None and list(fitted) != list(size):
        raise InputError(f'{path}: fitted on {fitted[0]}x{fitted[1]} images, the inputs are {size[0]}x{size[1]}; fit a '
                         'calibration at this size (--calibration DIR)')


def read_calibration(path):
    return Calibration.from_json(read_record(path, 'calibration file'), path)


@dataclass
class PredictorSetup:
    """Everything the filter-based predictor needs, loaded and checked (:func:`prepare_predictor`)."""
    features: FilterFeatures
    key: dict  # :func:`use_key`
    channels: int  # input channels of the network (1: images are read as gray / Y)
    accepted: list  # provenance problems accepted with allow_other_models


def prepare_predictor(net, network_g=None, scale=2, baseline_model_path=None, target_model_path=None,
                      ranking_folder=None, degradations=DEFAULT_PAIR, proportion=1, param_key=None, device='cpu',
                      allow_other_models=False):
    """Load the model pair and the two rankings, check them (finite weights, the ranking's record of the
    models, a proportion that selects filters that changed) and build the :class:`FilterFeatures`.

    ``network_g``: BasicSR options (a dict, or the --network_g text) overriding the spec of ``net``."""
    opt = (parse_network_option(network_g) if isinstance(network_g, str) else dict(network_g)) if network_g \
        else preset(net, scale)
    baseline_model_path = baseline_model_path or default_model(net, 'baseline')
    target_model_path = target_model_path or default_model(net, 'target')
    ranking_files = {deg: osp.join(ranking_folder, f'{deg}_index.txt') for deg in degradations}
    for path in ranking_files.values():
        if not osp.isfile(path):
            raise InputError(f'{path}: ranking not found (run FAIG first, or give --ranking_folder)')
    model, baseline, target = load_model_pair(opt, baseline_model_path, target_model_path, param_key)
    space = ranking_space(ranking_folder, model)  # the filters the index refers to (layer kinds, --layers)
    require_weight_change(space, baseline, target, baseline_model_path, target_model_path)
    if num_selected(space.num_filters, proportion) == 0:
        raise InputError(f'--proportion: {proportion:g} % of the {space.num_filters} filters selects none '
                         f'(rounded down); use at least {100 / space.num_filters:.3g} %')
    rankings = {deg: read_index(path, space.num_filters) for deg, path in ranking_files.items()}
    given = {'baseline': state_digest(baseline), 'target': state_digest(target)}
    accepted = check_provenance(ranking_folder, given, allow_other_models)
    features = FilterFeatures(model, baseline, target, rankings, proportion, torch.device(device), space=space)
    for deg, top in features.selected.items():
        require_weight_change(space, baseline, target, baseline_model_path, target_model_path, top,
                              f'the top {proportion:g} % of {ranking_files[deg]}')
    key = use_key(opt, baseline, target, ranking_files, proportion, degradations)
    return PredictorSetup(features, key, image_channels(model)[0], accepted)


def labelled_images(folder, degradations=DEFAULT_PAIR, channels=3, flag='--calibration', levels=None):
    """(entries, images) of a labelled folder (a calibration folder must name its labels); ``levels``: only
    the images of these level folders (e.g. the trained levels)."""
    entries = read_input_folder(folder, degradations)
    if entries[0].label is None:
        raise InputError(f'{folder}: {flag} needs label folders ({", ".join(class_labels(degradations))})')
    if levels is not None:
        found = {e.level for e in entries}
        if found == {None}:
            raise InputError(f'{folder}: no level folders (the images lie in the label folders themselves); '
                             'choosing levels needs <label>/<level>/ folders')
        found.discard(None)
        missing = [level for level in levels if level not in found]
        if missing:
            raise InputError(f'{folder}: no level folder {", ".join(missing)} (levels there: '
                             f'{", ".join(sorted(str(x) for x in found))})')
        entries = [e for e in entries if e.level in levels]
    return entries, load_images(entries, channels)


def calibration_run_key(key, entries):
    """What a saved calibration was made from: its :func:`use_key` and the contents of its images."""
    return {'use_key': key, 'images': {e.name: sha1_file(e.path) for e in entries}}


def claim_calibration(path, run_key, force=False):
    """Refuse, before any work, to replace a calibration file made from other settings or images (unless ``force``)."""
    folder, name = osp.split(path)
    return claim_results(folder or '.', run_key, force, [name], meta_name=name)


def fit_filter_calibration(features, entries, images, key, folder, degradations=DEFAULT_PAIR):
    """(calibration, {name: values}): the filter-based thresholds fitted on labelled images."""
    values = features.measure(images)
    run_key = calibration_run_key(key, entries)
    levels = sorted({e.level for e in entries if e.level})
    info = {'use_key': key, 'image_size': image_size(images), 'images': len(entries), 'calibration_folder': folder,
            'levels': levels, 'calibration_images': run_key['images'],
            'filters': int(len(next(iter(features.selected.values()))))}
    calibration = fit_calibration([values[e.name] for e in entries], [e.label for e in entries], degradations,
                                  info=info)
    return calibration, values


def save_calibration(calibration, path, force=False):
    """Write a calibration file (folder locked, one commit); another run's file is replaced only with ``force``."""
    folder, name = osp.split(path)
    run_key = {'use_key': calibration.info['use_key'], 'images': calibration.info['calibration_images']}
    with RunOutputs(folder or '.', run_key, [name], force=force, record=name) as outputs:
        outputs.commit({name: json_bytes({**calibration.to_json(), 'run_key': run_key})})
    return path
