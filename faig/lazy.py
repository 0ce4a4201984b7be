"""Lazy re-exports for package ``__init__`` files: the public names load their module on first use,
so importing a package (and answering ``--help``) does not import torch."""
import ast
import importlib
import importlib.util
import sys
import types
from importlib.machinery import PathFinder


def lazy_exports(package, exports):
    """(``__getattr__``, ``__dir__``) for a package whose ``exports`` map public name -> submodule."""

    def __getattr__(name):
        if name in exports:
            return getattr(importlib.import_module(f'{package}.{exports[name]}'), name)
        raise AttributeError(f'module {package!r} has no attribute {name!r}')

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__


# ---- deferred packages ---------------------------------------------------------------------------------
# BasicSR's package __init__ imports every arch, dataset, model, loss and metric (and so torchvision, scipy,
# ...: seconds), while building one network needs only its arch module. A *deferred* package is in
# sys.modules with its __path__ and __spec__ but its __init__ not yet run, so that a light import
# (:func:`light_import`) can load one submodule under it. Afterwards the package behaves as if it had been
# imported normally: the first access to a name its __init__ would define, or the first import of one of its
# submodules not loaded yet, runs the __init__ first (of the top package first, as a normal import would).

_deferred = {}  # name -> module whose __init__ has not run
_exports = {}  # name -> {attribute: submodule} read from its __init__'s ``from .sub import a, b`` lines
_light = []  # while light_import runs: the top packages whose submodules may load without their __init__


def _partial(name):
    """Inside a light import, may this deferred package's submodules load without its __init__?"""
    return bool(_light) and name.split('.')[0] in _light[-1]


class DeferredPackage(types.ModuleType):
    """A package module whose __init__ runs on first use of a name it defines (see above)."""

    def __getattr__(self, name):  # only called for attributes not set
        if _deferred.get(self.__name__) is not self:
            raise AttributeError(f'module {self.__name__!r} has no attribute {name!r}')
        if _partial(self.__name__):  # inside a light import: just the submodule that defines the name
            sub = _exports.get(self.__name__, {}).get(name)
            if sub is None:  # e.g. ``from package import submodule``: the import system loads it
                raise AttributeError(f'module {self.__name__!r} has no attribute {name!r} (yet)')
            value = getattr(importlib.import_module(f'{self.__name__}.{sub}'), name)
            setattr(self, name, value)
            return value
        complete(self.__name__)
        return getattr(self, name)


def _relative_exports(spec):
    """{name: submodule} of the ``from .sub import ...`` statements of a package's __init__."""
    try:
        tree = ast.parse(spec.loader.get_source(spec.name) or '')
    except (OSError, SyntaxError, ImportError):
        return {}
    return {alias.asname or alias.name: node.module for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module and '.' not in node.module
            for alias in node.names if alias.name != '*'}


def defer(name):
    """Put package ``name`` in sys.modules without running its __init__ (its parents first). Returns False,
    changing nothing, when it is imported already or is not a package found on the path."""
    if name in sys.modules:
        return False
    parent, _, child = name.rpartition('.')
    if parent and parent not in sys.modules and not defer(parent):
        return False
    spec = PathFinder.find_spec(name, sys.modules[parent].__path__ if parent else None)
    if spec is None or spec.submodule_search_locations is None or not hasattr(spec.loader, 'exec_module'):
        return False
    module = importlib.util.module_from_spec(spec)
    module.__class__ = DeferredPackage
    _exports[name] = _relative_exports(spec)
    _deferred[name] = module
    sys.modules[name] = module
    if parent:
        setattr(sys.modules[parent], child, module)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return True


def pending(name):
    """The deferred package that ``name`` (a module name) is in or is, else None."""
    parts = name.split('.')
    for i in range(1, len(parts) + 1):
        if '.'.join(parts[:i]) in _deferred:
            return '.'.join(parts[:i])
    return None


def complete(name):
    """Run the __init__ of deferred package ``name`` now (and before it, its deferred parents')."""
    parts = name.split('.')
    for i in range(1, len(parts) + 1):
        module = _deferred.pop('.'.join(parts[:i]), None)
        if module is None:
            continue
        module.__class__ = types.ModuleType
        spec = module.__spec__
        spec._initializing = True
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(spec.name, None)  # as a failed import: the next import tries again
            raise
        finally:
            spec._initializing = False


def complete_all():
    """Run every deferred __init__ (a full import of those packages, in import order)."""
    while _deferred:
        complete(next(iter(_deferred)))


class _Existing:
    """Loader of a module that is in sys.modules already (imported while its deferred parent ran its __init__)."""

    def __init__(self, module):
        self.module, self.spec = module, module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        module.__spec__ = self.spec  # the import system set the shim's spec


class _CompletingFinder:
    """Before a submodule of a deferred package is imported (outside a light import), run the package's
    __init__, as a normal import would have."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        package = pending(name.rpartition('.')[0]) if '.' in name else None
        if package is None or _partial(package):
            return None
        complete(name.rpartition('.')[0])
        if name in sys.modules:  # imported by that __init__
            return importlib.util.spec_from_loader(name, _Existing(sys.modules[name]))
        return None


_FINDER = _CompletingFinder()


def light_import(module, defer_packages=(), partial=()):
    """Import ``module`` with ``defer_packages`` (those not imported yet) deferred: their __init__ files do not
    run now. Under the top packages named in ``partial`` the submodules that ``module`` imports load on their
    own (and a name it takes from such a package comes from the submodule that defines it); the other
    deferred packages only wait for their first use, which runs their __init__ as usual. Returns the module."""
    for name in defer_packages:
        defer(name)
    _light.append(frozenset(partial))
    try:
        return importlib.import_module(module)
    finally:
        _light.pop()
