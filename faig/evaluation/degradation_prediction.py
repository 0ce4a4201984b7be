"""The paper's third finding: the discovered filters tell which degradation an input has.

Masking the top-p % deblurring filters of the one-branch target changes its output much on a blurry
input and little on a noisy one, and the denoising filters the other way round (finding 1). So two
numbers per LR image -- the output difference when the top-p % filters of degradation A are masked,
and when those of degradation B are masked (gradient-map MSE ×1000 against the target's own output on
the same input, exactly as the comparison measures it) -- say whether A and B are present. No network
is trained: thresholds on the two numbers, fitted on a labelled calibration set, give one of four
classes: ``clean``, ``<a>``, ``<b>``, ``<a>_<b>`` (for the paper's pair: clean, blur, noise, blur_noise).

**Fitting** (:func:`fit_threshold`, :func:`fit_calibration`, :class:`Calibration`). A threshold on one
number separates "degradation present" from "absent" images: it is the cut that maximises the
class-balanced accuracy of that decision on the calibration images (each of the four labels weighs the
same, whatever its image count), taken between consecutive distinct calibration values at their
geometric mean (the numbers span decades); among equally good cuts the widest gap wins, then the lowest.
The degradation whose threshold alone separates best is decided first; the other one then gets two
thresholds, one fitted on the calibration images without the first degradation and one on those with it
(noise raises the other number too, so one cut for both would mix them). Three thresholds in all, a
deterministic function of the calibration values: the same images give the same thresholds.

**What a user would pick instead** (:func:`classical_features`): the noise level of
``skimage.restoration.estimate_sigma`` and the variance of the Laplacian (sharpness; a blurry image
has less), thresholded by the same fitting (for sharpness, "below" counts as blurry).

**Folders** (:func:`read_input_folder`): an input folder holds LR images, or one subfolder per true
label (``clean``, ``blur``, ``noise``, ``blur_noise``), each holding images or one subfolder per
degradation level. The study's labelled set (:func:`make_labelled_set`,
``scripts/make_degradation_set.py``) is ``<root>/<split>/<label>/<level>/<photo>_<k>.png`` with
``<root>/manifest.json``; ``<root>/<split>`` is such an input folder.
"""
import csv
import io
import json
import os
import os.path as osp
import zlib
from dataclasses import dataclass

import numpy as np

from faig.errors import InputError
from faig.specs import DEFAULT_PAIR, degradation
from faig.tables import markdown_table

CLEAN = 'clean'
FLOOR = 1e-12  # numbers are compared on a log scale; an exact zero (no change at all) sits here
DIRECTIONS = ('above', 'below')
FILTER_DIRECTIONS = ('above', 'above')  # masking a present degradation's filters changes the output more
CLASSICAL_DIRECTIONS = ('below', 'above')  # blurry: less Laplacian variance; noisy: larger estimated sigma
CLASSICAL_FEATURES = ('laplacian_variance', 'noise_sigma')
TRAINED = {'blur_sigma': 2.0, 'kernel_size': 21, 'noise_sigma': 0.1}  # the target's training degradations
SPLITS = ('calibration', 'test')


# ---- labels --------------------------------------------------------------------------------------

def class_labels(degradations=DEFAULT_PAIR):
    """The four classes of a degradation pair, as folder names: clean, <a>, <b>, <a>_<b>."""
    a, b = degradations
    return (CLEAN, a, b, f'{a}_{b}')


def label_of(has_a, has_b, degradations=DEFAULT_PAIR):
    return class_labels(degradations)[int(bool(has_a)) + 2 * int(bool(has_b))]


def has_degradations(label, degradations=DEFAULT_PAIR):
    """(A present, B present) of a class label."""
    index = class_labels(degradations).index(label)
    return bool(index & 1), bool(index & 2)


# ---- thresholds ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Threshold:
    """One cut on one number: the degradation is present when the number is above (or below) ``value``."""
    value: float
    direction: str = 'above'
    balanced_accuracy: float = float('nan')  # of the present/absent decision on the calibration images

    def present(self, values):
        values = np.maximum(np.asarray(values, dtype=np.float64), FLOOR)
        return values > self.value if self.direction == 'above' else values < self.value

    def to_json(self):
        return {'value': self.value, 'direction': self.direction, 'balanced_accuracy': self.balanced_accuracy}

    @classmethod
    def from_json(cls, data):
        """A threshold as to_json wrote it; a value that is not a finite number or an unknown direction is a
        ValueError (a NaN cut decides "absent" for every image, silently)."""
        value, direction = float(data['value']), data['direction']
        if not np.isfinite(value):
            raise ValueError(f'threshold value {value} is not a finite number')
        if direction not in DIRECTIONS:
            raise ValueError(f'threshold direction {direction!r} is not one of {", ".join(DIRECTIONS)}')
        return cls(value, direction, float(data.get('balanced_accuracy', float('nan'))))


def balanced_weights(labels):
    """Per-image weights that give every label present the same total weight (the four classes count alike)."""
    labels = list(labels)
    counts = {label: labels.count(label) for label in set(labels)}
    return np.array([1.0 / (len(counts) * counts[label]) for label in labels])


def fit_threshold(values, present, weights=None, direction='above'):
    """The cut on ``values`` that best separates ``present`` from absent images (weighted accuracy).

    Cuts lie between consecutive distinct values, at their geometric mean; ties go to the widest gap
    (on the log scale), then to the lowest cut. ``weights``: per image (default: present and absent
    weigh half each). Returns a :class:`Threshold` whose ``balanced_accuracy`` is the weighted accuracy
    reached, normalised to the total weight."""
    if direction not in DIRECTIONS:
        raise ValueError(f'direction must be one of {DIRECTIONS}, got {direction!r}')
    values = np.asarray(values, dtype=np.float64)
    present = np.asarray(present, dtype=bool)
    if values.ndim != 1 or values.shape != present.shape or values.size == 0:
        raise ValueError('values and present must be 1-D and of the same, non-zero length')
    if not np.isfinite(values).all():
        raise ValueError('values must be finite')
    if present.all() or not present.any():
        raise InputError('calibration: a threshold needs images with and without the degradation '
                         f'({int(present.sum())} of {present.size} have it)')
    if weights is None:
        weights = np.where(present, 0.5 / present.sum(), 0.5 / (~present).sum())
    weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    score = np.log10(np.maximum(values, FLOOR))
    score = score if direction == 'above' else -score  # 'present' is always the high side of ``score``
    order = np.argsort(score, kind='stable')
    s, p, w = score[order], present[order], weights[order]
    # cut k: images order[:k] absent, order[k:] present
    correct_absent = np.concatenate([[0.0], np.cumsum(np.where(~p, w, 0.0))])
    correct_present = np.concatenate([np.cumsum(np.where(p, w, 0.0)[::-1])[::-1], [0.0]])
    accuracy = correct_absent + correct_present
    n = s.size
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = s[1:] > s[:-1]  # no cut between equal values
    gaps = np.zeros(n + 1)
    gaps[1:n] = s[1:] - s[:-1]
    best = accuracy[valid].max()
    candidates = np.flatnonzero(valid & np.isclose(accuracy, best, rtol=0, atol=1e-12))
    k = int(candidates[np.argmax(gaps[candidates])])  # argmax: the first of equal gaps, i.e. the lowest cut
    cut = s[0] - 1.0 if k == 0 else s[-1] + 1.0 if k == n else (s[k - 1] + s[k]) / 2
    value = float(10 ** (cut if direction == 'above' else -cut))
    return Threshold(value, direction, float(best))


@dataclass(frozen=True)
class Calibration:
    """Three thresholds on the two numbers and what they were fitted on.

    The degradation told apart best on its own (``first``, by the balanced accuracy of its single
    threshold) is decided first, on its number; the other one is then decided on its number with one
    threshold for the images where the first is absent and one for those where it is present. One
    degradation changes the other's number too (noise raises the output change of masking the deblurring
    filters, and the variance of the Laplacian far more), so one cut for both cases would mix them."""
    degradations: tuple
    features: tuple  # names of the two numbers, in the pair's order
    first: int  # 0 or 1: which degradation is decided first
    threshold_first: Threshold
    thresholds_second: tuple  # (Threshold when the first is absent, Threshold when it is present)
    info: dict = None  # what the thresholds were fitted on (counts, image size, run key, ...)

    @property
    def second(self):
        return 1 - self.first

    def decide(self, values):
        """(A present, B present) arrays of an (n, 2) array of the two numbers."""
        values = np.asarray(values, dtype=np.float64).reshape(-1, 2)
        first = self.threshold_first.present(values[:, self.first])
        absent, present = self.thresholds_second
        second = np.where(first, present.present(values[:, self.second]), absent.present(values[:, self.second]))
        flags = [None, None]
        flags[self.first], flags[self.second] = first, second
        return flags[0], flags[1]

    def predict(self, values):
        """Class labels of an (n, 2) array of the two numbers."""
        has_a, has_b = self.decide(values)
        return [label_of(a, b, self.degradations) for a, b in zip(has_a, has_b)]

    def describe(self):
        """The rule in words, e.g. 'noise if denoising_filters_masked > 1.2; then blur if ... > 0.3 (no noise)'."""
        degs, names = self.degradations, self.features
        op = lambda t: '>' if t.direction == 'above' else '<'  # noqa: E731
        f, s = self.first, self.second
        absent, present = self.thresholds_second
        return (f'{degs[f]} if {names[f]} {op(self.threshold_first)} {self.threshold_first.value:.4g}; then {degs[s]} '
                f'if {names[s]} {op(absent)} {absent.value:.4g} (without {degs[f]}) or {op(present)} '
                f'{present.value:.4g} (with {degs[f]})')

    def to_json(self):
        absent, present = self.thresholds_second
        return {'degradations': list(self.degradations), 'features': list(self.features),
                'first': self.degradations[self.first],
                'thresholds': {self.degradations[self.first]: self.threshold_first.to_json(),
                               self.degradations[self.second]: {'absent': absent.to_json(),
                                                                'present': present.to_json()}},
                **(self.info or {})}

    @classmethod
    def from_json(cls, data, path='calibration'):
        try:
            degs = tuple(data['degradations'])
            if data['first'] not in degs:
                raise ValueError(f'first {data["first"]!r} is not one of its degradations {list(degs)}')
            first = degs.index(data['first'])
            second = degs[1 - first]
            thresholds = data['thresholds']
            threshold_first = Threshold.from_json(thresholds[degs[first]])
            thresholds_second = (Threshold.from_json(thresholds[second]['absent']),
                                 Threshold.from_json(thresholds[second]['present']))
            features = tuple(data['features'])
            if len(degs) != 2 or len(features) != 2 or degs[0] == degs[1]:
                raise ValueError(f'{len(degs)} degradations and {len(features)} features; a calibration has two each')
        except ValueError as exc:
            raise InputError(f'{path}: not a usable calibration ({exc})') from None
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f'{path}: not a calibration file ({type(exc).__name__}: {exc})') from None
        info = {k: v for k, v in data.items() if k not in ('degradations', 'features', 'first', 'thresholds')}
        return cls(degs, features, first, threshold_first, thresholds_second, info)


def fit_calibration(values, labels, degradations=DEFAULT_PAIR, directions=FILTER_DIRECTIONS, features=None,
                    info=None):
    """The three thresholds of a :class:`Calibration` from labelled images: ``values`` (n, 2), ``labels``.

    Every label weighs the same (:func:`balanced_weights`). The degradation decided first is the one whose
    single threshold (:func:`fit_threshold` of "present" over all images) reaches the higher balanced
    accuracy (a tie: the pair's first). The other degradation's two thresholds are fitted on the images
    without and with the first degradation (their true labels), each with its own balanced weights; a side
    that lacks images with or without the second degradation keeps its single threshold."""
    values = np.asarray(values, dtype=np.float64).reshape(-1, 2)
    labels = list(labels)
    known = class_labels(degradations)
    unknown = sorted(set(labels) - set(known))
    if unknown:
        raise InputError(f'calibration: labels {", ".join(unknown)} are not classes of {"/".join(degradations)} '
                         f'({", ".join(known)})')
    if len(labels) != len(values):
        raise ValueError('one label per image')
    flags = np.array([has_degradations(label, degradations) for label in labels]).reshape(-1, 2)

    def fit(axis, chosen, what):
        subset = [label for label, keep in zip(labels, chosen) if keep]
        try:
            return fit_threshold(values[chosen, axis], flags[chosen, axis], balanced_weights(subset), directions[axis])
        except InputError:
            raise InputError(f'calibration: images with and without {degradations[axis]} are needed{what} to fit its '
                             f'threshold ({int(flags[chosen, axis].sum())} of {int(chosen.sum())} have it)') from None

    everything = np.ones(len(labels), dtype=bool)
    single = [fit(axis, everything, '') for axis in (0, 1)]
    first = 0 if single[0].balanced_accuracy >= single[1].balanced_accuracy else 1
    second = 1 - first
    without = ~flags[:, first]

    def branch(chosen):  # a side with only one kind of image (e.g. no <a>_<b> images) keeps the single cut
        kinds = set(flags[chosen, second].tolist())
        return fit(second, chosen, '') if len(kinds) == 2 else single[second]
    thresholds_second = (branch(without), branch(~without))
    names = tuple(features or filter_feature_names(degradations))
    counts = {label: labels.count(label) for label in known if label in labels}
    return Calibration(tuple(degradations), names, first, single[first], thresholds_second,
                       {'counts': counts, **(info or {})})


# ---- the two numbers -----------------------------------------------------------------------------

def filter_feature_names(degradations=DEFAULT_PAIR):
    """Column names of the two numbers: ``deblurring_filters_masked``, ``denoising_filters_masked``, ..."""
    return tuple(f'{degradation(deg).function}_filters_masked' for deg in degradations)


class FilterFeatures:
    """For LR images, the output difference with the top-p % filters of each degradation masked.

    ``net``: the network (any module; its weights are replaced); ``rankings``: {degradation: filter
    ranking, best first}, two of them, in the pair's order. The measure is the comparison's: the
    gradient maps (gray channel) of the uint8 outputs, MSE against the target's output on the same
    image, ×1000 (faig.evaluation.gradient_map)."""

    def __init__(self, net, baseline, target, rankings, proportion=1, device='cpu', channel='gray', space=None):
        from faig.attribution.filters import FilterSpace
        from faig.evaluation.masking import substitute_filters, top_filters
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
        from faig.evaluation.gradient_map import image_gradient_map
        from faig.inference import restore
        self.net.load_state_dict(state, strict=True)
        return {name: image_gradient_map(restore(self.net, img, self.device), self.channel)
                for name, img in images.items()}

    def measure(self, images):
        """{name: (difference with A's filters masked, with B's filters masked)} of {name: float image}."""
        from faig.evaluation.gradient_map import per_image_difference
        try:
            reference = self._maps(self.target, images)
            differences = [per_image_difference(self._maps(self.states[deg], images), reference)
                           for deg in self.degradations]
        finally:
            self.net.load_state_dict(self.target, strict=True)
        return {name: (differences[0][name], differences[1][name]) for name in images}


def classical_features(img):
    """(variance of the Laplacian, estimated noise sigma) of a [0, 1] float image (BGR HWC or gray HW).

    The Laplacian is OpenCV's 3×3 one on the gray image (0.299 R + 0.587 G + 0.114 B); the noise sigma is
    ``skimage.restoration.estimate_sigma`` (wavelet MAD), averaged over the colour channels, on [0, 1]."""
    import cv2
    from skimage.restoration import estimate_sigma
    from faig.evaluation.gradient_map import GRAY_WEIGHTS_BGR
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    gray = img if img.ndim == 2 else img @ GRAY_WEIGHTS_BGR.astype(np.float64)
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    sigma = estimate_sigma(img, channel_axis=None if img.ndim == 2 else -1, average_sigmas=True)
    return sharpness, float(sigma)


def measure_classical(images):
    return {name: classical_features(img) for name, img in images.items()}


# ---- input folders -------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputImage:
    name: str  # path relative to the input folder, e.g. 'blur/blur2/astronaut_0.png' (the CSV's image)
    path: str
    label: str = None  # the true class, from the folder names (None: unlabelled)
    level: str = None  # the level subfolder, when there is one


def _subfolders(folder):
    return sorted(d for d in os.listdir(folder) if not d.startswith('.') and osp.isdir(osp.join(folder, d)))


def _has_images(folder):
    from faig.data.image_io import IMAGE_EXTENSIONS
    return any(n.lower().endswith(IMAGE_EXTENSIONS) and osp.isfile(osp.join(folder, n)) for n in os.listdir(folder))


def read_input_folder(folder, degradations=DEFAULT_PAIR):
    """The images of an input folder, with their true labels when its subfolders name them.

    ``folder`` holds either LR images (unlabelled) or only label folders (``clean``, ``<a>``, ``<b>``,
    ``<a>_<b>``; any subset), each holding images or only level subfolders of images."""
    from faig.data.image_io import list_images
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
    from faig.data.image_io import read_image
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
    from faig.stamps import sha1_file, state_digest
    return {'network': net_opt, 'baseline': state_digest(baseline), 'target': state_digest(target),
            'rankings': {deg: sha1_file(path) for deg, path in ranking_files.items()},
            'proportion': proportion, 'degradations': list(degradations), 'channel': channel}


def check_calibration(calibration, key, path, size=None):
    """Refuse a calibration fitted for other models, rankings or settings (or another image size)."""
    from faig.outputs import canonical, key_difference
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
    from faig.stamps import read_record
    return Calibration.from_json(read_record(path, 'calibration file'), path)


@dataclass
class PredictorSetup:
    """Everything the filter-based predictor needs, loaded and checked (:func:`prepare_predictor`)."""
    features: 'FilterFeatures'
    key: dict  # :func:`use_key`
    channels: int  # input channels of the network (1: images are read as gray / Y)
    ranking_folder: str
    ranking_files: dict
    accepted: list  # provenance problems accepted with allow_other_models
    net_opt: dict


def prepare_predictor(net='srresnet', network_g=None, scale=2, baseline_model_path=None, target_model_path=None,
                      ranking_folder=None, degradations=DEFAULT_PAIR, proportion=1, param_key=None, device='cpu',
                      allow_other_models=False):
    """Load the model pair and the two rankings, check them (finite weights, the ranking's record of the
    models, a proportion that selects filters that changed) and build the :class:`FilterFeatures`.

    ``network_g``: BasicSR options (a dict, or the --network_g text) overriding the spec of ``net``."""
    from faig.attribution.filters import require_weight_change
    from faig.attribution.ranking import check_provenance, read_index
    from faig.evaluation.masking import num_selected
    from faig.inference import image_channels
    from faig.networks import load_model_pair, parse_network_option, preset
    from faig.paths import default_model
    from faig.stamps import state_digest
    import torch
    opt = (parse_network_option(network_g) if isinstance(network_g, str) else dict(network_g)) if network_g \
        else preset(net, scale)
    baseline_model_path = baseline_model_path or default_model(net, 'baseline')
    target_model_path = target_model_path or default_model(net, 'target')
    ranking_files = {deg: osp.join(ranking_folder, f'{deg}_index.txt') for deg in degradations}
    for path in ranking_files.values():
        if not osp.isfile(path):
            raise InputError(f'{path}: ranking not found (run FAIG first, or give --ranking_folder)')
    model, baseline, target = load_model_pair(opt, baseline_model_path, target_model_path, param_key)
    from faig.attribution.ranking import ranking_space
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
    return PredictorSetup(features, key, image_channels(model)[0], ranking_folder, ranking_files, accepted, opt)


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
    from faig.stamps import sha1_file
    return {'use_key': key, 'images': {e.name: sha1_file(e.path) for e in entries}}


def claim_calibration(path, run_key, force=False):
    """Refuse, before any work, to replace a calibration file made from other settings or images (unless ``force``)."""
    from faig.outputs import claim_results
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


def fit_and_save_calibration(calibration_folder, baseline_model_path, target_model_path, ranking_folder,
                             net='srresnet', network_g=None, scale=2, degradations=DEFAULT_PAIR, proportion=1,
                             param_key=None, device='cpu', force=False, allow_other_models=False, levels=None):
    """Fit the filter-based predictor's thresholds on a labelled folder and save them beside the ranking
    (:func:`calibration_path`), where the CLI finds them when it is given no ``--calibration``.

    Args:
        calibration_folder: labelled LR images (``<dir>/<label>/[<level>/]*.png``), e.g.
            ``datasets/DegradationSet/calibration`` (scripts/make_degradation_set.py).
        baseline_model_path, target_model_path: the model pair the ranking was made for.
        ranking_folder: holds ``<a>_index.txt`` and ``<b>_index.txt`` (e.g.
            ``results/Interpret/neuron-search/<net>/<dataset>/faig``); checked against the models' record.
        net / network_g / scale: the network (a spec name; BasicSR options override it).
        degradations, proportion: the pair and the percent of filters masked.
        force: replace a calibration file fitted with other settings or images.
        levels: fit on these level folders only (e.g. ``['clean', 'blur2', 'noise25.5', 'blur2_noise25.5']``,
            the trained levels, as the study's primary calibration); default every image of the folder.
    Returns:
        (path of the calibration file, :class:`Calibration`).
    """
    setup = prepare_predictor(net, network_g, scale, baseline_model_path, target_model_path, ranking_folder,
                              degradations, proportion, param_key, device, allow_other_models)
    entries, images = labelled_images(calibration_folder, degradations, setup.channels, 'calibration_folder', levels)
    path = calibration_path(ranking_folder, degradations, proportion)
    claim_calibration(path, calibration_run_key(setup.key, entries), force)
    calibration, _ = fit_filter_calibration(setup.features, entries, images, setup.key, calibration_folder,
                                            degradations)
    save_calibration(calibration, path, force)
    return path, calibration


def save_calibration(calibration, path, force=False):
    """Write a calibration file (folder locked, one commit); another run's file is replaced only with ``force``."""
    from faig.attribution.ranking import json_bytes
    from faig.outputs import FolderLock, commit_files
    folder, name = osp.split(path)
    run_key = {'use_key': calibration.info['use_key'], 'images': calibration.info['calibration_images']}
    with FolderLock(folder or '.'):
        claim_calibration(path, run_key, force)
        commit_files(folder or '.', {name: json_bytes({**calibration.to_json(), 'run_key': run_key})})
    return path


# ---- results: accuracy, confusion, CSV, figures --------------------------------------------------

def confusion_matrix(true, predicted, labels):
    """Rows: true label; columns: predicted label (counts)."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(true, predicted):
        matrix[index[t], index[p]] += 1
    return matrix.tolist()


def accuracy(true, predicted):
    true, predicted = list(true), list(predicted)
    return float(np.mean([t == p for t, p in zip(true, predicted)])) if true else float('nan')


def csv_bytes(rows, degradations=DEFAULT_PAIR):
    """The CLI's CSV: image, the two numbers, predicted (and true, when the folders are labelled)."""
    labelled = any(row.get('true') for row in rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    names = list(filter_feature_names(degradations))
    writer.writerow(['image', *names, 'predicted', *(['true'] if labelled else [])])
    for row in rows:
        writer.writerow([row['image'], *(f'{v:.6f}' for v in row['values']), row['predicted'],
                         *([row.get('true') or ''] if labelled else [])])
    return buffer.getvalue().encode()


COLORS = {0: 'tab:gray', 1: 'tab:blue', 2: 'tab:orange', 3: 'tab:purple'}


def figure_bytes(fig, dpi=120):
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi, bbox_inches='tight')
    plt.close(fig)
    return buffer.getvalue()


def draw_thresholds(ax, calibration):
    """The decision boundaries: the first degradation's cut across the whole panel, the second's two cuts each
    on its own side of it."""
    ax.autoscale(False)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    t = calibration.threshold_first.value
    absent, present = calibration.thresholds_second
    style = dict(color='k', ls='--', lw=1)
    if calibration.first == 1:  # first on the y axis: a horizontal cut, then two vertical ones
        ax.plot([x0, x1], [t, t], **style)
        low, high = (absent, present) if calibration.threshold_first.direction == 'above' else (present, absent)
        ax.plot([low.value, low.value], [y0, t], **style)
        ax.plot([high.value, high.value], [t, y1], **style)
    else:
        ax.plot([t, t], [y0, y1], **style)
        low, high = (absent, present) if calibration.threshold_first.direction == 'above' else (present, absent)
        ax.plot([x0, t], [low.value, low.value], **style)
        ax.plot([t, x1], [high.value, high.value], **style)


def scatter_axes(ax, values, labels, calibration, title, feature_titles, trained=None):
    """One scatter panel: the two numbers (log axes) coloured by true label, the decision boundaries dashed.
    ``trained``: per image, whether it is at a trained level (filled marker) or not (hollow)."""
    values = np.maximum(np.asarray(values, dtype=np.float64).reshape(-1, 2), FLOOR)
    classes = class_labels(calibration.degradations)
    trained = np.ones(len(values), dtype=bool) if trained is None else np.asarray(trained, dtype=bool)
    if labels:
        for i, label in enumerate(classes):
            chosen = np.array([lab == label for lab in labels], dtype=bool)
            for filled in (True, False):
                sel = chosen & (trained == filled)
                if sel.any():
                    suffix = '' if trained.all() else ' (trained level)' if filled else ' (other levels)'
                    ax.scatter(values[sel, 0], values[sel, 1], s=14, alpha=0.8, edgecolors=COLORS[i],
                               facecolors=COLORS[i] if filled else 'none', label=label + suffix)
    else:
        ax.scatter(values[:, 0], values[:, 1], s=14, color='k', label='images (unlabelled)')
    ax.set_xscale('log')
    ax.set_yscale('log')
    draw_thresholds(ax, calibration)
    ax.set_xlabel(feature_titles[0], fontsize=8)
    ax.set_ylabel(feature_titles[1], fontsize=8)
    ax.set_title(f'{title}\n{calibration.describe()}', fontsize=7)
    ax.grid(alpha=0.3, which='both', lw=0.3)
    ax.legend(fontsize=6)


def feature_titles(degradations, proportion):
    return tuple(f'output difference, top {proportion:g} % {degradation(d).function} filters masked'
                 for d in degradations)


def scatter_png(values, labels, calibration, title, proportion=1):
    """PNG bytes of the CLI's scatter plot."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    scatter_axes(ax, values, labels, calibration, title, feature_titles(calibration.degradations, proportion))
    return figure_bytes(fig)


# ---- the labelled set ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    name: str  # folder name: clean, blur2, noise15, blur2_noise25.5
    blur_sigma: float = None  # Gaussian blur sigma on the HR image (None: no blur)
    noise_level: float = None  # noise sigma in 8-bit units (/255; None: no noise)

    @property
    def label(self):
        return label_of(self.blur_sigma is not None, self.noise_level is not None)

    @property
    def noise_sigma(self):
        """On the [0, 1] scale, as faig.data.degradations takes it (25.5 -> 0.1, the trained level)."""
        return None if self.noise_level is None else self.noise_level / 255.

    @property
    def trained(self):
        """Every degradation it has is at the target's training level (clean counts: the target saw it too)."""
        blur_ok = self.blur_sigma is None or self.blur_sigma == TRAINED['blur_sigma']
        noise_ok = self.noise_sigma is None or self.noise_sigma == TRAINED['noise_sigma']
        return bool(blur_ok and noise_ok)


def make_levels(blur_sigmas=(1, 2, 3), noise_levels=(5, 15, 25.5)):
    """Clean, each blur, each noise, and every blur+noise combination."""
    levels = [Level(CLEAN)]
    levels += [Level(f'blur{b:g}', float(b)) for b in blur_sigmas]
    levels += [Level(f'noise{n:g}', None, float(n)) for n in noise_levels]
    levels += [Level(f'blur{b:g}_noise{n:g}', float(b), float(n)) for b in blur_sigmas for n in noise_levels]
    return levels


def crop_positions(height, width, size, count):
    """``count`` LR crop corners on an evenly spaced grid reaching the image's edges (row-major)."""
    if height < size or width < size:
        return []
    rows = max(1, int(np.floor(np.sqrt(count))))
    cols = int(np.ceil(count / rows))
    ys = np.round(np.linspace(0, height - size, rows)).astype(int) if rows > 1 else [(height - size) // 2]
    xs = np.round(np.linspace(0, width - size, cols)).astype(int) if cols > 1 else [(width - size) // 2]
    return [(int(y), int(x)) for y in ys for x in xs][:count]


def default_split(photos):
    """Calibration and test photos: alternate in name order (the first to calibration)."""
    photos = sorted(photos)
    return {'calibration': photos[0::2], 'test': photos[1::2]}


def labelled_set_recipe(gt_folder, crop=64, crops_per_photo=6, blur_sigmas=(1, 2, 3), noise_levels=(5, 15, 25.5),
                        kernel_size=21, scale=2, interpolation='bilinear', seed=0, calibration_photos=None):
    """The settings a labelled set is made from (with the contents of its GT photos): its manifest's key."""
    from faig.data.image_io import list_images
    from faig.stamps import content_sha1
    photos = {osp.splitext(n)[0]: p for n, p in list_images(gt_folder).items()}
    if calibration_photos is None:
        split = default_split(photos)
    else:
        unknown = sorted(set(calibration_photos) - set(photos))
        if unknown:
            raise InputError(f'--calibration_photos: {", ".join(unknown)} not in {gt_folder} ({", ".join(photos)})')
        split = {'calibration': sorted(calibration_photos),
                 'test': sorted(set(photos) - set(calibration_photos))}
    if not split['calibration'] or not split['test']:
        raise InputError(f'{gt_folder}: the calibration and the test split each need at least one photo '
                         f'({len(photos)} found)')
    return {'gt_folder': gt_folder, 'photos': {s: content_sha1(photos[s]) for s in sorted(photos)}, 'crop': crop,
            'crops_per_photo': crops_per_photo, 'blur_sigmas': [float(b) for b in blur_sigmas],
            'noise_levels': [float(n) for n in noise_levels], 'kernel_size': kernel_size, 'scale': scale,
            'interpolation': interpolation, 'seed': seed, 'split': split}


def noise_rng(seed, photo, level):
    """A noise stream per seed, photo and level (independent of the order the images are made in)."""
    return np.random.default_rng([seed, zlib.crc32(f'{photo}/{level}'.encode())])


def labelled_set_files(recipe):
    """{relative path: PNG bytes} of a labelled set: every photo degraded whole at every level (the test
    sets' pipeline: blur with the kernel on HR -> bilinear ×1/scale -> noise -> 8 bit), then cut into
    LR crops."""
    from faig.data.degradations import degrade, gaussian_kernel
    from faig.data.image_io import check_divisible, encode_image, list_images, read_image, to_uint8
    photos = {osp.splitext(n)[0]: p for n, p in list_images(recipe['gt_folder']).items()}
    levels = make_levels(recipe['blur_sigmas'], recipe['noise_levels'])
    kernels = {b: gaussian_kernel(recipe['kernel_size'], b) for b in recipe['blur_sigmas']}
    split_of = {photo: split for split, names in recipe['split'].items() for photo in names}
    files, crops = {}, {}
    for photo in sorted(photos):
        hr = read_image(photos[photo])
        check_divisible(photos[photo], hr, recipe['scale'])
        h, w = hr.shape[0] // recipe['scale'], hr.shape[1] // recipe['scale']
        corners = crop_positions(h, w, recipe['crop'], recipe['crops_per_photo'])
        if not corners:
            raise InputError(f'{photos[photo]}: LR size {w}x{h} is smaller than --crop {recipe["crop"]}')
        crops[photo] = corners
        for level in levels:
            lr = degrade(hr, recipe['scale'], kernel=kernels.get(level.blur_sigma), noise_sigma=level.noise_sigma,
                         interpolation=recipe['interpolation'], rng=noise_rng(recipe['seed'], photo, level.name))
            lr = to_uint8(lr)
            for k, (y, x) in enumerate(corners):
                path = f'{split_of[photo]}/{level.label}/{level.name}/{photo}_{k}.png'
                files[path] = encode_image(path, lr[y:y + recipe['crop'], x:x + recipe['crop']])
    return files, crops, levels


def read_manifest(root):
    path = osp.join(root, 'manifest.json')
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def make_labelled_set(root, recipe, overwrite=False, flag='--out_root', overwrite_flag='--overwrite'):
    """Write the labelled set into ``root`` (made whole in a temporary folder, then renamed into place:
    faig.outputs.build_whole_folder).

    An existing set made from the same recipe is kept as it is ('same'); one of another recipe is replaced
    only with ``overwrite``. ``flag`` / ``overwrite_flag``: the caller's flags, for the message (no
    ``overwrite_flag``: the caller cannot replace a set). Returns ('same' | 'made', manifest)."""
    from faig.data.image_io import write_bytes
    from faig.attribution.ranking import json_bytes
    from faig.outputs import build_whole_folder
    manifest = read_manifest(root)
    if manifest is not None and manifest.get('recipe') == json.loads(json.dumps(recipe)):
        return 'same', manifest
    if osp.exists(root) and not overwrite:
        what = ('a labelled set of another recipe' if manifest is not None else
                'other files' if osp.isdir(root) else 'a file')
        replace = f'pass {overwrite_flag} to replace it, or ' if overwrite_flag and osp.isdir(root) else ''
        raise InputError(f'{root}: holds {what}, not this labelled set; {replace}choose another {flag}')
    files, crops, levels = labelled_set_files(recipe)
    manifest = {'recipe': recipe, 'crops': crops, 'layout': '<split>/<label>/<level>/<photo>_<k>.png',
                'levels': [{'name': lv.name, 'label': lv.label, 'blur_sigma': lv.blur_sigma,
                            'noise_level_255': lv.noise_level, 'noise_sigma': lv.noise_sigma, 'trained': lv.trained}
                           for lv in levels],
                'images': {split: sum(1 for p in files if p.startswith(split + '/')) for split in SPLITS}}

    def write(folder):
        for path, data in files.items():
            write_bytes(osp.join(folder, path), data)
        write_bytes(osp.join(folder, 'manifest.json'), json_bytes(manifest))
    if osp.isfile(root):
        raise InputError(f'{root}: a file; {flag} is a folder')
    build_whole_folder(root, write)
    return 'made', manifest


# ---- the study: both predictors on the test split ------------------------------------------------

PREDICTORS = {'filters': 'filter-based (FAIG filters masked)',
              'relative': 'filter-based, relative change (a, b over the output energy)',
              'classical': 'classical (estimate_sigma, variance of the Laplacian)'}


def study_predictors(study, calibration='trained'):
    """The predictors a study record holds, in :data:`PREDICTORS` order (records made before the relative
    predictor lack it)."""
    return [k for k in PREDICTORS if k in study['calibrations'][calibration]]
CALIBRATIONS = {'trained': 'the trained levels', 'all': 'every level'}  # which calibration images fit the thresholds


def summarize(records, labels, predicted):
    """Accuracy and confusion of one predictor (``predicted``: record -> label) on the records, at the trained
    levels, at the other levels, and per level."""
    def block(rows):
        true = [r['true'] for r in rows]
        pred = [predicted(r) for r in rows]
        per_class = [accuracy([t for t in true if t == c], [p for t, p in zip(true, pred) if t == c])
                     for c in labels if c in true]
        return {'images': len(rows), 'accuracy': accuracy(true, pred),
                'balanced_accuracy': float(np.mean(per_class)) if per_class else float('nan'),
                'confusion': confusion_matrix(true, pred, labels)}
    levels = list(dict.fromkeys(r['level'] for r in records))
    return {'all': block(records), 'trained': block([r for r in records if r['trained']]),
            'unseen': block([r for r in records if not r['trained']]),
            'per_level': {lv: block([r for r in records if r['level'] == lv]) for lv in levels}}


def confusion_markdown(matrix, labels, other=None):
    """A confusion table (rows: true, columns: predicted); with ``other``, each cell is 'matrix / other'."""
    return markdown_table(['true \\ predicted', *labels], [
        [label, *(str(v) if other is None else f'{v} / {other[i][j]}' for j, v in enumerate(matrix[i]))]
        for i, label in enumerate(labels)])


def percent_text(value):
    return 'n/a' if value is None or not np.isfinite(value) else f'{100 * value:.1f} %'


def study_markdown(study, heading='###'):
    """Markdown of a study record (results/degradation_prediction/<net>/prediction.json)."""
    labels = study['labels']
    s = study['summary']
    lines = [f'{heading} {study["net"]}', '',
             f'Rankings `{study["ranking_folder"]}` (top {study["proportion"]:g} %: {study["filters"]} filters per '
             f'degradation). Labelled set `{study["set_root"]}`: {study["images"]["calibration"]} calibration and '
             f'{study["images"]["test"]} test images of {study["crop"]}×{study["crop"]} LR pixels (calibration photos '
             f'{", ".join(study["split"]["calibration"])}; test photos {", ".join(study["split"]["test"])}); '
             f'{study["wall_seconds"]:.0f} s on {study["device"]}.', '',
             '4-class accuracy on the test split (image counts in brackets). Trained levels: clean, blur σ 2 '
             '(kernel 21), noise σ 0.1 (25.5/255) and blur σ 2 + noise σ 0.1; other levels: blur σ 1, 3, noise σ '
             '5/255, 15/255 and every combination with one of them.', '']
    rows = []
    predictors = {k: PREDICTORS[k] for k in study_predictors(study)}
    for cal_key, cal_title in CALIBRATIONS.items():
        for key, title in predictors.items():
            rule = Calibration.from_json(study['calibrations'][cal_key][key]).describe()
            block = s[cal_key][key]
            rows.append([title, cal_title, rule, *(f'{percent_text(block[part]["accuracy"])} ({block[part]["images"]})'
                                                   for part in ('trained', 'unseen', 'all')),
                         percent_text(block['all']['balanced_accuracy'])])
    lines += markdown_table(['predictor', 'thresholds fitted on (calibration split)', 'rule', 'trained levels',
                             'other levels', 'all test levels', 'all, class-balanced'], rows) + ['']
    for cal_key, cal_title in CALIBRATIONS.items():
        for key, title in predictors.items():
            block = s[cal_key][key]
            lines += [f'**{title}, thresholds fitted on {cal_title}**: confusion on the test split, '
                      'trained levels / other levels', '',
                      *confusion_markdown(block['trained']['confusion'], labels, block['unseen']['confusion']), '']
    columns = [(c, k) for c in CALIBRATIONS for k in predictors]
    rows = []
    for level in study['levels']:
        name = level['name']
        blocks = [s[c][k]['per_level'][name] for c, k in columns]
        rows.append([name, level['label'], 'yes' if level['trained'] else 'no', blocks[0]['images'],
                     *(percent_text(b['accuracy']) for b in blocks)])
    lines += ['**Accuracy per level (test split)**', '',
              *markdown_table(['level', 'class', 'trained', 'images',
                               *(f'{k}, fitted on {CALIBRATIONS[c]}' for c, k in columns)], rows), '']
    return '\n'.join(lines)


def confusion_png(study, calibration='trained'):
    """PNG bytes: confusion matrices of both predictors (thresholds fitted on ``calibration``), at the trained
    levels and at the other levels of the test split."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    labels = study['labels']
    predictors = study_predictors(study, calibration)
    fig, axes = plt.subplots(len(predictors), 2, figsize=(8.5, 4 * len(predictors)), squeeze=False)
    for row, (key, title) in enumerate((k, PREDICTORS[k]) for k in predictors):
        for col, (part, what) in enumerate((('trained', 'trained levels'), ('unseen', 'other levels'))):
            block = study['summary'][calibration][key][part]
            matrix = np.array(block['confusion'])
            ax = axes[row, col]
            ax.imshow(matrix / np.maximum(matrix.sum(1, keepdims=True), 1), cmap='Blues', vmin=0, vmax=1)
            for i in range(len(labels)):
                for j in range(len(labels)):
                    ax.text(j, i, str(matrix[i, j]), ha='center', va='center', fontsize=9,
                            color='white' if matrix[i, j] > 0.6 * max(matrix[i].sum(), 1) else 'black')
            ax.set_xticks(range(len(labels)), labels, fontsize=8)
            ax.set_yticks(range(len(labels)), labels, fontsize=8)
            ax.set_xlabel('predicted')
            ax.set_ylabel('true')
            ax.set_title(f'{title}\n{what}: {percent_text(block["accuracy"])} of {block["images"]}', fontsize=9)
    fig.suptitle(f'{study["net"]}: 4-class degradation prediction on the test split '
                 f'(thresholds fitted on {CALIBRATIONS[calibration]} of the calibration split)', fontsize=10)
    fig.tight_layout()
    return figure_bytes(fig)


CLASSICAL_TITLES = ('variance of the Laplacian (sharpness)', 'estimate_sigma (noise level on [0, 1])')


def study_scatter_png(study, calibration='trained'):
    """PNG bytes: the two numbers of both predictors on the test split, coloured by true label (filled: trained
    levels), with the decision boundaries fitted on ``calibration`` of the calibration split."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    degs = tuple(study['degradations'])
    predictors = study_predictors(study, calibration)
    fig, axes = plt.subplots(1, len(predictors), figsize=(8 * len(predictors), 5.5), squeeze=False)
    test = [r for r in study['records'] if r['split'] == 'test']
    labels = [r['true'] for r in test]
    trained = [r['trained'] for r in test]
    titles_of = {'filters': feature_titles(degs, study['proportion']), 'classical': CLASSICAL_TITLES,
                 'relative': tuple(f'{t} / output gradient energy' for t in feature_titles(degs, study['proportion']))}
    for ax, key in zip(axes[0], predictors):
        fitted = Calibration.from_json(study['calibrations'][calibration][key])
        titles = titles_of[key]
        scatter_axes(ax, [r[key] for r in test], labels, fitted,
                     f'{study["net"]}: {PREDICTORS[key]}, test split; thresholds fitted on '
                     f'{CALIBRATIONS[calibration]}', titles, trained)
    fig.tight_layout()
    return figure_bytes(fig)


def headline(study, calibration='trained'):
    """{'filters', 'classical' (and 'relative' when recorded): accuracy at the trained levels of the test split,
    'goal_met': whether a filter-based predictor is at least as accurate as the classical one} of a study record
    (for the report's summary JSON)."""
    block = study['summary'][calibration]
    numbers = {'filters': block['filters']['trained']['accuracy'], 'classical': block['classical']['trained']['accuracy']}
    if 'relative' in block:
        numbers['relative'] = block['relative']['trained']['accuracy']
    best = max(numbers['filters'], numbers.get('relative', numbers['filters']))
    numbers['goal_met'] = bool(best >= numbers['classical'])
    return numbers

