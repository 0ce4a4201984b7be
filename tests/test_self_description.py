"""The project speaks of itself: README, docs and every tool's --help never mention how the work was organised
(sessions, issue numbers). The training history, in experiments/pretrained/README.md, is told by date,
iterations and checkpoints."""
import glob
import os.path as osp
import re
import subprocess
import sys

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


def test_every_help_speaks_of_the_project():
    """Every tool's --help (one process runs them all, in process, to keep the test short)."""
    code = r'''
import contextlib, io, runpy, sys
out = {}
for path in sys.argv[1:]:
    buffer = io.StringIO()
    sys.argv = [path, '--help']
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        try:
            runpy.run_path(path, run_name='__main__')
        except SystemExit:
            pass
    out[path] = buffer.getvalue()
import faig.__main__ as m
for args in (['--help'], ['study', '--help']):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            m.main(args)
        except SystemExit:
            pass
    out['python -m faig ' + ' '.join(args)] = buffer.getvalue()
import json
print(json.dumps(out))
'''
    tools = [t for t in TOOLS if not t.startswith('examples/')]
    res = subprocess.run([sys.executable, '-c', code, *tools], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    import json
    helps = json.loads(res.stdout.strip().splitlines()[-1])
    assert all(helps[t].strip() for t in tools), [t for t in tools if not helps[t].strip()]
    bad = {tool: offending(text) for tool, text in helps.items() if offending(text)}
    assert bad == {}


def test_code_comments_speak_of_the_project():
    sources = [p for pattern in ('faig/**/*.py', 'scripts/*.py', 'analysis/**/*.py', 'inference/*.py', 'train.py',
                                 'examples/*.py', 'benchmarks/*.py')
               for p in glob.glob(osp.join(REPO, pattern), recursive=True)]
    bad = {}
    for path in sources:
        with open(path, encoding='utf-8') as f:
            found = offending(f.read())
        if found:
            bad[osp.relpath(path, REPO)] = found
    assert bad == {}
