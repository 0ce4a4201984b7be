"""The identity of images and data sets by content: pixels for images, bytes for other files -- the inputs part of
a key of faig.store (which keeps the records themselves)."""
import hashlib
import os
import os.path as osp

import cv2
import numpy as np

from faig.data.image_io import IMAGE_EXTENSIONS
from faig.store import sha1_file


def pixels_sha1(path):
    """Hash of an image's decoded pixels (shape, dtype, values): the same image whichever PNG encoder wrote
    it; a file that does not decode as an image is hashed as bytes."""
    pixels = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        return sha1_file(path)
    digest = hashlib.sha1(f'{pixels.shape}:{pixels.dtype};'.encode())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


def content_sha1(path):
    """Pixel hash for an image file, byte hash for any other file."""
    return pixels_sha1(path) if osp.splitext(path)[1].lower() in IMAGE_EXTENSIONS else sha1_file(path)


def data_digest(root):
    """One hash of every file under ``root`` (names, and pixels for images, bytes for other files): the
    identity of a data set, the same on every machine that made the same pixels. Hidden folders (a build
    stopped midway, faig.store.build_whole_folder) are not part of it."""
    digest = hashlib.sha1()
    walked = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith('.')]
        walked.append((folder, names))
    for folder, names in sorted(walked):
        for name in sorted(names):
            path = osp.join(folder, name)
            digest.update(f'{osp.relpath(path, root)}:{content_sha1(path)};'.encode())
    return digest.hexdigest()
