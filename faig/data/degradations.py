"""The degradations of the FAIG study: isotropic Gaussian blur, downsampling, Gaussian noise.

Shared by the training dataset and ``scripts/generate_lr.py`` so that the networks
are trained on exactly the degradation they are later diagnosed with.

Downsampling interpolation: the original training dataset called
``cv2.resize(img, size, cv2.INTER_CUBIC)`` -- the flag lands in the ``dst``
argument, so OpenCV used its default, bilinear. The original test-set generator
used bilinear explicitly. Bilinear is therefore the default here, and the choice
is an explicit option.
"""
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
