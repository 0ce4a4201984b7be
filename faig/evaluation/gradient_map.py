"""Gradient maps of restored images and the output difference measure of the paper.

Gradient map: per pixel sqrt(gx^2 + gy^2 + 1e-6), central differences [-1, 0, 1] along x
and y with zero padding, on the gray image Y = 0.299 R + 0.587 G + 0.114 B (OpenCV's
BGR2GRAY weights) in [0, 1].

The original meant the same gray map but computed it on the blue channel: it read the
PNG with ``cv2.imread(path, cv2.COLOR_BGR2GRAY)`` -- a colour-conversion code (6) used as
an imread flag, so the image stays BGR -- then repeated channels (B,B,B,G,G,G,R,R,R) and
took the first three. ``channel='blue'`` reproduces that.

Outputs of a 1-channel (Y) network are gray already (HW, or HW1): their map is taken on that
channel as it is, for either ``channel``.
"""
import numpy as np

GRAY_WEIGHTS_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)
EPS = 1e-6
NOTHING_MEASURABLE = ('nothing measurable: every output equals its reference at the outputs\' 8-bit resolution (no '
                      'pixel differs by 1/255 or more), so every output difference is 0 and says nothing about the '
                      'filters')


def to_gray(img_bgr_uint8, channel='gray'):
    """[0, 1] float32 single-channel image from a BGR uint8 image (a gray HW/HW1 image: itself).

    The image is made C-contiguous first: the float32 product below would otherwise round by an ulp
    differently for a view with other strides (e.g. ``img[:, :, ::-1]``) than for a copy."""
    img = np.ascontiguousarray(img_bgr_uint8, dtype=np.float32) / 255.
    if channel not in ('gray', 'blue'):
        raise ValueError(f'channel must be "gray" or "blue", got {channel!r}')
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
        return img.reshape(img.shape[:2])
    if channel == 'gray':
        return img @ GRAY_WEIGHTS_BGR
    return img[..., 0]


def gradient_map(gray):
    """sqrt(gx^2 + gy^2 + 1e-6) with gx(i,j) = x(i,j+1) - x(i,j-1), gy likewise, zeros outside."""
    padded = np.pad(np.asarray(gray, dtype=np.float32), 1)
    gx = padded[1:-1, 2:] - padded[1:-1, :-2]
    gy = padded[2:, 1:-1] - padded[:-2, 1:-1]
    return np.sqrt(gx * gx + gy * gy + EPS)


def image_gradient_map(img_bgr_uint8, channel='gray'):
    return gradient_map(to_gray(img_bgr_uint8, channel))


def per_image_difference(maps, reference_maps):
    """{image: mean((G - G_ref)^2) x 1000}; images matched by name."""
    missing = sorted(set(reference_maps) ^ set(maps))
    if missing:
        raise ValueError(f'gradient maps do not cover the same images: {", ".join(missing)}')
    return {name: float(np.mean((maps[name].astype(np.float64) - reference_maps[name])**2) * 1000)
            for name in sorted(reference_maps)}


def output_difference(maps, reference_maps):
    """The paper's output difference: mean over images of mean((G - G_ref)^2) x 1000."""
    return float(np.mean(list(per_image_difference(maps, reference_maps).values())))


def below_resolution(differences):
    """True when every output difference is 0: the (8-bit) outputs compared are identical, so whatever changed
    in the network changed them by less than 1/255 -- a table of zeros, not a finding."""
    values = [float(v) for v in differences]
    return bool(values) and all(v == 0 for v in values)
