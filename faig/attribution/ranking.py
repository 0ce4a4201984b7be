"""Rankings from scores, and the index files of the original (one integer per line)."""
import io
import json
import os.path as osp
import warnings

import numpy as np

from faig.data.image_io import write_bytes
from faig.errors import InputError, one_line
from faig.specs import ResultsLayout
from faig.store import commit_files, read_record


def rank(scores):
    """Filter indices in descending order of score (the original's ``np.argsort(s)[::-1]``)."""
    return np.argsort(np.asarray(scores))[::-1].copy()


def index_bytes(ranking):
    """One integer per line: the bytes of the original's ``np.savetxt(..., fmt='%d')``, 7x faster (0.05 s
    instead of 0.34 s for MSRResNet's 151,936 filters; tests/test_attribution.py compares the two)."""
    return ('\n'.join(map(str, np.asarray(ranking).astype(np.int64).tolist())) + '\n').encode()


def scores_bytes(scores):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(scores, dtype=np.float32))
    return buffer.getvalue()


def npz_bytes(arrays):
    """``{name: array}`` as the bytes of an .npz file (what ``np.load`` reads). Written entry by entry because
    ``np.savez(f, **arrays)`` takes the names as keyword arguments: an image called ``file`` or
    ``allow_pickle`` would fail or vanish from the file."""
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            with archive.open(f'{name}.npy', 'w', force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def json_bytes(data):
    return (json.dumps(data, indent=2, sort_keys=True) + '\n').encode()


def write_index(path, ranking):
    write_bytes(path, index_bytes(ranking))


def write_json(path, data):
    write_bytes(path, json_bytes(data))


# every file a ranking tool writes: a new set replaces all of them (no FAIG scores left beside a random ranking),
# so any of them present marks earlier results (faig.store.claim_results)
RANKING_PATTERNS = ('*_index.txt', '*_scores.npy', 'meta.json', ResultsLayout.PER_IMAGE_SCORES)


def ranking_files(rankings, scores=None, meta=None):
    """{file name: bytes} of a ranking folder: ``<deg>_index.txt`` (+ ``<deg>_scores.npy``, ``meta.json``).

    NaN scores (a diverged model or a numerical fault) are refused: their order would be arbitrary.
    (+inf is a valid |θ−θ̄| score: a filter that grew from zero.)"""
    for deg, values in (scores or {}).items():
        bad = int(np.isnan(np.asarray(values, dtype=np.float64)).sum())
        if bad:
            raise InputError(f'{bad} of {len(values)} {deg} scores are NaN; nothing written '
                             '(check the models and images for NaN/inf values)')
    files = {}
    for deg, ranking in rankings.items():
        files[f'{deg}_index.txt'] = index_bytes(ranking)
        if scores is not None and deg in scores:
            files[f'{deg}_scores.npy'] = scores_bytes(scores[deg])
    if meta is not None:
        files['meta.json'] = json_bytes(meta)
    return files


def ranking_set(folder, rankings, scores=None, meta=None, extra=None):
    """:func:`ranking_files` and ``extra`` ({name: bytes}) of ``folder``, a refusal naming the folder."""
    try:
        return {**ranking_files(rankings, scores, meta), **(extra or {})}
    except InputError as exc:
        raise InputError(f'{folder}: {exc}') from None


def write_rankings(folder, rankings, scores=None, meta=None, extra=None):
    """Write a ranking folder's files as one set (faig.store.commit_files): a crash or a full disk
    leaves either the previous set or the new one, never a mix. ``extra``: more {name: bytes}."""
    commit_files(folder, ranking_set(folder, rankings, scores, meta, extra), replaces=RANKING_PATTERNS,
                 record='meta.json' if meta is not None else None)


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


def recorded_network(opt, params):
    """The network a ranking's meta.json names, holding ``params`` (so that the filter space knows its layer
    kinds: Linear, ConvTranspose, Conv1d); ``params`` themselves when it cannot be built or does not fit
    them (then only their conv weights count, and the recorded space says whether that is the same)."""
    from faig.errors import InputError
    from faig.networks import build_network
    try:
        net = build_network(opt)
        net.load_state_dict(params, strict=True)
        return net
    except (InputError, RuntimeError, TypeError):
        return params


def ranking_space(folder, net):
    """The filter space a ranking folder's index files refer to: the network's (every layer kind), restricted
    to the layers its meta.json records (``--layers``) and checked against the space recorded there, so
    that an index is never applied to filters it was not computed for. ``net``: a network, or a checkpoint's
    tensors (then the network recorded in meta.json is built around them)."""
    from faig.attribution.filters import space_for_network
    path = osp.join(folder, 'meta.json')
    meta = read_record(path, 'record of this ranking', bad='skip')  # an unreadable one is check_provenance's to report
    if isinstance(net, dict) and meta is not None and isinstance(meta.get('network'), dict):
        net = recorded_network(meta['network'], net)  # a checkpoint alone knows no layer kinds
    recorded = meta.get('filter_space') if meta is not None else None
    if not isinstance(recorded, dict):
        return space_for_network(net)
    space = space_for_network(net, recorded.get('layers'))
    space.verify(recorded, path)
    return space
