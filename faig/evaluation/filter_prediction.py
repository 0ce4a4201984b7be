"""Degradation prediction from the relative output change of masking the discovered filters.

The project's rule (:mod:`faig.evaluation.degradation_prediction`) thresholds the output difference ``a``
(top-p % deblurring filters masked) and ``b`` (top-p % denoising filters masked) as they are. Both grow
with the image's own texture: a richly textured clean crop changes more than a flat blurry one. Dividing
each by the gradient energy of the target's own output on the same image,

    relative_a = mean((G_a - G)^2) / mean(G^2),    relative_b = mean((G_b - G)^2) / mean(G^2),

(``G``: gradient map of the target's output, ``G_a`` / ``G_b``: of the masked outputs; gray channel, as the
comparison measures) makes the numbers the share of the output's detail that the filters carry, so content
largely cancels. The filters still do all the work: no network is trained, and the only fitted values are
the rule's three thresholds (:func:`faig.evaluation.degradation_prediction.fit_calibration`, unchanged).

Tensors and images in, arrays and Figures out; the study (scripts/predict_degradation_study.py) writes them.
"""
from collections import OrderedDict

import numpy as np

from faig.errors import InputError
from faig.evaluation.degradation_prediction import (CALIBRATIONS, COLORS, FLOOR, PREDICTORS, Calibration,
                                                    class_labels, draw_thresholds, fit_calibration)
from faig.evaluation.gradient_map import image_gradient_map, per_image_difference
from faig.specs import DEFAULT_PAIR, degradation

KEY = 'relative'  # the predictor's key in a study record (and in degradation_prediction.PREDICTORS)
DIRECTIONS = ('above', 'above')  # a present degradation's filters carry a larger share of the output's detail


def feature_names(degradations=DEFAULT_PAIR):
    """Column names of the two numbers: ``deblurring_relative_change``, ``denoising_relative_change``, ..."""
    return tuple(f'{degradation(deg).function}_relative_change' for deg in degradations)


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


class RelativeFilterFeatures:
    """Per LR image: ``a``, ``b`` (the project's numbers) and the output's gradient energy ``energy``.

    ``features``: a :class:`faig.evaluation.degradation_prediction.FilterFeatures` (network, model pair,
    the masked states of both rankings); its states are used as they are, so ``a`` and ``b`` are exactly
    the project's numbers."""

    def __init__(self, features):
        self.features = features
        self.degradations = features.degradations

    def _maps(self, state, images):
        from faig.inference import restore
        net = self.features.net
        net.load_state_dict(state, strict=True)
        return {name: image_gradient_map(restore(net, img, self.features.device), self.features.channel)
                for name, img in images.items()}

    def responses(self, images):
        """{name: {'a': ..., 'b': ..., 'energy': ...}} of {name: [0, 1] float image}."""
        check_images(images)
        f = self.features
        try:
            reference = self._maps(f.target, images)
            changes = [per_image_difference(self._maps(f.states[deg], images), reference) for deg in self.degradations]
        finally:
            f.net.load_state_dict(f.target, strict=True)
        return OrderedDict((name, {'a': changes[0][name], 'b': changes[1][name],
                                   'energy': output_energy(reference[name])}) for name in images)

    def measure(self, images):
        """{name: (relative a, relative b)}."""
        return {name: relative_values(r) for name, r in self.responses(images).items()}


def relative_values(response):
    """(a / energy, b / energy) of one image's responses (energy floored: a blank output gives no zero division)."""
    energy = max(float(response['energy']), FLOOR)
    return response['a'] / energy, response['b'] / energy


def fit(values, labels, degradations=DEFAULT_PAIR, info=None):
    """The rule's three thresholds on the relative numbers (the project's fitting, unchanged)."""
    return fit_calibration(values, labels, degradations, DIRECTIONS, feature_names(degradations), info)


# ---- the per-level scatter -------------------------------------------------------------------------

def level_scatter_figure(study, key=KEY, calibration='trained', split='test'):
    """A Figure: one panel per level of the labelled set, the two numbers of predictor ``key`` on ``split``
    (log axes), the decision boundaries fitted on ``calibration`` of the calibration split dashed; a cross marks
    a wrongly predicted image. Where the filters fail (low noise, blur under noise) the panel shows why: the
    points sit on the wrong side of a cut, or on top of another level's."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fitted = Calibration.from_json(study['calibrations'][calibration][key])
    labels = list(study.get('labels') or class_labels(tuple(study['degradations'])))
    records = [r for r in study['records'] if r['split'] == split]
    levels = [lv['name'] for lv in study['levels']]
    values = np.maximum(np.array([r[key] for r in records], dtype=np.float64).reshape(-1, 2), FLOOR)
    lo, hi = values.min(0) / 1.5, values.max(0) * 1.5
    columns = 4
    rows = int(np.ceil(len(levels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False)
    for ax, level in zip(axes.flat, levels):
        chosen = [i for i, r in enumerate(records) if r['level'] == level]
        true = records[chosen[0]]['true'] if chosen else labels[0]
        color = COLORS[labels.index(true)]
        right = [i for i in chosen if records[i]['predicted'][calibration][key] == records[i]['true']]
        wrong = [i for i in chosen if i not in right]
        ax.scatter(values[right, 0], values[right, 1], s=16, color=color, alpha=0.85, label='right')
        ax.scatter(values[wrong, 0], values[wrong, 1], s=22, color=color, marker='x', label='wrong')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        draw_thresholds(ax, fitted)
        trained = next((lv['trained'] for lv in study['levels'] if lv['name'] == level), False)
        ax.set_title(f'{level} ({true}{", trained" if trained else ""}): {len(right)}/{len(chosen)} right',
                     fontsize=8)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3, which='both', lw=0.3)
    for ax in axes.flat[len(levels):]:
        ax.axis('off')
    names = fitted.features
    fig.supxlabel(names[0], fontsize=9)
    fig.supylabel(names[1], fontsize=9)
    fig.suptitle(f'{study["net"]}: {PREDICTORS.get(key, key)} on the {split} split, per level '
                 f'(thresholds fitted on {CALIBRATIONS[calibration]} of the calibration split; x: wrong)\n'
                 f'{fitted.describe()}', fontsize=9)
    fig.tight_layout()
    return fig
