"""The project speaks of itself: README, docs and every tool's --help never mention how the work was organised
(sessions, issue numbers). The training history, in experiments/pretrained/README.md, is told by date,
iterations and checkpoints."""
import glob
import os.path as osp
import re

import pytest

from conftest import REPO

WORK_WORDS = re.compile(r'\bsessions?\b|\bissues? #?\d+|(?<![\w/&])#\d+\b', re.IGNORECASE)
DOCS = ['README.md', 'results/README.md', 'experiments/README.md', 'experiments/pretrained/README.md', *sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'docs', '**', '*.md'), recursive=True))]
TOOLS = sorted(osp.relpath(p, REPO) for pattern in ('scripts/*.py', 'analysis/scripts/*.py', 'analysis/tools/*/*.py',
                                                    'inference/*.py', 'train.py', 'examples/*.py')
               for p in glob.glob(osp.join(REPO, pattern)))


def offending(text):
    return sorted({m.group(0) for m in WORK_WORDS.finditer(text)})


@pytest.mark.parametrize('path', [p for p in DOCS if osp.isfile(osp.join(REPO, p))])
def test_docs_speak_of_the_project(path):
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        assert offending(f.read()) == [], path


def test_every_help_speaks_of_the_project(in_process):
    """Every tool's --help, and the faig command's."""
    tools = [t for t in TOOLS if not t.startswith('examples/')]
    helps = {tool: in_process([tool, '--help']).stdout for tool in tools}
    for args in (['--help'], ['study', '--help']):
        helps['python -m faig ' + ' '.join(args)] = in_process(['-m', 'faig', *args]).stdout
    assert all(helps[t].strip() for t in tools), [t for t in tools if not helps[t].strip()]
    bad = {tool: offending(text) for tool, text in helps.items() if offending(text)}
    assert bad == {}


def test_code_comments_speak_of_the_project():
    sources = [p for pattern in ('faig/**/*.py', 'scripts/*.py', 'analysis/**/*.py', 'inference/*.py', 'train.py',
                                 'examples/*.py', 'benchmarks/*.py', 'options/**/*.yml')
               for p in glob.glob(osp.join(REPO, pattern), recursive=True)]
    bad = {}
    for path in sources:
        with open(path, encoding='utf-8') as f:
            found = offending(f.read())
        if found:
            bad[osp.relpath(path, REPO)] = found
    assert bad == {}
