"""BasicSR-style auto-import: every ``*_<suffix>.py`` of a sub-package registers on import; and the light way
to one registered arch (:func:`arch_class`)."""
import importlib
import os
from os import path as osp

# Arch types whose module is known: building one imports that module alone, with the packages below deferred
# (faig.lazy.light_import: their __init__ files, which import every BasicSR arch, dataset, model, loss and
# metric, and torchvision's, run only if something else asks for them). The class still comes from BasicSR's
# ARCH_REGISTRY, where the module registers it; any other type is looked up after the full import
# (register_all). Measured in docs/benchmarks.md, "Fixed costs of a whole --fast run".
LIGHT_ARCHS = {
    'MSRResNet': 'basicsr.archs.srresnet_arch',
    'srcnn_style_net': 'faig.archs.srcnn_style_arch',
}
DEFERRED_PACKAGES = ('basicsr', 'basicsr.archs', 'basicsr.utils', 'torchvision')
PARTIAL_PACKAGES = ('basicsr', )  # under these, the arch module's own imports load without the __init__ files

_registered = []


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
    from faig.attribution.methods import load_methods
    load_methods()
    if not _registered:
        _registered.append(True)


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
