"""Dependencies between the modules of ``faig/`` point one way (docs of the layers: the library below, the
command lines on top). Every module is parsed, imports inside functions included:

- no module outside ``faig/cli/`` imports ``faig.cli`` (the library never needs the command line);
  ``faig/__main__.py``, the ``python -m faig`` entry, is the one adapter outside it;
- no import circle among the modules;
- no circle among the sub-packages and top-level modules either (``faig.data`` -> ``faig.outputs`` ->
  ``faig.data`` is a lower layer reaching up, even when no module circle closes).
"""
import ast
import os
import os.path as osp

import pytest

from conftest import REPO

ENTRY_POINTS = {'faig.__main__'}  # adapters that live outside faig/cli/


def module_files(root):
    """{module name: path} of every .py file of the package at ``root/faig``."""
    files = {}
    for folder, _, names in os.walk(osp.join(root, 'faig')):
        for name in names:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                parts = osp.relpath(path, root)[:-3].split(os.sep)
                files['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
    return files


def imported_names(path, module):
    """(line, absolute dotted name) of every import in the module's source, at any depth; ``from a import b``
    gives ``a.b`` (a submodule or a name of ``a``); relative imports are resolved; so are
    ``importlib.import_module`` calls with a literal name."""
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    package = module if path.endswith('__init__.py') else module.rpartition('.')[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')
                base = '.'.join(parts[:len(parts) - node.level + 1])
                source = f'{base}.{node.module}' if node.module else base
            else:
                source = node.module
            for alias in node.names:
                yield node.lineno, f'{source}.{alias.name}'
        elif (isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'import_module' and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


def import_graph(root):
    """{module: {imported faig module: line}}; a name resolves to the longest module it starts with (a package
    import ``faig.x`` is an import of ``faig/x/__init__.py``)."""
    files = module_files(root)
    graph = {}
    for module, path in files.items():
        edges = graph.setdefault(module, {})
        for line, name in imported_names(path, module):
            parts = name.split('.')
            while parts and '.'.join(parts) not in files:
                parts.pop()
            target = '.'.join(parts)
            if target and target != module:
                edges.setdefault(target, line)
    return graph


def find_cycle(graph):
    """One import circle as [a, b, ..., a], or None (depth-first search, in name order)."""
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 'done'
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def describe(cycle, graph):
    return ' -> '.join(f'{a} (line {graph[a][b]})' for a, b in zip(cycle, cycle[1:])) + f' -> {cycle[-1]}'


def unit(module):
    """The sub-package or top-level module a module belongs to (``faig.data.lr_sets`` -> ``faig.data``)."""
    return '.'.join(module.split('.')[:2])


def unit_graph(graph):
    """The import graph between sub-packages and top-level modules (the package ``faig`` itself left out);
    an edge's line is that of one module import that makes it."""
    units = {}
    for module, edges in graph.items():
        for target, line in edges.items():
            if module != 'faig' and target != 'faig' and unit(module) != unit(target):
                units.setdefault(unit(module), {}).setdefault(unit(target), f'{line} of {module} -> {target}')
    return units


def cli_imports(graph):
    return [f'{module} (line {line}) imports {target}' for module, edges in sorted(graph.items())
            for target, line in sorted(edges.items())
            if (target == 'faig.cli' or target.startswith('faig.cli.')) and not module.startswith('faig.cli')
            and module not in ENTRY_POINTS]


@pytest.fixture(scope='module')
def graph():
    return import_graph(REPO)


def test_the_library_never_imports_the_command_line(graph):
    assert len(graph) > 50  # every module was read
    assert cli_imports(graph) == []


def test_no_import_circle_among_modules(graph):
    cycle = find_cycle(graph)
    assert cycle is None, f'import circle: {describe(cycle, graph)}'


def test_no_circle_among_subpackages(graph):
    units = unit_graph(graph)
    cycle = find_cycle(units)
    assert cycle is None, 'circle between sub-packages: ' + ' -> '.join(
        f'{a} (line {units[a][b]})' for a, b in zip(cycle, cycle[1:]))


def test_the_checks_find_circles_and_command_line_imports(tmp_path):
    """The parser sees imports inside functions and relative ones; so it would see the faults above."""
    files = {
        'faig/__init__.py': '',
        'faig/cli/__init__.py': 'from .args import positive_int\n',
        'faig/cli/args.py': 'def positive_int(text):\n    return int(text)\n',
        'faig/core.py': 'def f():\n    from .methods import g\n    return g\n',
        'faig/methods/__init__.py': '',
        'faig/methods/run.py': ('from .. import core\n\n\ndef h():\n'
                                '    from faig.cli.args import positive_int\n    return positive_int\n'),
        'faig/methods/g.py': 'import faig.core\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(str(tmp_path))
    assert graph['faig.cli'] == {'faig.cli.args': 1}
    assert graph['faig.methods.run'] == {'faig.core': 1, 'faig.cli.args': 5}
    assert cli_imports(graph) == ['faig.methods.run (line 5) imports faig.cli.args']
    assert find_cycle(graph) == ['faig.core', 'faig.methods.g', 'faig.core']
    assert describe(find_cycle(graph), graph) == 'faig.core (line 2) -> faig.methods.g (line 1) -> faig.core'
    assert find_cycle(unit_graph(graph)) == ['faig.core', 'faig.methods', 'faig.core']
    del graph['faig.core']['faig.methods.g']  # without the function-level import: no circle left
    assert find_cycle(graph) is None
