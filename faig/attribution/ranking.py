"""Rankings from scores, and the index files of the original (one integer per line)."""
import io
import json
import os.path as osp

import numpy as np

from faig.data.image_io import write_bytes
from faig.errors import InputError


def rank(scores):
    """Filter indices in descending order of score (the original's ``np.argsort(s)[::-1]``)."""
    return np.argsort(np.asarray(scores))[::-1].copy()


def write_index(path, ranking):
    buffer = io.StringIO()
    np.savetxt(buffer, np.asarray(ranking), delimiter=',', fmt='%d')
    write_bytes(path, buffer.getvalue().encode())


def write_scores(path, scores):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(scores, dtype=np.float32))
    write_bytes(path, buffer.getvalue())


def write_json(path, data):
    write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + '\n').encode())


def write_rankings(folder, rankings, scores=None, meta=None):
    """``<folder>/{blur,noise}_index.txt`` (+ ``<deg>_scores.npy`` and ``meta.json``), each written atomically."""
    for deg, ranking in rankings.items():
        write_index(osp.join(folder, f'{deg}_index.txt'), ranking)
        if scores is not None and deg in scores:
            write_scores(osp.join(folder, f'{deg}_scores.npy'), scores[deg])
    if meta is not None:
        write_json(osp.join(folder, 'meta.json'), meta)


def read_index(path, num_filters=None):
    """Read an index file; checks that it is a permutation-compatible list of filter indices."""
    if not osp.isfile(path):
        raise InputError(f'{path}: index file not found')
    try:
        index = np.loadtxt(path, dtype=np.int64, delimiter=',', ndmin=1)
    except ValueError as exc:
        raise InputError(f'{path}: not a list of integers ({exc})') from exc
    if num_filters is not None:
        if index.min(initial=0) < 0 or index.max(initial=0) >= num_filters:
            raise InputError(f'{path}: filter indices outside [0, {num_filters}) -- made for another network?')
        if len(np.unique(index)) != len(index):
            raise InputError(f'{path}: repeated filter indices')
    return index
