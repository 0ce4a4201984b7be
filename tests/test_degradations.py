import numpy as np
import pytest

from faig.data.degradations import add_gaussian_noise, blur, degrade, downsample, gaussian_kernel, quantize


@pytest.mark.parametrize('size,sigma', [(21, 2), (11, 1.2), (5, 0.5)])
def test_kernel_sums_to_one_and_is_symmetric(size, sigma):
    k = gaussian_kernel(size, sigma)
    assert k.shape == (size, size)
    assert abs(k.sum() - 1) < 1e-6
    np.testing.assert_allclose(k, k.T, atol=1e-12)
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-12)
    assert k.argmax() == (size * size) // 2


def test_even_kernel_size_refused():
    with pytest.raises(ValueError):
        gaussian_kernel(20, 2)


@pytest.mark.parametrize('sigma', [0.05, 0.1])
def test_noise_std_within_ten_percent(sigma):
    img = np.full((256, 256, 3), 0.5, np.float32)
    noisy = quantize(add_gaussian_noise(img, sigma, np.random.default_rng(0)))
    std = (noisy - img).std()
    assert abs(std - sigma) / sigma < 0.10
    assert abs((noisy - img).mean()) < 0.01


@pytest.mark.parametrize('scale', [2, 3, 4])
@pytest.mark.parametrize('interpolation', ['bilinear', 'bicubic', 'area'])
def test_lr_size_is_hr_over_scale(scale, interpolation):
    img = np.random.default_rng(0).random((48, 60, 3)).astype(np.float32)
    lr = degrade(img, scale, kernel=gaussian_kernel(21, 2), noise_sigma=0.1, interpolation=interpolation)
    assert lr.shape == (48 // scale, 60 // scale, 3)
    assert lr.min() >= 0 and lr.max() <= 1
    np.testing.assert_allclose(lr * 255, np.round(lr * 255), atol=1e-4)  # on the 8-bit grid


def test_blur_keeps_flat_image_and_smooths_edges():
    flat = np.full((40, 40, 3), 0.3, np.float32)
    np.testing.assert_allclose(blur(flat, gaussian_kernel(21, 2)), flat, atol=1e-6)
    edge = np.zeros((40, 40, 3), np.float32)
    edge[:, 20:] = 1
    blurred = blur(edge, gaussian_kernel(21, 2))
    assert 0.05 < blurred[20, 19, 0] < 0.5 < blurred[20, 20, 0] < 0.95


def test_default_interpolation_is_bilinear():
    import cv2
    img = np.random.default_rng(1).random((32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(downsample(img, 2), cv2.resize(img, (16, 16), interpolation=cv2.INTER_LINEAR),
                               rtol=0, atol=3e-7)  # OpenCV's bilinear, to float32 rounding
    with pytest.raises(ValueError, match='interpolation'):
        downsample(img, 2, 'lanczos9')
