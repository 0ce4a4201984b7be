"""FAIG: Filter Attribution based on Integral Gradients, on top of BasicSR.

Importing the package first applies the basicsr compatibility fixes (faig.compat),
then registers the project's archs, datasets and models in BasicSR's registries.
"""
from faig import compat

compat.apply()

from faig import archs, data, models  # noqa: E402,F401  (registration)

__version__ = '0.1.0'
