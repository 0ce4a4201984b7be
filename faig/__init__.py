"""FAIG: Filter Attribution based on Integral Gradients, on top of BasicSR.

``from faig import FAIG, IG, AbsoluteFilterChange, RandomFilters, FilterScores, masked, modulated, compare``: the
methods constructed with the networks, ``attribute(...)`` returning per-filter scores (faig.api), masking and
modulation in memory, and the comparison of methods by masking (a :class:`faig.tables.Table`).

Importing the package is cheap (command lines answer ``--help`` at once). The basicsr
compatibility fixes (faig.compat) and the registration of the project's archs, datasets
and models in BasicSR's registries happen on first use: :func:`register`, called by ``train.py``
and by ``faig.networks.build_network`` for arch types other than the paper's two, which it builds
without the full basicsr import (faig.registration.arch_class).
"""
__version__ = '0.1.0'

from faig.lazy import lazy_exports  # noqa: E402
from faig.registration import register_all  # noqa: E402

# the Python API (faig.api, faig.scores, faig.masking), loaded on first use: ``import faig`` stays cheap
_EXPORTS = {'FAIG': 'api', 'IG': 'api', 'AbsoluteFilterChange': 'api', 'RandomFilters': 'api',
            'FilterScores': 'scores', 'masked': 'masking', 'modulated': 'masking',
            'compare': 'evaluation.comparison', 'Table': 'tables'}
__getattr__ = lazy_exports(__name__, _EXPORTS)[0]


def __dir__():
    return sorted({*globals(), *_EXPORTS})


def register():
    """Apply the basicsr fixes and register the project's archs, datasets and models (idempotent)."""
    register_all()
