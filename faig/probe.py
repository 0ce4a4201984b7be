"""What input size a network accepts and what scale it upsamples by, found by running it on small inputs.

A SwinIR needs LR sizes divisible by its window, an RRDBNet at x2 or x1 pixel-unshuffles its input, an
EDSR takes any size: rather than a table of archs (which a user's own network would not be in), the
network is asked. Two consecutive multiples ``m*k`` and ``m*(k+1)`` only share the divisors of ``m``, so
the smallest ``m`` for which both work is the size multiple the network needs."""
from dataclasses import dataclass

import torch

from faig.errors import InputError, one_line

MIN_SIDE = 16  # probe inputs at least this large (a network may need a few pixels of context)
MAX_MULTIPLE = 64


@dataclass(frozen=True)
class InputGeometry:
    multiple: int  # LR sides must be multiples of this
    scale: int  # output side / input side

    def describe(self):
        crop = self.multiple * self.scale
        return (f'LR sides multiples of {self.multiple}, x{self.scale}: photos are cropped (centred) to multiples of '
                f'{crop} pixels')

    def crop_hr(self, img):
        """Centre crop of an HR image (H, W, ...) to sides that are multiples of ``multiple * scale``."""
        step = self.multiple * self.scale
        h, w = img.shape[:2]
        nh, nw = h - h % step, w - w % step
        if nh == 0 or nw == 0:
            raise ValueError(f'{w}x{h} is smaller than one {step}-pixel block')
        y, x = (h - nh) // 2, (w - nw) // 2
        return img[y:y + nh, x:x + nw]


def _output_size(net, height, width, channels, device):
    """Output (height, width) of ``net`` on a zero input, or the error it raised."""
    x = torch.zeros(1, channels, height, width, device=device)
    try:
        with torch.no_grad():
            out = net(x)
    except (RuntimeError, AssertionError, ValueError, IndexError, TypeError) as exc:
        return exc
    if not isinstance(out, torch.Tensor) or out.dim() != 4:
        return TypeError(f'the network returned {type(out).__name__}, not an image batch')
    return tuple(out.shape[-2:])


def input_geometry(net, channels=3, scale=None, device='cpu', what='--network_g'):
    """The :class:`InputGeometry` of ``net`` (``scale``: the expected one, checked when given).

    The network is run in eval mode without gradients; its weights and mode are left as they were."""
    was_training = net.training
    net.eval()
    last = None
    try:
        for multiple in range(1, MAX_MULTIPLE + 1):
            k = -(-MIN_SIDE // multiple)
            sizes = [(multiple * k, multiple * (k + 1)), (multiple * (k + 1), multiple * k)]
            outputs = [_output_size(net, h, w, channels, device) for h, w in sizes]
            errors = [o for o in outputs if isinstance(o, Exception)]
            if errors:
                last = errors[0]
                continue
            ratios = {o / i for (h, w), out in zip(sizes, outputs) for i, o in ((h, out[0]), (w, out[1]))}
            if len(ratios) != 1 or not float(next(iter(ratios))).is_integer():
                raise InputError(f'{what}: the output is not a whole multiple of the input '
                                 f'(input {sizes[0][1]}x{sizes[0][0]} -> output {outputs[0][1]}x{outputs[0][0]})')
            found = int(next(iter(ratios)))
            if scale is not None and found != scale:
                raise InputError(f'{what}: the network upsamples x{found}, not x{scale} (--scale)')
            return InputGeometry(multiple, found)
    finally:
        net.train(was_training)
    raise InputError(f'{what}: the network accepts no LR size that is a multiple of 1..{MAX_MULTIPLE} '
                     f'({one_line(last)})')
