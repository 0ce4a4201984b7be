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
"""
import functools

import cv2
import numpy as np

from faig import compat

compat.apply()  # before the first basicsr import

from basicsr.data.degradations import bivariate_Gaussian  # noqa: E402

INTERPOLATIONS = {
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'nearest': cv2.INTER_NEAREST,
}


def gaussian_kernel(kernel_size, sigma):
    """Isotropic Gaussian kernel, normalised to sum 1."""
    if kernel_size % 2 != 1:
        raise ValueError(f'kernel_size must be odd, got {kernel_size}')
    return bivariate_Gaussian(kernel_size, sigma, sigma, theta=0, isotropic=True)


def blur(img, kernel):
    """Convolve an HWC image with ``kernel`` (OpenCV's default reflect-101 border)."""
    return cv2.filter2D(img, -1, kernel)


def downsample(img, scale, interpolation='bilinear'):
    """Resize to ``(w // scale, h // scale)`` with the named interpolation."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f'unknown interpolation {interpolation!r}; choose from {sorted(INTERPOLATIONS)}')
    h, w = img.shape[:2]
    return cv2.resize(img, (w // scale, h // scale), interpolation=INTERPOLATIONS[interpolation])


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
