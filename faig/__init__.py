"""FAIG: Filter Attribution based on Integral Gradients, on top of BasicSR.

Importing the package is cheap (command lines answer ``--help`` at once). The basicsr
compatibility fixes (faig.compat) and the registration of the project's archs, datasets
and models in BasicSR's registries happen on first use: :func:`register`, called by ``train.py``
and by ``faig.networks.build_network`` for arch types other than the paper's two, which it builds
without the full basicsr import (faig.registration.arch_class).
"""
__version__ = '0.1.0'


def register():
    """Apply the basicsr fixes and register the project's archs, datasets and models (idempotent)."""
    from faig.registration import register_all
    register_all()
