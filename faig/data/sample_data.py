"""The bundled default data set, built only from scikit-image's bundled photos (no network).

Two disjoint sets of photos:
  * training HR sub-images (``datasets/SampleTrain/HR_sub``), cut from the large photos
    like ``scripts/extract_subimages.py`` does for DIV2K;
  * a small Set14-like test set (``datasets/SampleSet/GTmod12``): whole photos, resized so
    the long side is at most ``max_side`` and cropped to multiples of 12.
Grayscale photos are replicated to three channels.
"""
import os
import os.path as osp

import cv2
import numpy as np

from faig.data.image_io import write_image
from faig.data.subimages import sub_images

TEST_PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'camera', 'coins')
TRAIN_PHOTOS = ('retina', 'hubble_deep_field', 'immunohistochemistry', 'stereo_motorcycle_left',
                'stereo_motorcycle_right', 'brick', 'grass', 'gravel', 'moon', 'clock', 'page', 'text', 'cell')


def load_photo(name):
    """A scikit-image photo as a BGR uint8 array (grayscale replicated to 3 channels)."""
    from skimage import data
    if name.startswith('stereo_motorcycle_'):
        left, right, _ = data.stereo_motorcycle()
        img = left if name.endswith('left') else right
    else:
        img = getattr(data, name)()
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return cv2.cvtColor(img[..., :3].astype(np.uint8), cv2.COLOR_RGB2BGR)


def crop_to_multiple(img, multiple):
    h, w = img.shape[:2]
    return img[:h - h % multiple, :w - w % multiple]


def test_image(name, max_side=360, multiple=12):
    img = load_photo(name)
    h, w = img.shape[:2]
    factor = max_side / max(h, w)
    if factor < 1:
        img = cv2.resize(img, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)
    return crop_to_multiple(img, multiple)


def prepare(root='datasets', crop_size=144, step=96, max_side=360, overwrite=False):
    """Write the training sub-images and the test GT set under ``root``; returns their folders."""
    assert not set(TEST_PHOTOS) & set(TRAIN_PHOTOS), 'training and test photos must be disjoint'
    train_folder = osp.join(root, 'SampleTrain', 'HR_sub')
    test_folder = osp.join(root, 'SampleSet', 'GTmod12')
    for folder, build in ((train_folder, lambda: _write_train(train_folder, crop_size, step)),
                          (test_folder, lambda: _write_test(test_folder, max_side))):
        if osp.isdir(folder) and os.listdir(folder) and not overwrite:
            print(f'{folder}: exists, kept (use --overwrite to rebuild)')
            continue
        build()
    return train_folder, test_folder


def _write_train(folder, crop_size, step):
    count = 0
    for name in TRAIN_PHOTOS:
        for y, x, crop in sub_images(load_photo(name), crop_size, step, thresh_size=crop_size, min_std=4.0):
            write_image(osp.join(folder, f'{name}_s{y:04d}_{x:04d}.png'), crop)
            count += 1
    print(f'{folder}: {count} sub-images of {crop_size}x{crop_size} from {len(TRAIN_PHOTOS)} photos')


def _write_test(folder, max_side):
    for name in TEST_PHOTOS:
        img = test_image(name, max_side)
        write_image(osp.join(folder, f'{name}.png'), img)
    print(f'{folder}: {len(TEST_PHOTOS)} test images (long side <= {max_side}, sizes divisible by 12)')
