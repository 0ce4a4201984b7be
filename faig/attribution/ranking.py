"""Rankings from scores, and the index files of the original (one integer per line)."""
import io
import json
import os.path as osp
import warnings

import numpy as np

from faig.data.image_io import write_bytes
from faig.errors import InputError, one_line


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
    """``<folder>/<deg>_index.txt`` (+ ``<deg>_scores.npy`` and ``meta.json``), each written atomically.

    NaN scores (a diverged model or a numerical fault) are refused before anything is written: their
    order would be arbitrary. (+inf is a valid |θ−θ̄| score: a filter that grew from zero.)"""
    for deg, values in (scores or {}).items():
        bad = int(np.isnan(np.asarray(values, dtype=np.float64)).sum())
        if bad:
            raise InputError(f'{folder}: {bad} of {len(values)} {deg} scores are NaN; nothing written '
                             '(check the models and images for NaN/inf values)')
    for deg, ranking in rankings.items():
        write_index(osp.join(folder, f'{deg}_index.txt'), ranking)
        if scores is not None and deg in scores:
            write_scores(osp.join(folder, f'{deg}_scores.npy'), scores[deg])
    if meta is not None:
        write_json(osp.join(folder, 'meta.json'), meta)


def read_index(path, num_filters=None):
    """Read an index file: one filter index per line, best first.

    With ``num_filters``, it must be a ranking of every filter of the network (a permutation):
    an empty or short file would silently mask fewer filters than asked for.
    """
    if not osp.isfile(path):
        raise InputError(f'{path}: index file not found')
    if osp.getsize(path) == 0:
        raise InputError(f'{path}: empty index file')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # numpy warns on an empty file: reported below
            index = np.loadtxt(path, dtype=np.int64, delimiter=',', ndmin=1)
    except ValueError as exc:
        raise InputError(f'{path}: not a list of integers ({one_line(exc)})') from None
    if num_filters is not None:
        if len(index) != num_filters:
            raise InputError(f'{path}: ranks {len(index)} filters but the network has {num_filters} '
                             '(a ranking lists every filter; made for another network or cut short?)')
        if index.min(initial=0) < 0 or index.max(initial=0) >= num_filters:
            raise InputError(f'{path}: filter indices outside [0, {num_filters}) -- made for another network?')
        if len(np.unique(index)) != len(index):
            raise InputError(f'{path}: repeated filter indices')
    elif len(index) == 0:
        raise InputError(f'{path}: no filter indices')
    return index
