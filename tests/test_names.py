"""A degradation or a network is named in the specs (faig/specs.py), nowhere else in the code of faig/ and
scripts/: the tools, the studies and the library take the names from the registries, so that registering
another network or degradation is all a study of it needs.

The rule this test applies: every string in the code counts -- constants, dict keys, the literal parts of
f-strings, help texts -- except docstrings (prose that explains, not code that decides). A string names a
degradation or network when it holds one of the registered names as a whole token: a degradation's name or
its LR test folder, a network's name, flag prefix or arch type, or the clean LR folder. A token is not part
of a longer word or number, so ``'blur_index.txt'``, ``'--blur_folder'`` and ``'(default blur)'`` name blur,
while ``'deblurring'`` and the file extension ``'.jpeg'`` do not. Help texts that name the bundled default
build the name from the specs (``f'default {DEFAULT_PAIR[0]}'``); the original's flags of its two
degradations are made from ``ORIGINAL_PAIR`` (faig.cli.args.original_folder_flag)."""
import ast
import os
import os.path as osp
import re

from conftest import REPO

from faig.specs import CLEAN_FOLDER, DEGRADATIONS, NETWORKS

SCANNED = ('faig', 'scripts')
ALLOWED = {  # where names may be written, and why
    'faig/specs.py': 'the registries themselves',
    'faig/archs/': "an arch's own module names its type in its own messages",
    'faig/data/div2k_interpret_dataset.py': "the original's dataset keys (kernel_prob ... noise_list) and their pair",
}
# Files that still write names, to be converted to the registries; each is listed until it is clean (a test
# below fails for a listed file with no name left, so that the list only shrinks).
NOT_YET_CONVERTED = set()


def registered_names():
    names = {CLEAN_FOLDER}
    for spec in DEGRADATIONS.values():
        names |= {spec.name, spec.folder}
    for spec in NETWORKS.values():
        names |= {spec.name, spec.flag_prefix, spec.arch_type}
    return names


def name_pattern(names):
    """A registered name as a whole token: no letter, digit or '.' before it, no letter or digit after it."""
    alternatives = '|'.join(map(re.escape, sorted(names, key=len, reverse=True)))
    return re.compile(rf'(?<![A-Za-z0-9.])({alternatives})(?![A-Za-z0-9])')


def docstring_nodes(tree):
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def named_in(source, pattern):
    """[(line, name, string)] of the strings of ``source`` that name a registered name (docstrings aside)."""
    tree = ast.parse(source)
    docstrings = docstring_nodes(tree)
    hits = []
    for node in ast.walk(tree):  # f-string parts and dict keys are Constant nodes too
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            hits += [(node.lineno, name, node.value) for name in dict.fromkeys(pattern.findall(node.value))]
    return sorted(hits)


def code_files():
    for top in SCANNED:
        for folder, _, files in os.walk(osp.join(REPO, top)):
            for file in sorted(files):
                if file.endswith('.py'):
                    yield osp.relpath(osp.join(folder, file), REPO).replace(os.sep, '/')


def allowed(path):
    return any(path == place or (place.endswith('/') and path.startswith(place)) for place in ALLOWED)


def hits_by_file():
    pattern = name_pattern(registered_names())
    return {path: named_in(open(osp.join(REPO, path), encoding='utf-8').read(), pattern) for path in code_files()}


def test_no_degradation_or_network_named_outside_the_specs():
    found = hits_by_file()
    assert len(found) > 50  # every file was read
    problems = [f'{path}:{line}: {name!r} in {text!r}' for path, hits in found.items()
                if not allowed(path) and path not in NOT_YET_CONVERTED for line, name, text in hits]
    assert problems == [], 'names to take from faig.specs:\n' + '\n'.join(problems)


def test_the_lists_of_exceptions_only_shrink():
    found = hits_by_file()
    clean = sorted(path for path in NOT_YET_CONVERTED if path in found and not found[path])
    assert clean == [], f'no name left in these files: remove them from NOT_YET_CONVERTED: {clean}'
    assert all(osp.exists(osp.join(REPO, place)) for place in (*ALLOWED, *NOT_YET_CONVERTED))


def test_the_scan_sees_keys_fstrings_and_help_but_not_docstrings_or_other_words():
    source = '''"""blur in the module docstring."""
LEVELS = {'blur': 2.0}


def folder(deg, root):
    """noise in a docstring."""
    parser.add_argument('--kernel', help='sigma (default noise)')
    name = 'deblurring.jpeg'
    return f'{root}/Blur2_LRbicx2/{deg}_index.txt', f'--{deg}_x', f'srcnn_style_{deg}', 'MSRResNet'
'''
    hits = named_in(source, name_pattern(registered_names()))
    assert [(line, name) for line, name, _ in hits] == [
        (2, 'blur'), (7, 'noise'), (9, 'Blur2_LRbicx2'), (9, 'MSRResNet'), (9, 'srcnn_style')]
