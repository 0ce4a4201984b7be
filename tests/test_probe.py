"""faig.probe finds the input multiple and scale of a network by running it, for archs it has no table of."""
import numpy as np
import pytest
import torch
from torch import nn

from basicsr.archs.edsr_arch import EDSR
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.archs.swinir_arch import SwinIR

from faig.errors import InputError
from faig.probe import InputGeometry, input_geometry


class NeedsMultiple(nn.Module):
    """Refuses LR sides that are not multiples of ``multiple`` (like a windowed transformer), upsamples x``scale``."""

    def __init__(self, multiple, scale):
        super().__init__()
        self.multiple, self.scale = multiple, scale
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        assert x.shape[-1] % self.multiple == 0 and x.shape[-2] % self.multiple == 0, 'size'
        return nn.functional.interpolate(self.conv(x), scale_factor=self.scale)


@pytest.mark.parametrize('multiple,scale', [(1, 2), (2, 3), (6, 2), (7, 4), (12, 1)])
def test_the_smallest_multiple_and_the_scale_are_found(multiple, scale):
    assert input_geometry(NeedsMultiple(multiple, scale)) == InputGeometry(multiple, scale)


def test_basicsr_archs():
    assert input_geometry(EDSR(3, 3, num_feat=8, num_block=1, upscale=2)) == InputGeometry(1, 2)
    assert input_geometry(RRDBNet(3, 3, scale=2, num_feat=8, num_block=1, num_grow_ch=4)) == InputGeometry(2, 2)
    swin = SwinIR(upscale=2, img_size=16, window_size=4, depths=[1], embed_dim=12, num_heads=[2], mlp_ratio=2,
                  upsampler='pixelshuffledirect')
    assert input_geometry(swin) == InputGeometry(4, 2)


def test_the_network_is_left_as_it_was():
    net = NeedsMultiple(2, 2).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    input_geometry(net)
    assert net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_wrong_scale_or_an_impossible_network_is_one_line():
    with pytest.raises(InputError, match=r'x2, not x4'):
        input_geometry(NeedsMultiple(1, 2), scale=4)
    with pytest.raises(InputError, match='no LR size'):
        input_geometry(NeedsMultiple(97, 2))


def test_crop_hr_is_centred_and_divisible():
    img = np.arange(50 * 37).reshape(50, 37)
    out = InputGeometry(4, 2).crop_hr(img)
    assert out.shape == (48, 32)
    np.testing.assert_array_equal(out, img[1:49, 2:34])
    with pytest.raises(ValueError):
        InputGeometry(8, 4).crop_hr(img[:20])
