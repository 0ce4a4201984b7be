"""Lazy re-exports for package ``__init__`` files: the public names load their module on first use,
so importing a package (and answering ``--help``) does not import torch."""
import importlib


def lazy_exports(package, exports):
    """(``__getattr__``, ``__dir__``) for a package whose ``exports`` map public name -> submodule."""

    def __getattr__(name):
        if name in exports:
            return getattr(importlib.import_module(f'{package}.{exports[name]}'), name)
        raise AttributeError(f'module {package!r} has no attribute {name!r}')

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__
