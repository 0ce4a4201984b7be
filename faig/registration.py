"""BasicSR-style auto-import: every ``*_<suffix>.py`` of a sub-package registers on import."""
import importlib
import os
from os import path as osp


def import_all(package, package_file, suffix):
    """Import ``<package>.<name>`` for each ``<name>_<suffix>.py`` beside ``package_file``
    (after the basicsr fixes, which must precede any basicsr import)."""
    from faig import compat
    compat.apply()
    folder = osp.dirname(osp.abspath(package_file))
    names = sorted(osp.splitext(f)[0] for f in os.listdir(folder) if f.endswith(f'_{suffix}.py'))
    return [importlib.import_module(f'{package}.{name}') for name in names]


def register_all():
    """Register the project's archs, datasets and models in BasicSR's registries (idempotent)."""
    for package, suffix in (('faig.archs', 'arch'), ('faig.data', 'dataset'), ('faig.models', 'model')):
        import_all(package, importlib.import_module(package).__file__, suffix)
