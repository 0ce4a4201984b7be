"""Cutting large HR images into overlapping sub-images (faster loading, as BasicSR does for DIV2K)."""
import numpy as np


def crop_positions(length, crop_size, step, thresh_size=0):
    """Start offsets along one axis; a last crop flush with the border is added when the
    uncovered remainder is larger than ``thresh_size``."""
    if length < crop_size:
        return []
    positions = list(range(0, length - crop_size + 1, step))
    if length - (positions[-1] + crop_size) > thresh_size:
        positions.append(length - crop_size)
    return positions


def sub_images(img, crop_size, step, thresh_size=0, min_std=0.0):
    """Yield ``(y, x, crop)``; crops whose standard deviation is below ``min_std`` (flat) are skipped."""
    h, w = img.shape[:2]
    for y in crop_positions(h, crop_size, step, thresh_size):
        for x in crop_positions(w, crop_size, step, thresh_size):
            crop = img[y:y + crop_size, x:x + crop_size]
            if crop.std() >= min_std:
                yield y, x, np.ascontiguousarray(crop)
