"""The relative-change predictor (faig.evaluation.degradation_predictor, predictor key 'relative').

Its numbers must equal a slow literal computation on a tiny MSRResNet (mask applied by hand, pixel loops for
the gradient map); its thresholds come out identical on a refit and whatever the image order; images it cannot
compare are refused in one line; a study record made before it still renders.
"""
import os.path as osp
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from conftest import smooth_image  # noqa: E402
from test_attribution import TINY_NETS, make_pair  # noqa: E402
from test_degradation_prediction import toy_features, toy_images  # noqa: E402

from faig.attribution.filters import FilterSpace  # noqa: E402
from faig.errors import InputError  # noqa: E402
from faig.evaluation import degradation_predictor as dp  # noqa: E402
from faig.evaluation import prediction_inputs, prediction_study  # noqa: E402
from faig.evaluation.labelled_set import SPLITS  # noqa: E402
from faig.figures import (figure_png, prediction_confusion_figure, prediction_level_scatter_figure,  # noqa: E402
                          prediction_study_scatter_figure)
from faig.reporting.prediction import study_markdown  # noqa: E402
from faig.networks import build_network  # noqa: E402


def tiny_setup(proportion=25):
    opt = TINY_NETS['srresnet']
    baseline, target = make_pair(opt, seed=3, dtype=torch.float32)
    net = build_network(opt).float()
    space = FilterSpace(target)
    rng = np.random.default_rng(7)
    rankings = {'blur': rng.permutation(space.num_filters), 'noise': rng.permutation(space.num_filters)}
    features = prediction_inputs.FilterFeatures(net, baseline, target, rankings, proportion, space=space)
    return features, net, baseline, target, space


def literal_output(net, state, img):
    """The network's uint8 BGR output, step by step."""
    net.load_state_dict(state)
    rgb = np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1))
    with torch.no_grad():
        out = net(torch.from_numpy(rgb).float()[None])[0].clamp(0, 1).numpy()
    return np.round(out.transpose(1, 2, 0)[..., ::-1] * 255).astype(np.uint8)


def literal_gradient_map(bgr):
    b, g, r = (bgr[..., c].astype(np.float32) / 255 for c in range(3))
    gray = np.float32(0.114) * b + np.float32(0.587) * g + np.float32(0.299) * r
    h, w = gray.shape
    at = lambda y, x: gray[y, x] if 0 <= y < h and 0 <= x < w else 0.0  # noqa: E731
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            gx, gy = at(y, x + 1) - at(y, x - 1), at(y + 1, x) - at(y - 1, x)
            out[y, x] = np.sqrt(gx * gx + gy * gy + 1e-6)
    return out


def test_relative_change_equals_a_literal_computation():
    features, net, baseline, target, space = tiny_setup()
    rng = np.random.default_rng(0)
    images = {f'im{i}': smooth_image(rng, 10, 12).astype(np.float32) / 255 for i in range(3)}
    responses = features.responses(images)
    measured = features.measure_relative(images)
    project = features.measure(images)
    assert all(torch.equal(v, target[k]) for k, v in net.state_dict().items())  # the target's weights put back
    for name, img in images.items():
        reference = literal_gradient_map(literal_output(net, target, img))
        changes = []
        for deg in ('blur', 'noise'):
            masked = {k: v.clone() for k, v in target.items()}
            for index in features.selected[deg]:  # the mask by hand: the baseline's kernel at each chosen filter
                layer, out, inp = space.locate(index)
                masked[layer][out, inp] = baseline[layer][out, inp]
            changes.append(np.mean((literal_gradient_map(literal_output(net, masked, img)) - reference) ** 2) * 1000)
        energy = np.mean(reference ** 2) * 1000
        assert responses[name]['energy'] == pytest.approx(energy, rel=1e-5)
        assert (responses[name]['a'], responses[name]['b']) == pytest.approx(changes, rel=1e-4)
        assert (responses[name]['a'], responses[name]['b']) == project[name]  # the project's numbers, exactly
        assert measured[name] == pytest.approx((changes[0] / energy, changes[1] / energy), rel=1e-4)
        assert changes[0] > 0 and changes[1] > 0  # the masks changed the output, so the check above means something


def test_fit_is_deterministic_and_independent_of_image_order():
    features = toy_features()
    images, labels = toy_images(0, 6)
    values = features.measure_relative(images)
    names = list(images)
    first = dp.fit_predictor('relative', [values[n] for n in names], [labels[n] for n in names])
    again = dp.fit_predictor('relative', [values[n] for n in names], [labels[n] for n in names])
    shuffled = [names[i] for i in np.random.default_rng(1).permutation(len(names))]
    reordered = dp.fit_predictor('relative', [values[n] for n in shuffled], [labels[n] for n in shuffled])
    assert first.to_json() == again.to_json()
    assert (first.first, first.threshold_first, first.thresholds_second) == \
        (reordered.first, reordered.threshold_first, reordered.thresholds_second)
    assert first.features == ('deblurring_relative_change', 'denoising_relative_change')
    # the toy's filters act only on their own degradation: the relative change reads every image right
    test_images, test_labels = toy_images(1, 6)
    test_values = features.measure_relative(test_images)
    assert first.predict([test_values[n] for n in test_images]) == [test_labels[n] for n in test_images]


@pytest.mark.parametrize('case', ['none', 'sizes', 'uint8', 'range'])
def test_images_it_cannot_compare_are_one_line_errors(case):
    features = toy_features()
    img = np.full((8, 8, 3), 0.5, dtype=np.float32)
    images = {'none': {}, 'sizes': {'a.png': img, 'b.png': img[:6]}, 'uint8': {'a.png': (img * 255).astype(np.uint8)},
              'range': {'a.png': img * 3}}[case]
    with pytest.raises(InputError) as info:
        features.responses(images)
    message = str(info.value)
    assert '\n' not in message
    assert message.startswith({'none': 'images: none', 'sizes': 'b.png: size 8x6 differs from a.png (8x8)',
                               'uint8': 'a.png: expected a float image', 'range': 'a.png: pixel values'}[case])


def fake_study():
    """A study record of two levels with the three predictors, as the study script writes it."""
    rng = np.random.default_rng(0)
    levels = [{'name': 'clean', 'label': 'clean', 'trained': True}, {'name': 'blur2', 'label': 'blur', 'trained': True},
              {'name': 'noise25.5', 'label': 'noise', 'trained': True},
              {'name': 'blur2_noise25.5', 'label': 'blur_noise', 'trained': True}]
    centres = {'clean': (0.01, 0.01), 'blur': (1, 0.01), 'noise': (0.01, 1), 'blur_noise': (1, 1)}
    records = []
    for split in SPLITS:
        for level in levels:
            for k in range(3):
                values = [c * np.exp(rng.normal(0, 0.3)) for c in centres[level['label']]]
                records.append({'split': split, 'level': level['name'], 'true': level['label'], 'trained': True,
                                'filters': values, 'relative': values, 'classical': values, 'image': f'{k}'})
    labels = list(dp.class_labels())
    cal = [r for r in records if r['split'] == 'calibration']
    fitted = {key: dp.fit_calibration([r[key] for r in cal], [r['true'] for r in cal]) for key in dp.PREDICTORS}
    for r in records:
        r['predicted'] = {c: {k: fitted[k].predict([r[k]])[0] for k in dp.PREDICTORS} for c in prediction_study.CALIBRATIONS}
    summary = {c: {k: dp.summarize([r for r in records if r['split'] == 'test'], labels,
                                   lambda r, c=c, k=k: r['predicted'][c][k]) for k in dp.PREDICTORS}
               for c in prediction_study.CALIBRATIONS}
    return {'net': 'tiny', 'degradations': ['blur', 'noise'], 'labels': labels, 'proportion': 1, 'filters': 3,
            'ranking_folder': 'r', 'set_root': 's', 'crop': 8, 'split': {'calibration': ['x'], 'test': ['y']},
            'images': {'calibration': 12, 'test': 12}, 'device': 'cpu', 'wall_seconds': 1.0, 'levels': levels,
            'calibrations': {c: {k: f.to_json() for k, f in fitted.items()} for c in prediction_study.CALIBRATIONS},
            'summary': summary, 'records': records}


def test_level_scatter_and_a_record_without_the_relative_predictor():
    study = fake_study()
    fig = prediction_level_scatter_figure(study)
    panels = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title().split(' ')[0] for ax in panels] == ['clean', 'blur2', 'noise25.5', 'blur2_noise25.5']
    assert all(len(ax.collections) == 2 for ax in panels)  # right and wrong predictions, per level
    assert 'relative change' in study_markdown(study)
    # a record written before the relative predictor existed still renders, without it
    for block in (study['calibrations'], study['summary']):
        for cal in block.values():
            del cal['relative']
    assert prediction_study.study_predictors(study) == ['filters', 'classical']
    text = study_markdown(study)
    assert 'relative change' not in text and 'classical' in text
    assert figure_png(prediction_confusion_figure(study))[:4] == b'\x89PNG' and \
        figure_png(prediction_study_scatter_figure(study))[:4] == b'\x89PNG'
    assert 'relative' not in prediction_study.headline(study)
