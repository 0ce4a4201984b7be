"""Masking, modulation, gradient maps and the output difference against literal references."""
import cv2
import numpy as np
import pytest
import torch

from faig.attribution.filters import FilterSpace
from faig.evaluation.gradient_map import gradient_map, image_gradient_map, output_difference, to_gray
from faig.evaluation.masking import modulate_filters, num_selected, substitute_filters, top_filters

from test_attribution import TINY_NETS, make_pair


@pytest.fixture
def pair():
    return make_pair(TINY_NETS['srresnet'], dtype=torch.float32)


def test_masking_restores_exactly_the_chosen_slices(pair):
    baseline, target = pair
    space = FilterSpace(target)
    rng = np.random.default_rng(0)
    chosen = rng.choice(space.num_filters, size=space.num_filters // 7, replace=False)
    masked = substitute_filters(baseline, target, chosen, space)
    chosen_set = set(chosen.tolist())
    for name, value in masked.items():
        if value.ndim != 4:
            assert torch.equal(value, target[name])  # biases untouched
            continue
        for o in range(value.shape[0]):
            for i in range(value.shape[1]):
                expected = baseline if space.index(name, o, i) in chosen_set else target
                assert torch.equal(value[o, i], expected[name][o, i])
    # the inputs are not modified
    assert not any(torch.equal(target[k], baseline[k]) for k in target)


def test_masking_zero_and_all(pair):
    baseline, target = pair
    space = FilterSpace(target)
    ranking = np.random.default_rng(1).permutation(space.num_filters)
    none = substitute_filters(baseline, target, top_filters(ranking, 0), space)
    assert all(torch.equal(none[k], target[k]) for k in target)
    everything = substitute_filters(baseline, target, top_filters(ranking, 100), space)
    for k in target:
        assert torch.equal(everything[k], baseline[k] if target[k].ndim == 4 else target[k])


def test_num_selected_matches_original_counts():
    assert num_selected(151936, 1) == 1519 and num_selected(151936, 10) == 15193
    assert num_selected(156224, 1) == 1562 and num_selected(156224, 3) == 4686


def test_modulation_endpoints_and_midpoint(pair):
    baseline, target = pair
    space = FilterSpace(target)
    chosen = np.arange(0, space.num_filters, 5)
    one = modulate_filters(baseline, target, chosen, 1.0, space)
    assert all(torch.equal(one[k], target[k]) for k in target)
    zero = modulate_filters(baseline, target, chosen, 0.0, space)
    masked = substitute_filters(baseline, target, chosen, space)
    assert all(torch.equal(zero[k], masked[k]) for k in target)
    half = modulate_filters(baseline, target, chosen, 0.5, space)
    name, o, i = space.locate(chosen[3])
    torch.testing.assert_close(half[name][o, i], 0.5 * (target[name][o, i] + baseline[name][o, i]))
    name, o, i = space.locate(1)  # not chosen
    assert torch.equal(half[name][o, i], target[name][o, i])


def literal_gradient_map(gray):
    h, w = gray.shape
    out = np.zeros((h, w), np.float64)
    for y in range(h):
        for x in range(w):
            def px(yy, xx):
                return float(gray[yy, xx]) if 0 <= yy < h and 0 <= xx < w else 0.0
            gx = px(y, x + 1) - px(y, x - 1)
            gy = px(y + 1, x) - px(y - 1, x)
            out[y, x] = np.sqrt(gx * gx + gy * gy + 1e-6)
    return out


def test_gradient_map_matches_literal_reference():
    img = np.random.default_rng(0).integers(0, 256, size=(9, 7, 3), dtype=np.uint8)
    gray = to_gray(img)
    np.testing.assert_allclose(gray, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255, atol=0.5 / 255)
    np.testing.assert_allclose(gradient_map(gray), literal_gradient_map(gray), rtol=1e-5)
    flat = np.full((5, 5), 0.5, np.float32)
    assert np.allclose(gradient_map(flat)[1:-1, 1:-1], 1e-3)
    # 'blue' reproduces the original's blue-channel map
    np.testing.assert_allclose(image_gradient_map(img, 'blue'), literal_gradient_map(img[..., 0] / 255.), rtol=1e-5)


def test_gradient_map_matches_original_torch_conv():
    """The original computed it with F.conv2d and kernels [[0,-1,0],[0,0,0],[0,1,0]] / its transpose."""
    gray = np.random.default_rng(2).random((11, 13)).astype(np.float32)
    x = torch.from_numpy(gray)[None, None]
    kv = torch.tensor([[0., -1, 0], [0, 0, 0], [0, 1, 0]])[None, None]
    kh = torch.tensor([[0., 0, 0], [-1, 0, 1], [0, 0, 0]])[None, None]
    gv = torch.nn.functional.conv2d(x, kv, padding=1)
    gh = torch.nn.functional.conv2d(x, kh, padding=1)
    ref = torch.sqrt(gv**2 + gh**2 + 1e-6)[0, 0].numpy()
    np.testing.assert_allclose(gradient_map(gray), ref, rtol=1e-6)


def test_output_difference_values():
    a = {'x': np.zeros((2, 2)), 'y': np.ones((2, 2))}
    assert output_difference(a, a) == 0
    b = {'x': np.array([[0, 0], [0, 2.0]]), 'y': np.ones((2, 2))}
    # image x: mean of (0,0,0,4) = 1 -> x1000 = 1000; image y: 0; mean over images = 500
    assert output_difference(b, a) == pytest.approx(500.0)
    with pytest.raises(ValueError):
        output_difference({'x': a['x']}, a)


def _literal_location(space, top):
    """Per-filter loop: depth of each selected filter's layer, and the TV distance to all filters."""
    layers = len(space.entries)
    depths, counts = [], [0] * layers
    for index in top:
        name, _, _ = space.locate(index)
        layer = space.names.index(name)
        depths.append(layer / (layers - 1))
        counts[layer] += 1
    distance = 0.5 * sum(abs(counts[k] / len(top) - space.entries[k].count / space.num_filters) for k in range(layers))
    return sum(depths) / len(depths), distance


def test_filter_location_matches_a_per_filter_loop(pair):
    from faig.evaluation.location import filter_location
    _, target = pair
    space = FilterSpace(target)
    ranking = np.random.default_rng(2).permutation(space.num_filters)
    for proportion in (1, 10, 50):
        stats = filter_location(space, ranking, proportion)
        depth, distance = _literal_location(space, ranking[:num_selected(space.num_filters, proportion)])
        assert stats['mean_depth'] == pytest.approx(depth)
        assert stats['distance_from_uniform'] == pytest.approx(distance)


def test_filter_location_extremes(pair):
    from faig.evaluation.location import filter_location
    _, target = pair
    space = FilterSpace(target)
    everything = filter_location(space, np.arange(space.num_filters), 100)
    assert everything['distance_from_uniform'] == pytest.approx(0, abs=1e-12)  # all filters = uniform spread
    assert everything['mean_depth'] == pytest.approx(everything['random_mean_depth'])
    last = space.entries[-1]
    only_last = filter_location(space, np.arange(last.offset, last.offset + last.count), 100)
    assert only_last['mean_depth'] == 1
    assert only_last['distance_from_uniform'] == pytest.approx(1 - last.count / space.num_filters)
