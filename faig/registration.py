"""BasicSR-style auto-import: every ``*_<suffix>.py`` of a sub-package registers on import; the plugins that
``FAIG_PLUGINS`` names; and the light way to one registered arch (:func:`arch_class`)."""
import importlib
import importlib.util
import os
from os import path as osp

from faig.specs import NETWORKS

# Arch types whose module the network specs name: building one imports that module alone, with the packages
# below deferred (faig.lazy.light_import: their __init__ files, which import every BasicSR arch, dataset, model,
# loss and metric, and torchvision's, run only if something else asks for them). The class still comes from
# BasicSR's ARCH_REGISTRY, where the module registers it; any other type is looked up after the full import
# (register_all). Measured in docs/benchmarks.md, "Fixed costs of a whole --fast run".
LIGHT_ARCHS = {spec.arch_type: spec.arch_module for spec in NETWORKS.values() if spec.arch_module}
DEFERRED_PACKAGES = ('basicsr', 'basicsr.archs', 'basicsr.utils', 'torchvision')
PARTIAL_PACKAGES = ('basicsr', )  # under these, the arch module's own imports load without the __init__ files

_registered = []
_plugins_loaded = []


def import_all(package, package_file, suffix):
    """Import ``<package>.<name>`` for each ``<name>_<suffix>.py`` beside ``package_file``
    (after the basicsr fixes, which must precede any basicsr import)."""
    from faig import compat
    compat.apply()
    folder = osp.dirname(osp.abspath(package_file))
    names = sorted(osp.splitext(f)[0] for f in os.listdir(folder) if f.endswith(f'_{suffix}.py'))
    return [importlib.import_module(f'{package}.{name}') for name in names]


def register_all():
    """Register the project's archs, datasets and models in BasicSR's registries, after the full import of
    basicsr (so that every BasicSR type is registered too); idempotent."""
    from faig import compat, lazy
    compat.apply()
    lazy.complete_all()  # packages a light import deferred: their __init__ files run now
    importlib.import_module('basicsr')
    compat.apply()  # basicsr.train is imported now: make sure it is patched
    for package, suffix in (('faig.archs', 'arch'), ('faig.data', 'dataset'), ('faig.models', 'model')):
        import_all(package, importlib.import_module(package).__file__, suffix)
    # files named by FAIG_PLUGINS: a user's arch (or dataset, model, attribution method) registers there,
    # in one file outside the package, and every tool and train.py then finds it by its type
    load_plugins()
    if not _registered:
        _registered.append(True)


def load_plugins():
    """Import the files and modules that ``FAIG_PLUGINS`` names (paths of .py files or module names, separated by
    ``os.pathsep``), once."""
    if _plugins_loaded:
        return
    _plugins_loaded.append(True)
    for entry in filter(None, os.environ.get('FAIG_PLUGINS', '').split(os.pathsep)):
        import_plugin(entry)


def import_plugin(entry):
    from faig import compat
    from faig.errors import InputError
    compat.apply()  # a plugin may import basicsr (to register an arch): its torchvision fix must come first
    if entry.endswith('.py'):
        if not osp.isfile(entry):
            raise InputError(f'{entry}: plugin file not found (FAIG_PLUGINS)')
        name = 'faig_plugin_' + osp.splitext(osp.basename(entry))[0]
        spec = importlib.util.spec_from_file_location(name, entry)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - a plugin's own error, named in one line
            raise InputError(f'{entry}: this plugin (FAIG_PLUGINS) failed to load: {type(exc).__name__}: {exc}') from None
        return module
    try:
        return importlib.import_module(entry)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f'{entry}: cannot import this plugin module (FAIG_PLUGINS): {type(exc).__name__}: '
                         f'{exc}') from None


def arch_class(arch):
    """The class that BasicSR's ARCH_REGISTRY holds for type ``arch``, or None when none is registered.

    A type of LIGHT_ARCHS is imported on its own (seconds fewer than the full import, which a whole
    ``faig.py --fast`` run on small images would otherwise spend mostly importing); any other type, or one
    that its module did not register, after :func:`register_all`."""
    module = LIGHT_ARCHS.get(arch) if isinstance(arch, str) else None
    if module and not _registered:
        from faig import compat
        from faig.lazy import light_import
        compat.apply()
        light_import(module, DEFERRED_PACKAGES, PARTIAL_PACKAGES)
        from basicsr.utils.registry import ARCH_REGISTRY
        if arch in ARCH_REGISTRY:
            return ARCH_REGISTRY.get(arch)
    register_all()
    from basicsr.utils.registry import ARCH_REGISTRY
    return ARCH_REGISTRY.get(arch) if arch in ARCH_REGISTRY else None
