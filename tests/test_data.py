import os
import os.path as osp

import cv2
import numpy as np
import pytest

from faig.data.div2k_interpret_dataset import DIV2KInterpretDataset
from faig.data.image_io import pair_by_name, read_image
from faig.errors import InputError

from conftest import write_images


def dataset_opt(folder, **kw):
    opt = dict(dataroot_gt=folder, io_backend={'type': 'disk'}, scale=2, phase='train', gt_size=32, use_flip=True,
               use_rot=True, kernel_prob=0.0, kernel_size=21, sigma_list=[2], noise_prob=0.0, noise_list=[0.1])
    opt.update(kw)
    return opt


def test_dataset_shapes_and_clean_degradation(tmp_path):
    folder = write_images(str(tmp_path / 'gt'), [(64, 64)] * 3)
    ds = DIV2KInterpretDataset(dataset_opt(folder))
    item = ds[0]
    assert item['gt'].shape == (3, 32, 32) and item['lq'].shape == (3, 16, 16)
    # clean: LR equals the bilinear downsampling of GT (up to 8-bit rounding), as in the original
    ds_val = DIV2KInterpretDataset(dataset_opt(folder, phase='val'))
    item = ds_val[0]
    gt = item['gt'].permute(1, 2, 0).numpy()
    expect = cv2.resize(gt, (32, 32), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(item['lq'].permute(1, 2, 0).numpy(), expect, atol=0.5 / 255 + 1e-6)


def test_dataset_noise_is_applied_with_probability_one(tmp_path):
    folder = write_images(str(tmp_path / 'gt'), [(64, 64)])
    clean = DIV2KInterpretDataset(dataset_opt(folder, phase='val'))[0]['lq']
    noisy = DIV2KInterpretDataset(dataset_opt(folder, phase='val', noise_prob=1.0))[0]['lq']
    assert 0.07 < (noisy - clean).std().item() < 0.12


@pytest.mark.parametrize('channels', [1, 4])
def test_dataset_refuses_grayscale_and_rgba(tmp_path, channels):
    folder = tmp_path / 'gt'
    folder.mkdir()
    cv2.imwrite(str(folder / 'bad.png'), np.zeros((32, 32, channels), np.uint8).squeeze())
    with pytest.raises(InputError, match='bad.png'):
        DIV2KInterpretDataset(dataset_opt(str(folder)))[0]


def test_dataset_missing_folder(tmp_path):
    with pytest.raises(InputError, match='GT folder not found'):
        DIV2KInterpretDataset(dataset_opt(str(tmp_path / 'nope')))


def test_pairing_is_by_name_and_lists_missing(tmp_path):
    a = write_images(str(tmp_path / 'a'), [(8, 8)] * 3)
    b = write_images(str(tmp_path / 'b'), [(8, 8)] * 2)
    with pytest.raises(InputError, match='img2.png'):
        pair_by_name({'a': a, 'b': b})
    os.remove(osp.join(a, 'img2.png'))
    pairs = pair_by_name({'a': a, 'b': b})
    assert [osp.basename(p['a']) for p in pairs] == [osp.basename(p['b']) for p in pairs] == ['img0.png', 'img1.png']


@pytest.fixture
def generate_lr(in_process):
    """``generate_lr(gt, out, seed)``: scripts/generate_lr.py into four folders under ``out``, in the test process."""
    return lambda gt, out, seed: in_process([
        'scripts/generate_lr.py', '--ori_folder', gt, '--save_noise_folder', f'{out}/noise', '--save_blur_folder',
        f'{out}/blur', '--save_bic_folder', f'{out}/bic', '--save_linear_folder', f'{out}/lin', '--seed',
        str(seed)
    ])


def test_generate_lr_is_reproducible_with_seed(tmp_path, generate_lr):
    gt = write_images(str(tmp_path / 'GTmod12'), [(48, 36), (24, 60)])
    runs = {}
    for label, seed in (('a', 3), ('b', 3), ('c', 4)):
        res = generate_lr(gt, str(tmp_path / label), seed)
        assert res.returncode == 0, res.stderr
        runs[label] = {f: read_image(str(tmp_path / label / f / 'img0.png')) for f in ('noise', 'blur', 'bic', 'lin')}
    for folder in ('noise', 'blur', 'bic', 'lin'):
        np.testing.assert_array_equal(runs['a'][folder], runs['b'][folder])
        assert runs['a'][folder].shape == (24, 18, 3)
    assert np.abs(runs['a']['noise'] - runs['c']['noise']).mean() > 0.03  # other seed, other noise
    np.testing.assert_array_equal(runs['a']['blur'], runs['c']['blur'])  # blur has no randomness
    assert np.abs(runs['a']['noise'] - runs['a']['lin']).std() > 0.05


def test_generate_lr_writes_lossless_png_whatever_the_photo_format(tmp_path):
    """A JPEG photo's degraded sets are PNG files holding exactly the degraded pixels (the noise is not
    compressed again), and they pair with the photo by name."""
    from faig.data.degradations import degrade_with
    from faig.data.lr_sets import generate, image_rng
    from faig.specs import appliable_degradation
    gt = write_images(str(tmp_path / 'GTmod12'), [(24, 20)])
    photo = cv2.imread(osp.join(gt, 'img0.png'))
    cv2.imwrite(osp.join(gt, 'photo.jpg'), photo[:, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    os.remove(osp.join(gt, 'img0.png'))
    write_images(gt, [(16, 12)], prefix='other')
    out = {'noise': str(tmp_path / 'noise'), 'bilinear': str(tmp_path / 'lin')}
    generate(gt, out, scale=2, seed=3)
    for folder in out.values():
        assert sorted(os.listdir(folder)) == ['other0.png', 'photo.png']
        with open(osp.join(folder, 'photo.png'), 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    spec = appliable_degradation('noise', 'test')
    hr = read_image(osp.join(gt, 'photo.jpg'))
    expected = degrade_with(hr, 2, [(spec, {**spec.defaults, 'sigma': 0.1})], rng=image_rng(3, 'photo.jpg'))
    written = cv2.imread(osp.join(out['noise'], 'photo.png'))
    np.testing.assert_array_equal(written, np.clip((expected * 255).round(), 0, 255).astype(np.uint8))
    pairs = pair_by_name({'gt': gt, **out})
    assert [(osp.basename(p['gt']), osp.basename(p['noise'])) for p in pairs] == [
        ('other0.png', 'other0.png'), ('photo.jpg', 'photo.png')]


def test_generate_lr_help_says_png(in_process):
    res = in_process(['scripts/generate_lr.py', '--help'])
    assert res.returncode == 0 and 'lossless PNG' in res.stdout


@pytest.mark.parametrize('bad', ['gray', 'rgba', 'odd_size', 'missing'])
def test_generate_lr_bad_input_one_line_no_output(tmp_path, bad, generate_lr):
    gt = write_images(str(tmp_path / 'GTmod12'), [(48, 36)])
    if bad == 'gray':
        cv2.imwrite(osp.join(gt, 'z.png'), np.zeros((16, 16), np.uint8))
    elif bad == 'rgba':
        cv2.imwrite(osp.join(gt, 'z.png'), np.zeros((16, 16, 4), np.uint8))
    elif bad == 'odd_size':
        cv2.imwrite(osp.join(gt, 'z.png'), np.zeros((15, 16, 3), np.uint8))
    else:
        gt = str(tmp_path / 'nothing_here')
    res = generate_lr(gt, str(tmp_path / 'out'), 0)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ')
    assert ('z.png' in lines[0]) if bad != 'missing' else ('nothing_here' in lines[0])
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('name', ['grace_hopper', 'china', 'flower'])
def test_photos_from_other_packages_load_as_bgr(name):
    """Photos from matplotlib and scikit-learn arrive in the BGR order the rest of the pipeline
    (cv2) uses: compare with the file read by PIL (RGB)."""
    from PIL import Image
    from faig.data.sample_data import OTHER_PACKAGE_PHOTOS, load_photo
    package, filename = OTHER_PACKAGE_PHOTOS[name]
    if package == 'matplotlib':
        from matplotlib import cbook
        path = cbook.get_sample_data(filename, asfileobj=False)
    else:
        import sklearn.datasets
        path = osp.join(osp.dirname(sklearn.datasets.__file__), 'images', filename)
    rgb = np.asarray(Image.open(path).convert('RGB'))
    bgr = load_photo(name)
    assert bgr.dtype == np.uint8 and bgr.shape == rgb.shape
    # JPEG decoders may differ by a grey level; a channel swap differs by far more
    assert np.abs(bgr[..., ::-1].astype(int) - rgb).mean() < 1.0
    assert np.abs(bgr.astype(int) - rgb).mean() > 5.0


def test_sample_training_set_is_multiscale_for_natural_photos_only(tmp_path, monkeypatch):
    """Natural colour photos are cut at every scale in NATURAL_SCALES, other photos at full size
    only, and no test photo is used for training."""
    from faig.data import sample_data
    monkeypatch.setattr(sample_data, 'TRAIN_PHOTOS', ('grace_hopper', 'brick'))
    folder = str(tmp_path / 'train')
    sample_data._write_train(folder, crop_size=144, step=96)
    names = os.listdir(folder)
    grace_tags = {n.split('_s')[0] for n in names if n.startswith('grace_hopper')}
    assert grace_tags == {'grace_hopper', 'grace_hopper_x075', 'grace_hopper_x050'}
    assert {n.split('_s')[0] for n in names if n.startswith('brick')} == {'brick'}
    # a 3/4-size crop is the full photo resized with INTER_AREA, then cut
    crop = read_image(osp.join(folder, 'grace_hopper_x075_s0096_0096.png'), float32=False)
    photo = sample_data.load_photo('grace_hopper')
    h, w = photo.shape[:2]
    small = cv2.resize(photo, (round(w * 0.75), round(h * 0.75)), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(crop, small[96:240, 96:240])
    assert not set(sample_data.TEST_PHOTOS) & set(sample_data.TRAIN_PHOTOS)
