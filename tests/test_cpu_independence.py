"""Generated data and its cache keys are the same bits on every x86-64 CPU.

OpenCV's ``cv2.resize`` goes through Intel IPP, whose AVX2 and AVX-512 code round differently, so the
project resamples in numpy (faig/data/degradations.py). Here: that resampling against a slow, literal
reference and against OpenCV, and the LR sets, the labelled set and their digests made in a process
held to a narrower vector width (torch, OpenCV and IPP) against the ones made in this one."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from faig.data.degradations import CUBIC_A, downsample
from faig.stamps import data_digest

from conftest import REPO, write_images

CV2_FLAGS = {'bilinear': cv2.INTER_LINEAR, 'bicubic': cv2.INTER_CUBIC, 'area': cv2.INTER_AREA,
             'nearest': cv2.INTER_NEAREST}
# a process without AVX/AVX2/AVX-512 in OpenCV's dispatcher, IPP's SSE4.2 code and torch's default kernels
NARROW = {'OPENCV_CPU_DISABLE': 'AVX512-SKX,AVX512-CLX,AVX_VNNI,AVX2,FP16,AVX', 'OPENCV_IPP': 'sse42',
          'ATEN_CPU_CAPABILITY': 'default'}


def cubic(t):
    t = abs(t)
    if t <= 1:
        return ((CUBIC_A + 2) * t - (CUBIC_A + 3)) * t * t + 1
    if t < 2:
        return ((CUBIC_A * t - 5 * CUBIC_A) * t + 8 * CUBIC_A) * t - 4 * CUBIC_A
    return 0.0


def literal_taps(kind, src, dst, x):
    """[(source index, weight)] of output pixel ``x``: OpenCV's definitions, written out one pixel at a time."""
    inv = src / dst
    if kind == 'nearest':
        return [(min(math.floor(x * inv), src - 1), 1.0)]
    if kind == 'area':
        start, end = x * inv, (x + 1) * inv
        taps = []
        for i in range(math.floor(start), math.floor(start) + math.ceil(inv) + 1):
            overlap = max(min(i + 1, end) - max(i, start), 0)
            taps.append((min(i, src - 1), overlap / inv))
        return taps
    c = (x + 0.5) * inv - 0.5
    left = math.floor(c)
    frac = c - left
    if kind == 'bilinear':
        if left < 0:
            left, frac = 0, 0.0
        if left >= src - 1:
            left, frac = src - 1, 0.0
        return [(left, 1 - frac), (min(left + 1, src - 1), frac)]
    return [(min(max(left + k, 0), src - 1), cubic(frac - k)) for k in range(-1, 3)]


def literal_downsample(img, scale, kind):
    """Rows resampled first, then columns, each output a sum over its taps in order (float64)."""
    h, w, c = img.shape
    rows = np.zeros((h, w // scale, c))
    for y in range(h):
        for x in range(w // scale):
            for ch in range(c):
                acc = 0.0
                for i, weight in literal_taps(kind, w, w // scale, x):
                    acc += float(img[y, i, ch]) * weight
                rows[y, x, ch] = acc
    out = np.zeros((h // scale, w // scale, c))
    for y in range(h // scale):
        for x in range(w // scale):
            for ch in range(c):
                acc = 0.0
                for i, weight in literal_taps(kind, h, h // scale, y):
                    acc += rows[i, x, ch] * weight
                out[y, x, ch] = acc
    return out.astype(np.float32)


@pytest.mark.parametrize('kind', sorted(CV2_FLAGS))
@pytest.mark.parametrize('scale,shape', [(2, (12, 16)), (3, (12, 18)), (4, (16, 12)), (2, (13, 17)), (3, (11, 14))])
def test_downsample_is_the_literal_reference_and_opencv(kind, scale, shape):
    img = np.random.default_rng(scale).random((*shape, 3)).astype(np.float32)
    out = downsample(img, scale, kind)
    np.testing.assert_array_equal(out, literal_downsample(img, scale, kind))
    size = (shape[1] // scale, shape[0] // scale)
    np.testing.assert_allclose(out, cv2.resize(img, size, interpolation=CV2_FLAGS[kind]), rtol=0, atol=3e-7)


def test_downsample_of_uint8_rounds_like_opencv():
    img = np.random.default_rng(0).integers(0, 256, (24, 30, 3)).astype(np.uint8)
    out = downsample(img, 2)
    assert out.dtype == np.uint8
    assert np.abs(out.astype(int) - cv2.resize(img, (15, 12), interpolation=cv2.INTER_LINEAR)).max() <= 1


def test_unknown_interpolation_is_refused():
    with pytest.raises(ValueError, match='interpolation'):
        downsample(np.zeros((4, 4, 3), np.float32), 2, 'lanczos9')


MAKE_DATA = r'''
import json, sys, cv2, torch
from faig.data.lr_sets import default_folders, generate
from faig.evaluation.labelled_set import labelled_set_files, labelled_set_recipe
from faig.stamps import data_digest
gt, root = sys.argv[1], sys.argv[2]
generate(gt, default_folders(root, 2))
files = labelled_set_files(labelled_set_recipe(gt, crop=16, crops_per_photo=2))[0]
labelled = {path: cv2.imdecode(__import__('numpy').frombuffer(data, 'uint8'), -1).tobytes().hex()
            for path, data in files.items()}
print(json.dumps({'capability': torch.backends.cpu.get_cpu_capability(), 'features': cv2.getCPUFeaturesLine(),
                  'ipp': cv2.ipp.getIppVersion(), 'digest': data_digest(root), 'labelled': labelled}))
'''


def make_data(gt, root, env):
    """The data made in a process with this machine's own settings and ``env`` (none of NARROW inherited)."""
    own = {k: v for k, v in os.environ.items() if k not in NARROW}
    res = subprocess.run([sys.executable, '-c', MAKE_DATA, gt, root], cwd=REPO, capture_output=True, text=True,
                         env={**own, **env})
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_lr_sets_and_labelled_set_are_the_same_with_a_narrower_vector_width(tmp_path):
    # odd LR sizes and blocky photo-like content: the cases where IPP's x2 resize differed between CPUs
    rng = np.random.default_rng(7)
    gt = tmp_path / 'GTmod12'
    gt.mkdir()
    for i, (h, w) in enumerate([(72, 90), (54, 66), (48, 48)]):
        small = rng.integers(0, 256, size=(h // 6, w // 6, 3)).astype(np.float64)
        img = np.kron(small, np.ones((6, 6, 1))) * 0.6 + rng.integers(0, 100, size=(h, w, 3))
        cv2.imwrite(str(gt / f'p{i}.png'), np.clip(img, 0, 255).astype(np.uint8))
    native = make_data(str(gt), str(tmp_path / 'native'), {})
    narrow = make_data(str(gt), str(tmp_path / 'narrow'), NARROW)
    # each setting changed what it claims to (on a CPU that has more than SSE4.2, the two processes differ)
    assert narrow['capability'] == 'DEFAULT'
    assert '*AVX2?' in narrow['features'] and '*AVX512-SKX?' in narrow['features']
    assert 'SSE4.2' in narrow['ipp'] or narrow['ipp'] == ''
    assert narrow['digest'] == native['digest']
    assert narrow['labelled'] == native['labelled']
    for folder in os.listdir(tmp_path / 'native'):
        for name in os.listdir(tmp_path / 'native' / folder):
            a = cv2.imread(str(tmp_path / 'native' / folder / name), cv2.IMREAD_UNCHANGED)
            b = cv2.imread(str(tmp_path / 'narrow' / folder / name), cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(a, b, err_msg=f'{folder}/{name}')


def test_data_digest_keys_on_pixels_not_on_the_png_encoder(tmp_path):
    a = write_images(str(tmp_path / 'a' / 'set'), [(20, 24), (16, 16)])
    b = tmp_path / 'b' / 'set'
    b.mkdir(parents=True)
    for name in os.listdir(a):  # the same pixels, encoded otherwise
        img = cv2.imread(osp.join(a, name), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(b / name), img, [cv2.IMWRITE_PNG_COMPRESSION, 0])
        assert (b / name).read_bytes() != open(osp.join(a, name), 'rb').read()
    (tmp_path / 'a' / 'notes.txt').write_text('x')
    (tmp_path / 'b' / 'notes.txt').write_text('x')
    assert data_digest(str(tmp_path / 'a')) == data_digest(str(tmp_path / 'b'))
    img = cv2.imread(str(b / 'img0.png'), cv2.IMREAD_UNCHANGED)
    img[0, 0, 0] ^= 1  # one pixel, one bit
    cv2.imwrite(str(b / 'img0.png'), img)
    assert data_digest(str(tmp_path / 'a')) != data_digest(str(tmp_path / 'b'))
    (tmp_path / 'b' / 'notes.txt').write_text('y')  # other files by their bytes
    cv2.imwrite(str(b / 'img0.png'), cv2.imread(osp.join(a, 'img0.png'), cv2.IMREAD_UNCHANGED))
    assert data_digest(str(tmp_path / 'a')) != data_digest(str(tmp_path / 'b'))
