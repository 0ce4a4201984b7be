"""The degradations of the FAIG study: isotropic Gaussian blur, downsampling, Gaussian noise, JPEG.

Shared by the training dataset and ``scripts/generate_lr.py`` so that the networks
are trained on exactly the degradation they are later diagnosed with. The ``apply_*`` functions
are the appliers that the degradation specs (faig/specs.py) name; :func:`degrade_with` runs a
list of specs through the HR -> LR pipeline, each at its stage.

Downsampling interpolation: the original training dataset called
``cv2.resize(img, size, cv2.INTER_CUBIC)`` -- the flag lands in the ``dst``
argument, so OpenCV used its default, bilinear. The original test-set generator
used bilinear explicitly. Bilinear is therefore the default here, and the choice
is an explicit option.

The resampling is OpenCV's (same pixel centres, taps, cubic coefficient and borders) but computed
here in float64 with a fixed order of operations: ``cv2.resize`` dispatches to Intel IPP code that
rounds differently with the CPU's vector width (AVX2 vs AVX-512), so the same photo gave
different 8-bit LR sets on different machines. Elementwise IEEE arithmetic does not depend on it.
"""
import functools

import cv2
import numpy as np

from faig import compat

compat.apply()  # before the first basicsr import

from basicsr.data.degradations import bivariate_Gaussian  # noqa: E402

CUBIC_A = -0.75  # OpenCV's INTER_CUBIC coefficient


def _linear_taps(src, dst):
    """(indices, weights), each (dst, 2): OpenCV's INTER_LINEAR -- centres aligned, edges clamped."""
    inv = src / dst
    x = (np.arange(dst) + 0.5) * inv - 0.5
    left = np.floor(x)
    frac = x - left
    frac[left < 0] = 0
    left[left < 0] = 0
    last = left >= src - 1
    frac[last] = 0
    left[last] = src - 1
    left = left.astype(np.int64)
    return np.stack([left, np.minimum(left + 1, src - 1)], 1), np.stack([1 - frac, frac], 1)


def _cubic_weight(t):
    t = np.abs(t)
    near = ((CUBIC_A + 2) * t - (CUBIC_A + 3)) * t * t + 1
    far = ((CUBIC_A * t - 5 * CUBIC_A) * t + 8 * CUBIC_A) * t - 4 * CUBIC_A
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def _cubic_taps(src, dst):
    """OpenCV's INTER_CUBIC (Keys, a = -0.75): four taps, indices clamped (replicated border)."""
    x = (np.arange(dst) + 0.5) * (src / dst) - 0.5
    left = np.floor(x)
    frac = x - left
    offsets = np.arange(-1, 3)
    indices = np.clip(left[:, None].astype(np.int64) + offsets, 0, src - 1)
    return indices, _cubic_weight(frac[:, None] - offsets)


def _area_taps(src, dst):
    """OpenCV's INTER_AREA when shrinking: each output pixel averages the source interval it covers."""
    inv = src / dst
    width = int(np.ceil(inv)) + 1
    start = np.arange(dst) * inv
    first = np.floor(start).astype(np.int64)
    indices = first[:, None] + np.arange(width)
    lo = np.maximum(indices, start[:, None])
    hi = np.minimum(indices + 1, (start + inv)[:, None])
    weights = np.clip(hi - lo, 0, None) / inv
    return np.minimum(indices, src - 1), weights


def _nearest_taps(src, dst):
    """OpenCV's INTER_NEAREST: the source pixel at floor(x * src / dst)."""
    indices = np.minimum(np.floor(np.arange(dst) * (src / dst)).astype(np.int64), src - 1)
    return indices[:, None], np.ones((dst, 1))


INTERPOLATIONS = {
    'bilinear': _linear_taps,
    'bicubic': _cubic_taps,
    'area': _area_taps,
    'nearest': _nearest_taps,
}


def _resample_axis(img, taps, axis):
    """Weighted sum of the taps along ``axis``, accumulated tap by tap in float64 (a fixed order)."""
    indices, weights = taps
    shape = [1] * img.ndim
    shape[axis] = -1
    out = np.zeros(img.shape[:axis] + (indices.shape[0],) + img.shape[axis + 1:])
    for k in range(indices.shape[1]):
        out += np.take(img, indices[:, k], axis=axis) * weights[:, k].reshape(shape)
    return out


def gaussian_kernel(kernel_size, sigma):
    """Isotropic Gaussian kernel, normalised to sum 1."""
    if kernel_size % 2 != 1:
        raise ValueError(f'kernel_size must be odd, got {kernel_size}')
    return bivariate_Gaussian(kernel_size, sigma, sigma, theta=0, isotropic=True)


def blur(img, kernel):
    """Convolve an HWC image with ``kernel`` (OpenCV's default reflect-101 border)."""
    return cv2.filter2D(img, -1, kernel)


def downsample(img, scale, interpolation='bilinear'):
    """Resize to ``(w // scale, h // scale)`` with the named interpolation (OpenCV's definitions),
    the same bits on every CPU. Float images come back as float32, uint8 ones rounded to uint8."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f'unknown interpolation {interpolation!r}; choose from {sorted(INTERPOLATIONS)}')
    taps = INTERPOLATIONS[interpolation]
    h, w = img.shape[:2]
    out = _resample_axis(np.asarray(img, np.float64), taps(w, w // scale), 1)  # rows first, as OpenCV
    out = _resample_axis(out, taps(h, h // scale), 0)
    if img.dtype == np.uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32)


def add_gaussian_noise(img, sigma, rng=np.random):
    """Add N(0, sigma^2) noise (sigma on the [0, 1] scale). ``rng``: a numpy Generator or ``np.random``."""
    noise = np.float32(rng.standard_normal(img.shape)) * sigma
    return img + noise


def quantize(img):
    """Round and clip to the 8-bit grid, as saving to PNG would (values stay in [0, 1])."""
    return np.clip((img * 255.0).round(), 0, 255) / 255.


def degrade(img, scale, kernel=None, noise_sigma=None, interpolation='bilinear', rng=np.random):
    """blur (optional) -> downsample -> noise (optional) -> 8-bit quantisation."""
    if kernel is not None:
        img = blur(img, kernel)
    img = downsample(img, scale, interpolation)
    if noise_sigma is not None:
        img = add_gaussian_noise(img, noise_sigma, rng)
    return quantize(img)


# ---- the appliers of the registered degradation specs: f(img, rng, **params) ---------------------

@functools.lru_cache(maxsize=64)
def _cached_kernel(kernel_size, sigma):
    kernel = gaussian_kernel(kernel_size, sigma)
    kernel.setflags(write=False)  # shared between calls
    return kernel


def apply_blur(img, rng, kernel_size=21, sigma=2.0):
    """Spec 'blur' (HR stage): isotropic Gaussian blur; ``rng`` unused (no randomness)."""
    return blur(img, _cached_kernel(int(kernel_size), sigma))


def apply_noise(img, rng, sigma=0.1):
    """Spec 'noise' (LR stage): additive Gaussian noise, sigma on the [0, 1] scale."""
    return add_gaussian_noise(img, sigma, rng)


def apply_jpeg(img, rng, quality=30):
    """Spec 'jpeg' (LR stage): OpenCV JPEG encode/decode at ``quality`` of the 8-bit image; ``rng`` unused.

    JPEG works on 8-bit pixels, so the image is quantised first (as saving it would); the result is
    on the 8-bit grid, so the pipeline's final quantisation leaves it as it is."""
    pixels = np.clip((np.asarray(img) * 255.0).round(), 0, 255).astype(np.uint8)  # as quantize / saving
    ok, data = cv2.imencode('.jpg', pixels, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f'JPEG encoding failed (quality {quality})')
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if decoded.ndim == 2 and pixels.ndim == 3:
        decoded = decoded[..., None]
    return decoded.astype(img.dtype if np.issubdtype(img.dtype, np.floating) else np.float32) / 255.


def degrade_with(img, scale, steps, interpolation='bilinear', rng=np.random):
    """HR ``img`` -> 8-bit LR through ``steps`` = [(DegradationSpec, params)]: the 'hr'-stage ones (in
    their order) -> downsample -> the 'lr'-stage ones (in their order) -> 8-bit quantisation.

    With [(blur, ...)] and/or [(noise, ...)] this is :func:`degrade` step for step (same draws from ``rng``)."""
    for spec, params in steps:
        if spec.stage == 'hr':
            img = spec.apply(img, rng, **params)
    img = downsample(img, scale, interpolation)
    for spec, params in steps:
        if spec.stage == 'lr':
            img = spec.apply(img, rng, **params)
    return quantize(img)
