"""The plain SRCNN-style network of the FAIG paper (no skip connections).

Layers live in one ``nn.Sequential`` called ``features`` so that the state-dict
keys (``features.<i>.weight`` / ``features.<i>.bias``) match the original
project's checkpoints exactly.
"""
from torch import nn

from faig import compat

compat.apply()  # before the first basicsr import

from basicsr.utils.registry import ARCH_REGISTRY  # noqa: E402

# Channel widths of the convolutions before the upsampler ("configuration A").
BODY_CHANNELS = (64, 128, 128, 128, 128, 128)
NEGATIVE_SLOPE = 0.1


def _upsample_stages(scale):
    """Pixel-shuffle factors used to reach ``scale`` (x2/x4: powers of two, x3: one stage)."""
    if scale in (1, 2, 4, 8):
        return [2] * (scale.bit_length() - 1)
    if scale == 3:
        return [3]
    raise ValueError(f'srcnn_style_net supports scale 2, 3, 4 or 8, got {scale}')


def _conv_act(in_ch, out_ch):
    return [nn.Conv2d(in_ch, out_ch, 3, 1, 1), nn.LeakyReLU(NEGATIVE_SLOPE, inplace=True)]


class SRCNNStyle(nn.Module):
    """conv3x3+LeakyReLU stack, pixel-shuffle upsampling, two output convs."""

    def __init__(self, scale=2, num_in_ch=3, num_out_ch=3, channels=BODY_CHANNELS):
        super().__init__()
        layers = []
        in_ch = num_in_ch
        for out_ch in channels:
            layers += _conv_act(in_ch, out_ch)
            in_ch = out_ch
        for factor in _upsample_stages(scale):
            layers += [
                nn.Conv2d(in_ch, factor * factor * in_ch, 3, 1, 1),
                nn.PixelShuffle(factor),
                nn.LeakyReLU(NEGATIVE_SLOPE, inplace=True)
            ]
        layers += _conv_act(in_ch, in_ch)
        layers.append(nn.Conv2d(in_ch, num_out_ch, 3, 1, 1))
        self.features = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self):
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')
                nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.features(x)


@ARCH_REGISTRY.register()
def srcnn_style_net(scale=2, **kwargs):
    """Config entry point (``type: srcnn_style_net``), as in the original YAMLs."""
    return SRCNNStyle(scale=scale, **kwargs)
