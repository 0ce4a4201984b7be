"""The paper's third finding: the discovered filters tell which degradation an input has.

Masking the top-p % filters of degradation A changes the one-branch target's output much on an input with A and
little on one without it (finding 1). So two numbers per LR image -- the output difference (gradient-map MSE ×1000
against the target's own output, as the comparison measures it) with A's filters masked, and with B's -- say
whether A and B are present. No network is trained: three thresholds on the two numbers, fitted on labelled
images, give one of four classes, ``clean``, ``<a>``, ``<b>``, ``<a>_<b>``.

Three predictors share that fitting (:data:`PREDICTORS`): the numbers as they are (``filters``), the same numbers
over the gradient energy of the target's own output (``relative``: the share of the output's detail the filters
carry, so that the image's texture largely cancels), and what a user would pick instead (``classical``: the
variance of the Laplacian and ``skimage.restoration.estimate_sigma``).
"""
from dataclasses import dataclass

import numpy as np

from faig.errors import InputError
from faig.specs import DEFAULT_PAIR, ORIGINAL_PAIR, degradation

CLEAN = 'clean'
FLOOR = 1e-12  # numbers are compared on a log scale; an exact zero (no change at all) sits here
DIRECTIONS = ('above', 'below')
PREDICTORS = {'filters': 'filter-based (FAIG filters masked)',
              'relative': 'filter-based, relative change (a, b over the output energy)',
              'classical': 'classical (estimate_sigma, variance of the Laplacian)'}
# on which side of its threshold each number says "present": masking a present degradation's filters changes the
# output more; a blurry image has less Laplacian variance, a noisy one a larger estimated sigma
PREDICTOR_DIRECTIONS = {'filters': ('above', 'above'), 'relative': ('above', 'above'), 'classical': ('below', 'above')}
# the classical predictor measures the original pair: sharpness for the first, skimage's estimated sigma for the second
CLASSICAL_FEATURES = ('laplacian_variance', f'{ORIGINAL_PAIR[1]}_sigma')


def feature_names(predictor='filters', degradations=DEFAULT_PAIR):
    """Names of a predictor's two numbers, e.g. ``deblurring_filters_masked``, ``denoising_relative_change``."""
    if predictor == 'classical':
        return CLASSICAL_FEATURES
    suffix = {'filters': 'filters_masked', 'relative': 'relative_change'}[predictor]
    return tuple(f'{degradation(deg).function}_{suffix}' for deg in degradations)


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
        """A non-finite value or an unknown direction is a ValueError (a NaN cut says "absent" for every image)."""
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
    """The cut on ``values`` with the best weighted accuracy of "present" (default weights: half each side).

    Cuts lie between consecutive distinct values, at their geometric mean (the numbers span decades); ties go to
    the widest gap on the log scale, then to the lowest cut. Hand-written rather than a scikit-learn stump: a
    stump minimises impurity, not accuracy, and places its cut at the arithmetic mean."""
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
    """Three thresholds on the two numbers, and what they were fitted on.

    The degradation told apart best on its own (``first``) is decided first; the other one then gets one
    threshold where the first is absent and one where it is present: one degradation moves the other's number
    too (noise raises the output change of masking the deblurring filters, and the Laplacian variance far more)."""
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


def fit_calibration(values, labels, degradations=DEFAULT_PAIR, directions=PREDICTOR_DIRECTIONS['filters'],
                    features=None, info=None):
    """The three thresholds of a :class:`Calibration` from labelled images: ``values`` (n, 2), ``labels``.

    Every label weighs the same (:func:`balanced_weights`). First is the degradation whose single threshold
    reaches the higher balanced accuracy (a tie: the pair's first); the other's two thresholds are fitted on the
    images without and with the first, each side with its own weights. A side lacking images with or without
    the second degradation keeps its single threshold."""
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

    def fit(axis, chosen):
        subset = [label for label, keep in zip(labels, chosen) if keep]
        try:
            return fit_threshold(values[chosen, axis], flags[chosen, axis], balanced_weights(subset), directions[axis])
        except InputError:
            raise InputError(f'calibration: images with and without {degradations[axis]} are needed to fit its '
                             f'threshold ({int(flags[chosen, axis].sum())} of {int(chosen.sum())} have it)') from None

    single = [fit(axis, np.ones(len(labels), dtype=bool)) for axis in (0, 1)]
    first = 0 if single[0].balanced_accuracy >= single[1].balanced_accuracy else 1
    second = 1 - first
    without = ~flags[:, first]

    def branch(chosen):
        return fit(second, chosen) if len(set(flags[chosen, second].tolist())) == 2 else single[second]
    names = tuple(features or feature_names('filters', degradations))
    counts = {label: labels.count(label) for label in known if label in labels}
    return Calibration(tuple(degradations), names, first, single[first], (branch(without), branch(~without)),
                       {'counts': counts, **(info or {})})


def fit_predictor(predictor, values, labels, degradations=DEFAULT_PAIR, info=None):
    """:func:`fit_calibration` with the directions and number names of ``predictor`` (a key of PREDICTORS)."""
    return fit_calibration(values, labels, degradations, PREDICTOR_DIRECTIONS[predictor],
                           feature_names(predictor, degradations), info)


# ---- the numbers ---------------------------------------------------------------------------------

def relative_values(response):
    """(a / energy, b / energy) of one image's responses (energy floored: a blank output divides by no zero)."""
    energy = max(float(response['energy']), FLOOR)
    return response['a'] / energy, response['b'] / energy


# ---- how well it predicts ------------------------------------------------------------------------

def confusion_matrix(true, predicted, labels):
    """Rows: true label; columns: predicted label (counts, as lists)."""
    # imported here: scikit-learn takes 1.5-3 s to import on 2 busy cores, which every `faig study` start would pay
    # through faig.figures
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix
    if not len(true):
        return [[0] * len(labels) for _ in labels]
    return sklearn_confusion_matrix(list(true), list(predicted), labels=list(labels)).tolist()


def accuracy(true, predicted):
    true, predicted = list(true), list(predicted)
    return float(np.mean([t == p for t, p in zip(true, predicted)])) if true else float('nan')


def summarize(records, labels, predicted):
    """Accuracy, class-balanced accuracy and confusion of one predictor (``predicted``: record -> label) on the
    records, at the trained levels, at the other levels, and per level."""
    def block(rows):
        true = [r['true'] for r in rows]
        matrix = confusion_matrix(true, [predicted(r) for r in rows], labels)
        recalls = [row[i] / sum(row) for i, row in enumerate(matrix) if sum(row)]
        return {'images': len(rows), 'accuracy': float(np.trace(matrix) / len(rows)) if rows else float('nan'),
                'balanced_accuracy': float(np.mean(recalls)) if recalls else float('nan'), 'confusion': matrix}
    levels = list(dict.fromkeys(r['level'] for r in records))
    return {'all': block(records), 'trained': block([r for r in records if r['trained']]),
            'unseen': block([r for r in records if not r['trained']]),
            'per_level': {lv: block([r for r in records if r['level'] == lv]) for lv in levels}}
