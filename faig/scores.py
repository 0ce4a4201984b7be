"""What an attribution returns: per-filter scores, the rankings made from them, and where each filter sits.

:class:`FilterScores` keeps the per-image scores of every degradation, so that its sums and rankings are
computed in the order the original computed them (per image ``s(x_a) - s(x_b)``, summed in image order):
``ranking('blur', 'noise')`` is, value for value, the original's ``blur_index.txt``. :meth:`FilterScores.save`
writes that folder (index files, scores, meta.json) and :meth:`FilterScores.load` reads one back.
"""
import glob
import os.path as osp
from collections import OrderedDict

import numpy as np
import torch

from faig.attribution.faig import discriminative as discriminative_scores
from faig.attribution.filters import FilterSpace
from faig.attribution.ranking import RANKING_PATTERNS, npz_bytes, rank, ranking_space, read_index, write_rankings
from faig.errors import InputError
from faig.specs import ResultsLayout
from faig.store import read_record

DISCRIMINATIVE = ('faig', )  # methods whose index files rank s(x_a) - s(x_b); the others rank each s(x_a) alone


class FilterScores:
    """Scores of every filter of a network for each degradation.

    Args:
        method: the method's name (``'faig'``, ``'ig'``, ``'abs_filter_change'``, ``'random'``, ...).
        space: the :class:`~faig.attribution.filters.FilterSpace` the indices refer to (None: unknown,
            e.g. a folder loaded without its network).
        degradations: the degradation names, in the order given.
        per_image: [{degradation: float32 array}] in image order, or None.
        totals: {degradation: array} when there are no per-image scores (weights-only methods, loaded folders).
        rankings: {degradation: filter indices} fixed in advance (random rankings, loaded folders).
        convergence_delta: {degradation: per-image completeness error} (path-integral methods).
        meta: the record written as meta.json.
    """

    def __init__(self, method, space, degradations, per_image=None, totals=None, rankings=None,
                 convergence_delta=None, meta=None):
        self.method = method
        self.space = space
        self.degradations = tuple(degradations)
        self.per_image = per_image
        self._totals = totals
        self._rankings = rankings
        self.convergence_delta = convergence_delta
        self.meta = dict(meta or {})

    # ---- scores ---------------------------------------------------------------------------------
    @property
    def specific(self):
        """Whether rankings are by s(x_a) - s(x_b) (FAIG) rather than by each degradation's own score."""
        return self.method in DISCRIMINATIVE

    @property
    def num_filters(self):
        if self.space is not None:
            return self.space.num_filters
        first = next(iter((self._rankings or self._totals or self.per_image[0]).values()))
        return len(first)

    def __len__(self):
        return self.num_filters

    def __contains__(self, degradation):
        return degradation in self.degradations

    def _check(self, degradation):
        if degradation not in self.degradations:
            raise KeyError(f'{degradation!r}: not a degradation of these scores ({", ".join(self.degradations)})')

    def __getitem__(self, degradation):
        """s(x_degradation) summed over the images (float32, one value per filter)."""
        self._check(degradation)
        if self.per_image is not None:
            total = None
            for scores in self.per_image:  # image order, as the original summed
                total = scores[degradation].copy() if total is None else total + scores[degradation]
            return total
        if self._totals is None:
            raise KeyError(f'{degradation!r}: these scores hold rankings only ({self.method})')
        if self.specific:
            raise KeyError(f'{degradation!r}: a saved FAIG folder holds the discriminative scores only; use '
                           f'discriminative({", ".join(map(repr, self.degradations))})')
        return self._totals[degradation]

    @property
    def scores(self):
        """{degradation: summed scores}."""
        return {d: self[d] for d in self.degradations}

    def _other(self, a, b):
        self._check(a)
        if b is None:
            others = [d for d in self.degradations if d != a]
            if len(others) != 1:
                raise ValueError(f'give the degradation to compare {a!r} with ({", ".join(others)})')
            b = others[0]
        self._check(b)
        if a == b:
            raise ValueError(f'compare {a!r} with another degradation')
        return b

    def discriminative(self, a, b=None):
        """Per filter s(x_a) - s(x_b) (paper Eq. 7), per image and summed in image order as the original."""
        b = self._other(a, b)
        if self.per_image is not None:
            total = None
            for scores in self.per_image:
                diff = discriminative_scores(scores, a, b)
                total = diff if total is None else total + diff
            return total
        if self._totals is None:
            raise KeyError(f'{a!r}: these scores hold rankings only ({self.method})')
        if self.specific:  # a saved pair: <a>_scores.npy holds s(x_a) - s(x_b), <b>_scores.npy its negation
            return self._totals[a]
        return self._totals[a] - self._totals[b]

    # ---- rankings --------------------------------------------------------------------------------
    def ranking(self, a, b=None):
        """Filter indices, most specific to ``a`` first: the original's ``<a>_index.txt``. FAIG ranks by
        s(x_a) - s(x_b) (``b``: the other degradation when there are two); the other methods rank each
        degradation by its own scores, as the original's tools did (``b`` is then not used)."""
        fixed = (self._rankings or {}).get(a)
        if fixed is not None and (not self.specific or self._other(a, b) in self._rankings):
            return np.asarray(fixed)
        if self.specific:
            return rank(self.discriminative(a, b))
        return rank(self[a])

    def top(self, p, a, b=None):
        """The first ``p`` % of :meth:`ranking` (``int(num_filters * p / 100)`` filters, as the original)."""
        return self.ranking(a, b)[:int(self.num_filters * p / 100)]  # the count of evaluation.masking.num_selected

    def rankings(self):
        """{degradation: ranking} of every degradation (the index files :meth:`save` writes)."""
        return {d: self.ranking(d) for d in self.degradations}

    # ---- where the filters are -------------------------------------------------------------------
    def _space(self):
        if self.space is None:
            raise ValueError('these scores do not know their network: load them with FilterScores.load(folder, net)')
        return self.space

    def locate(self, index):
        """Filter index -> (parameter name, out channel, in channel)."""
        return self._space().locate(index)

    def per_layer_counts(self, indices):
        """{parameter name: how many of ``indices`` are in that layer}, every layer in network order."""
        space = self._space()
        counts = np.bincount(space.layer_of(np.asarray(indices, dtype=np.int64)), minlength=len(space.entries))
        return OrderedDict((e.name, int(c)) for e, c in zip(space.entries, counts))

    # ---- files -----------------------------------------------------------------------------------
    def save(self, folder, overwrite=False):
        """Write ``<d>_index.txt`` and ``<d>_scores.npy`` per degradation (FAIG: the pair's discriminative
        scores), ``meta.json`` and, for FAIG, ``per_image_scores.npz``: the files the command-line tools write
        and read. A folder holding ranking files is refused unless ``overwrite``."""
        present = [p for pattern in RANKING_PATTERNS for p in glob.glob(osp.join(glob.escape(folder), pattern))]
        if present and not overwrite:
            raise InputError(f'{folder}: holds ranking files already ({osp.basename(sorted(present)[0])}, ...); '
                             'choose another folder or pass overwrite=True')
        extra = None
        if self.specific:
            if len(self.degradations) != 2:
                raise ValueError(f'FAIG index files are written for a pair of degradations, not {self.degradations}')
            a, b = self.degradations
            total = self.discriminative(a, b)
            scores = {a: total, b: -total}  # the original's files: one ranking and its reverse
            rankings = {d: rank(s) for d, s in scores.items()}
            if self.per_image is not None:
                names = [r.get('image', f'image{i}') for i, r in enumerate(self.meta.get('images') or [])]
                if len(names) != len(self.per_image):
                    names = [f'image{i}' for i in range(len(self.per_image))]
                extra = {ResultsLayout.PER_IMAGE_SCORES: npz_bytes(
                    {n: discriminative_scores(s, a, b) for n, s in zip(names, self.per_image)})}
        else:
            rankings = self.rankings()
            scores = None if self._rankings is not None and self._totals is None and self.per_image is None \
                else self.scores
        meta = {**self.meta, 'method': self.method, 'degradations': list(self.degradations)}
        if self.space is not None:
            meta['filter_space'] = self.space.describe()
            meta['filter_layers'] = [[e.name, e.kind, list(e.shape), e.groups] for e in self.space.entries]
        write_rankings(folder, rankings, scores, meta, extra=extra)
        return folder

    @classmethod
    def load(cls, folder, net=None):
        """The scores and rankings of a ranking folder (written by :meth:`save` or by the command-line tools).

        ``net``: the network the indices refer to (for :meth:`locate`); without it the layers recorded by
        :meth:`save` are used, and a folder of the tools without them knows no layers."""
        path = osp.join(folder, 'meta.json')
        meta = read_record(path, 'record of a ranking') if osp.isfile(path) else {}
        degradations = meta.get('degradations')
        if not degradations:
            degradations = sorted(osp.basename(p)[:-len('_index.txt')]
                                  for p in glob.glob(osp.join(glob.escape(folder), '*_index.txt')))
        if not degradations:
            raise InputError(f'{folder}: no index files (<degradation>_index.txt)')
        space = None
        if net is not None:
            space = ranking_space(folder, net)
        elif meta.get('filter_layers'):
            space = recorded_space(meta['filter_layers'], meta.get('filter_space'), path)
        num_filters = space.num_filters if space is not None else None
        rankings = {d: read_index(osp.join(folder, f'{d}_index.txt'), num_filters) for d in degradations}
        totals = {}
        for d in degradations:
            scores_path = osp.join(folder, f'{d}_scores.npy')
            if osp.isfile(scores_path):
                totals[d] = np.load(scores_path)
        return cls(meta.get('method', 'unknown'), space, degradations, totals=totals or None, rankings=rankings,
                   meta=meta)

    def __repr__(self):
        return (f'FilterScores({self.method}, {self.num_filters} filters, degradations {list(self.degradations)}'
                f'{f", {len(self.per_image)} image(s)" if self.per_image is not None else ""})')


def recorded_space(layers, description=None, source='meta.json'):
    """The filter space of the layers a saved record lists ([name, kind, shape, groups]), built on the meta
    device (no memory), and checked against the space recorded beside them."""
    state, modules = OrderedDict(), {}
    for name, kind, shape, groups in layers:
        owner = name.rpartition('.')[0]
        modules[owner] = placeholder_module(kind, tuple(shape), groups)
        state[name] = torch.empty(shape, device='meta')
    space = FilterSpace(state, modules)
    if description:
        space.verify(description, source)
    return space


def placeholder_module(kind, shape, groups):
    """A module of the kind and weight shape a filter layer had (on the meta device)."""
    if kind == 'linear':
        return torch.nn.Linear(shape[1], shape[0], device='meta')
    dims = len(shape) - 2
    if kind == 'conv_transpose':
        cls = (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)[dims - 1]
        return cls(shape[0], shape[1] * groups, shape[2:], groups=groups, device='meta')
    cls = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)[dims - 1]
    return cls(shape[1] * groups, shape[0], shape[2:], groups=groups, device='meta')
