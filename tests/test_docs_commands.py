"""Every command line the documentation shows names a script that exists and flags that script takes.

Commands are read from README.md, docs/*.md and the markdown beside the bundled models and results
(inline code and code blocks, continuation lines joined); each script's ``--help`` is asked once, so a
renamed or dropped flag fails here instead of in a reader's terminal.
"""
import glob
import os
import os.path as osp
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS = ['README.md', *sorted(glob.glob(osp.join(REPO, 'docs', '*.md'))),
        'experiments/pretrained/README.md', *sorted(glob.glob(osp.join(REPO, 'results', '**', '*.md'), recursive=True))]
COMMAND = re.compile(r'python3? (-m faig [a-z_]+|[A-Za-z0-9_./-]+\.py)([^`|;&#\n]*)')
FLAG = re.compile(r'(?<![\w-])(--[a-z][a-z0-9_-]*)')
# BasicSR's own command line (basicsr.utils.options.parse_options), which train.py passes on
TRAIN_FLAGS = {'-opt', '--launcher', '--auto_resume', '--debug', '--local_rank', '--force_yml'}


def doc_commands():
    """{script: {flag: [doc file, ...]}} of every ``python <script>`` shown in the docs."""
    found = {}
    for doc in DOCS:
        path = doc if osp.isabs(doc) else osp.join(REPO, doc)
        if not osp.isfile(path):
            continue
        with open(path, encoding='utf-8') as f:
            text = re.sub(r'\\\n\s*', ' ', f.read())  # shell continuation lines
        for script, rest in COMMAND.findall(text):
            if script.startswith(('/', 'tests/')):  # a placeholder path, or a test run as a script
                continue
            flags = found.setdefault(script, {})
            for flag in FLAG.findall(re.sub(r'"[^"]*"|\'[^\']*\'', '', rest)):  # not inside quoted values
                flags.setdefault(flag, []).append(osp.relpath(path, REPO))
    return found


def help_words(script):
    """The words of ``script``'s --help (``python -m faig TOOL`` asked with a registered network)."""
    if script.startswith('-m faig'):
        cmd = [sys.executable, '-m', 'faig', script.split()[-1], '--net', 'srresnet', '--help']
    else:
        cmd = [sys.executable, osp.join(REPO, script), '--help']
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert res.returncode == 0, f'{script} --help failed: {res.stderr[-400:]}'
    return {word.strip(',[]()=') for word in res.stdout.replace('=', ' ').split()}


def test_the_docs_show_commands():
    """Sanity of the reader: the main commands are found with their flags."""
    found = doc_commands()
    assert '--nets' in found['scripts/reproduce.py'] and '--continue' in found['scripts/train_cpu_models.py']
    assert '-m faig faig' in found and 'train.py' in found


def test_every_documented_command_exists_with_its_flags():
    found = doc_commands()
    missing = [script for script in found if not script.startswith('-m ') and not osp.isfile(osp.join(REPO, script))]
    assert not missing, f'scripts named in the docs that do not exist: {missing}'
    asked = {script: flags for script, flags in found.items() if flags and script != 'train.py'}
    with ThreadPoolExecutor(2) as pool:
        helps = dict(zip(asked, pool.map(help_words, asked)))
    wrong = [f'{script} {flag} ({", ".join(sorted(set(docs)))})'
             for script, flags in asked.items() for flag, docs in flags.items() if flag not in helps[script]]
    wrong += [f'train.py {flag} ({", ".join(sorted(set(docs)))})'
              for flag, docs in found.get('train.py', {}).items() if flag not in TRAIN_FLAGS]
    assert not wrong, 'flags the docs show that the script does not take:\n' + '\n'.join(wrong)


@pytest.mark.parametrize('line,script,flags', [
    ('run `python scripts/reproduce.py --full --nets srresnet` then', 'scripts/reproduce.py', ['--full', '--nets']),
    ('python analysis/tools/srresnet/faig.py --total_step 100 \\\n    --resume  # comment --not_this',
     'analysis/tools/srresnet/faig.py', ['--total_step', '--resume']),
    ('`python -m faig faig --net x --steps 3` | `--other`', '-m faig faig', ['--net', '--steps']),
    ('python benchmarks/b.py --section "3b. with --fast" --lr_size 4', 'benchmarks/b.py', ['--section', '--lr_size']),
])
def test_reader_takes_the_flags_of_one_command(tmp_path, monkeypatch, line, script, flags):
    doc = tmp_path / 'doc.md'
    doc.write_text(line)
    monkeypatch.setattr(sys.modules[__name__], 'DOCS', [str(doc)])
    assert {script: sorted(v) for script, v in doc_commands().items()} == {script: sorted(flags)}
