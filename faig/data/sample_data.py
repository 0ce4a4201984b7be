"""The bundled default data set, built only from photos that installed packages bundle (no network):
scikit-image's, plus matplotlib's and scikit-learn's sample photos.

Two disjoint sets of photos:
  * training HR sub-images (``datasets/SampleTrain/HR_sub``), cut from the large photos
    like ``scripts/extract_subimages.py`` does for DIV2K; the natural colour photos are also
    cut at 3/4 and 1/2 size (as multi-scale DF2K is made), since they are the scarce kind here;
  * a small Set14-like test set (``datasets/SampleSet/GTmod12``): whole photos, resized so
    the long side is at most ``max_side`` and cropped to multiples of 12.
Grayscale photos are replicated to three channels.
"""
import os
import os.path as osp

import cv2
import numpy as np
from matplotlib import cbook
from skimage import data

from faig.data.image_io import read_image, write_image
from faig.data.subimages import sub_images
from faig.errors import InputError
from faig.store import build_whole_folder

TEST_PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'camera', 'coins')
TRAIN_PHOTOS = ('retina', 'hubble_deep_field', 'immunohistochemistry', 'stereo_motorcycle_left',
                'stereo_motorcycle_right', 'brick', 'grass', 'gravel', 'moon', 'clock', 'page', 'text', 'cell',
                'grace_hopper', 'china', 'flower')
# natural colour photos, cut at several sizes; the other training photos (microscopy, texture,
# text, astronomy) only at full size
NATURAL_PHOTOS = ('stereo_motorcycle_left', 'stereo_motorcycle_right', 'grace_hopper', 'china', 'flower')
NATURAL_SCALES = (1.0, 0.75, 0.5)
# photos from packages other than scikit-image: (package, file)
OTHER_PACKAGE_PHOTOS = {'grace_hopper': ('matplotlib', 'grace_hopper.jpg'),
                        'china': ('scikit-learn', 'china.jpg'), 'flower': ('scikit-learn', 'flower.jpg')}


def _other_package_photo(name):
    """A BGR photo bundled with matplotlib (decoded by OpenCV) or scikit-learn (decoded by PIL)."""
    package, filename = OTHER_PACKAGE_PHOTOS[name]
    if package == 'matplotlib':
        return read_image(str(cbook.get_sample_data(filename, asfileobj=False)), float32=False)
    from sklearn.datasets import load_sample_image  # scikit-learn: not an install requirement of faig
    return cv2.cvtColor(load_sample_image(filename), cv2.COLOR_RGB2BGR)


def load_photo(name):
    """A bundled photo as a BGR uint8 array (grayscale replicated to 3 channels)."""
    if name in OTHER_PACKAGE_PHOTOS:
        return _other_package_photo(name)
    if name.startswith('stereo_motorcycle_'):
        left, right, _ = data.stereo_motorcycle()
        img = left if name.endswith('left') else right
    else:
        img = getattr(data, name)()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return cv2.cvtColor(img[..., :3].astype(np.uint8), cv2.COLOR_RGB2BGR)


def rescale(img, scale):
    """Resize by ``scale`` with area averaging (sharp, alias-free downscaling)."""
    if scale == 1:
        return img
    h, w = img.shape[:2]
    return cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def crop_to_multiple(img, multiple):
    h, w = img.shape[:2]
    return img[:h - h % multiple, :w - w % multiple]


def test_image(name, max_side=360, multiple=12):
    img = load_photo(name)
    h, w = img.shape[:2]
    factor = max_side / max(h, w)
    if factor < 1:
        img = rescale(img, factor)
    return crop_to_multiple(img, multiple)


def prepare(root='datasets', crop_size=144, step=96, max_side=360, overwrite=False):
    """Write the training sub-images and the test GT set under ``root``; returns their folders."""
    assert not set(TEST_PHOTOS) & set(TRAIN_PHOTOS), 'training and test photos must be disjoint'
    train_folder = osp.join(root, 'SampleTrain', 'HR_sub')
    test_folder = osp.join(root, 'SampleSet', 'GTmod12')
    for folder, build in ((train_folder, lambda path: _write_train(path, crop_size, step, train_folder)),
                          (test_folder, lambda path: _write_test(path, max_side, test_folder))):
        if osp.isdir(folder) and os.listdir(folder) and not overwrite:
            print(f'{folder}: exists, kept (use --overwrite to rebuild)')
            continue
        build_whole_folder(folder, build)  # a stopped run leaves no partial set that the next one would keep
    return train_folder, test_folder


def training_scales(name):
    return NATURAL_SCALES if name in NATURAL_PHOTOS else (1.0, )


def _write_train(folder, crop_size, step, shown=None):
    count = 0
    for name in TRAIN_PHOTOS:
        photo = load_photo(name)
        for scale in training_scales(name):
            tag = '' if scale == 1 else f'_x{round(scale * 100):03d}'
            for y, x, crop in sub_images(rescale(photo, scale), crop_size, step, thresh_size=crop_size, min_std=4.0):
                write_image(osp.join(folder, f'{name}{tag}_s{y:04d}_{x:04d}.png'), crop)
                count += 1
    if count == 0:
        raise InputError(f'--crop_size {crop_size}: no training sub-image fits in the photos (the largest is '
                         f'{max(max(load_photo(n).shape[:2]) for n in TRAIN_PHOTOS)} pixels); nothing written')
    print(f'{shown or folder}: {count} sub-images of {crop_size}x{crop_size} from {len(TRAIN_PHOTOS)} photos '
          f'({len(NATURAL_PHOTOS)} natural colour ones also at scales {", ".join(map(str, NATURAL_SCALES[1:]))})')


def _write_test(folder, max_side, shown=None):
    for name in TEST_PHOTOS:
        img = test_image(name, max_side)
        write_image(osp.join(folder, f'{name}.png'), img)
    print(f'{shown or folder}: {len(TEST_PHOTOS)} test images (long side <= {max_side}, sizes divisible by 12)')
