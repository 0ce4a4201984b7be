"""YAML from option files, flags and state files, read as data and nothing else.

PyYAML's SafeLoader builds only plain values (no tags that construct objects, nothing evaluated); on top of
it, aliases may not expand beyond :data:`MAX_NODES` nodes nor refer to themselves: a "billion laughs" file of
a few hundred bytes would otherwise become billions of values as soon as the options are walked or printed.
Every problem is an :class:`~faig.errors.InputError` naming the source.
"""
import yaml
from yaml.nodes import MappingNode, SequenceNode

from faig.errors import InputError

MAX_NODES = 100_000  # values once every alias is expanded; option files hold a few hundred


class AliasBombError(yaml.YAMLError):
    """Aliases that expand too far, or into themselves."""


def _children(node):
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return ()


def expanded_size(root, limit=MAX_NODES):
    """Number of nodes of ``root`` with every alias expanded (shared nodes counted at each use), capped at
    ``limit + 1``; an alias inside the node it names is refused (it would expand forever)."""
    sizes, open_nodes, stack = {}, set(), [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = min(limit + 1, 1 + sum(sizes[id(child)] for child in _children(node)))
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise AliasBombError('an alias refers to the node that holds it (a recursive structure)')
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


class LimitedLoader(yaml.SafeLoader):
    """SafeLoader that refuses a document whose aliases expand to more than MAX_NODES nodes."""

    def compose_document(self):
        node = super().compose_document()
        if node is not None and expanded_size(node) > MAX_NODES:
            raise AliasBombError(f'its aliases expand to more than {MAX_NODES} values; write the values out')
        return node


def _problem(exc):
    """One line on a YAML error: the parser's problem and where, or the decoding error."""
    if isinstance(exc, AliasBombError):
        return str(exc)
    if isinstance(exc, yaml.reader.ReaderError):
        if exc.encoding == 'unicode':  # a character YAML does not allow
            return f'unacceptable character U+{exc.character:04X} at position {exc.position}'
        return f'not {exc.encoding} text: byte 0x{exc.character:02x} at position {exc.position}'
    problem = getattr(exc, 'problem', None) or str(exc).splitlines()[0]
    mark = getattr(exc, 'problem_mark', None)
    return f'{problem} at line {mark.line + 1}, column {mark.column + 1}' if mark is not None else problem


def load(text, source):
    """The value of the YAML document ``text`` (str or bytes); ``source`` names it in the error."""
    try:
        return yaml.load(text, Loader=LimitedLoader)
    except yaml.YAMLError as exc:
        raise InputError(f'{source}: not valid YAML ({_problem(exc)})') from None
    except RecursionError:
        raise InputError(f'{source}: not valid YAML (nested too deeply)') from None


def load_file(path, source=None):
    """The value of the YAML file ``path`` (bytes decoded by the YAML reader: UTF-8, or UTF-16 with a BOM)."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as exc:
        raise InputError(f'{source or path}: cannot read ({exc.strerror or exc})') from None
    return load(data, source or path)


def parse_value(text, source):
    """One value given on the command line as YAML (``~`` is None, ``no`` False, ``[1, 2]`` a list, ...)."""
    return load(text, source)
