import pytest
import torch

from basicsr.utils.registry import ARCH_REGISTRY

from faig.networks import build_network, preset

# The original project's SRCNN-style layout, written out: (index in `features`, in, out) per conv.
ORIGINAL_CONVS = {
    2: [(0, 3, 64), (2, 64, 128), (4, 128, 128), (6, 128, 128), (8, 128, 128), (10, 128, 128), (12, 128, 512),
        (15, 128, 128), (17, 128, 3)],
    3: [(0, 3, 64), (2, 64, 128), (4, 128, 128), (6, 128, 128), (8, 128, 128), (10, 128, 128), (12, 128, 1152),
        (15, 128, 128), (17, 128, 3)],
    4: [(0, 3, 64), (2, 64, 128), (4, 128, 128), (6, 128, 128), (8, 128, 128), (10, 128, 128), (12, 128, 512),
        (15, 128, 512), (18, 128, 128), (20, 128, 3)],
}


def original_state_dict(scale):
    state = {}
    for idx, cin, cout in ORIGINAL_CONVS[scale]:
        state[f'features.{idx}.weight'] = torch.randn(cout, cin, 3, 3)
        state[f'features.{idx}.bias'] = torch.randn(cout)
    return state


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_srcnn_style_shapes_and_original_checkpoint(scale):
    net = ARCH_REGISTRY.get('srcnn_style_net')(scale=scale)
    out = net(torch.rand(1, 3, 7, 9))
    assert out.shape == (1, 3, 7 * scale, 9 * scale)
    state = original_state_dict(scale)
    net.load_state_dict(state, strict=True)  # raises on any key or shape mismatch
    assert list(net.state_dict()) == list(state)


def test_srcnn_style_filter_count_matches_paper():
    net = build_network(preset('srcnn_style', 2))
    filters = sum(w.shape[0] * w.shape[1] for w in net.state_dict().values() if w.ndim == 4)
    assert filters == 156224


def test_srcnn_style_init_is_kaiming_fan_out_and_zero_bias():
    net = build_network(preset('srcnn_style', 2))
    conv = net.features[4]
    expected_std = (2.0 / (conv.out_channels * 9))**0.5
    assert abs(conv.weight.std().item() - expected_std) / expected_std < 0.05
    assert torch.count_nonzero(conv.bias) == 0


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_msrresnet_preset_shapes(scale):
    net = build_network({**preset('srresnet', scale), 'num_feat': 8, 'num_block': 1})
    assert net(torch.rand(1, 3, 6, 5)).shape == (1, 3, 6 * scale, 5 * scale)


def test_unsupported_scale_is_refused():
    with pytest.raises(ValueError, match='scale'):
        ARCH_REGISTRY.get('srcnn_style_net')(scale=5)
