"""Every command line the documentation shows names a script that exists and flags that script takes.

Commands are read from the committed markdown (README.md, docs/, the notes beside the bundled models and
the committed studies; generated reports are not documentation): inline code and code blocks, continuation
lines joined, ``python [-X ...] <script>``, ``python -m faig TOOL`` and ``torchrun [...] <script>``, with
``<net>`` standing for each network. Each script's ``--help`` is asked once and only its option strings
count, so a renamed or dropped flag fails here instead of in a reader's terminal.
"""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
NETS = ('srresnet', 'srcnn_style')
COMMAND = re.compile(r'(?:python3?(?: -[XW] \S+| -u)*|torchrun(?: --?[a-z][\w-]*(?:[ =][^\s-]\S*)?)*) '
                     r'(-m faig [a-z_]+|[A-Za-z0-9_./<>-]+\.py)([^`|;&#\n]*)')
FLAG = re.compile(r'(?<![\w=:-])(--?[a-z][a-z0-9_-]*)')
OPTION_LINE = re.compile(r'^\s+-')


def doc_files():
    """The committed markdown files (``git ls-files``; a copy without git: every markdown file outside results/)."""
    try:
        names = subprocess.run(['git', 'ls-files', '*.md'], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        names = [osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, '**', '*.md'), recursive=True)
                 if not osp.relpath(p, REPO).startswith('results' + os.sep)]
    return [osp.join(REPO, n) for n in names if not n.startswith(('tests/', '.'))]


DOCS = doc_files()


def doc_commands():
    """{(script, net): {flag: [doc file, ...]}} of every command shown in the docs (net: what ``--net`` a
    ``python -m faig`` command gives, else None)."""
    found = {}
    for path in DOCS:
        if not osp.isfile(path):
            continue
        with open(path, encoding='utf-8') as f:
            text = re.sub(r'\\\n\s*', ' ', f.read())  # shell continuation lines
        for script, rest in COMMAND.findall(text):
            if script.startswith(('/', 'tests/')):  # a placeholder path, or a test run as a script
                continue
            rest = re.sub(r'"[^"]*"|\'[^\']*\'', '', rest)  # flags inside quoted values are not the command's
            net = None
            if script.startswith('-m faig'):
                given = re.search(r'--net (\w+)', rest)
                net = given.group(1) if given else 'srresnet'
            for name in ([script.replace('<net>', n) for n in NETS] if '<net>' in script else [script]):
                flags = found.setdefault((name, net), {})
                for flag in FLAG.findall(rest):
                    flags.setdefault(flag, []).append(osp.relpath(path, REPO))
    return found


def option_strings(help_text):
    """The option strings argparse lists in ``help_text`` (not words of the help prose)."""
    options = set()
    for line in help_text.splitlines():
        if OPTION_LINE.match(line):
            column = re.split(r'\s{2,}', line.strip())[0]
            options.update(part.split()[0].split('=')[0] for part in column.split(', '))
    return options


def help_options(in_process, key):
    script, net = key
    if script.startswith('-m faig'):
        res = in_process(['-m', 'faig', script.split()[-1], '--net', net, '--help'])
    else:
        res = in_process([script, '--help'])
    assert res.returncode == 0, f'{script} --help failed: {res.stderr[-400:]}'
    extra = {'--net', '--network_g'} if script.startswith('-m faig') else set()  # python -m faig's own
    return option_strings(res.stdout) | extra


def test_the_docs_show_commands():
    """Sanity of the reader: the main commands are found with their flags, generated reports are not read."""
    found = doc_commands()
    assert '--nets' in found[('scripts/reproduce.py', None)]
    assert '--continue' in found[('scripts/train_cpu_models.py', None)]
    assert ('-m faig faig', 'srresnet') in found and '-opt' in found[('train.py', None)]
    assert not any(osp.relpath(d, REPO).startswith('results/Interpret') for d in DOCS)


def test_every_documented_command_exists_with_its_flags(in_process):
    found = doc_commands()
    missing = sorted({s for s, _ in found if not s.startswith('-m ') and not osp.isfile(osp.join(REPO, s))})
    assert not missing, f'scripts named in the docs that do not exist: {missing}'
    asked = {key: flags for key, flags in found.items() if flags}
    helps = {key: help_options(in_process, key) for key in asked}
    wrong = [f'{script} {flag} ({", ".join(sorted(set(docs)))})'
             for (script, net), flags in asked.items() for flag, docs in flags.items() if flag not in helps[(script, net)]]
    assert not wrong, 'flags the docs show that the script does not take:\n' + '\n'.join(wrong)


def test_option_strings_are_the_options_only():
    text = ('usage: x.py [-h] [--continue {a,b} | --continue_target]\n\noptions:\n'
            '  -h, --help            show this help message and exit\n'
            '  --continue {a,b}      one more period\n'
            '  --continue_target     the same as --continue a; see --not_an_option\n'
            '  --force_yml KEY=VALUE [KEY=VALUE ...]\n'
            '                        overrides, e.g. --also_not\n'
            '  -opt OPT              the file\n')
    assert option_strings(text) == {'-h', '--help', '--continue', '--continue_target', '--force_yml', '-opt'}


@pytest.mark.parametrize('line,expected', [
    ('run `python scripts/reproduce.py --full --nets srresnet` then', {('scripts/reproduce.py', None): ['--full', '--nets']}),
    ('python analysis/tools/srresnet/faig.py --total_step 100 \\\n    --resume  # comment --not_this',
     {('analysis/tools/srresnet/faig.py', None): ['--resume', '--total_step']}),
    ('`python -m faig comparison --net srcnn_style --steps 3` | `--other`',
     {('-m faig comparison', 'srcnn_style'): ['--net', '--steps']}),
    ('python benchmarks/b.py --section "3b. with --fast" --lr_size 4', {('benchmarks/b.py', None): ['--lr_size', '--section']}),
    ('torchrun --nproc_per_node 2 analysis/tools/srresnet/faig.py --layout contiguous',
     {('analysis/tools/srresnet/faig.py', None): ['--layout']}),
    ('python -X importtime x/faig.py --fast', {('x/faig.py', None): ['--fast']}),
    ('python train.py -opt a.yml --force_yml train:x=-1 name=-y', {('train.py', None): ['--force_yml', '-opt']}),
    ('python inference/inference_<net>.py --model_path m',
     {('inference/inference_srresnet.py', None): ['--model_path'], ('inference/inference_srcnn_style.py', None): ['--model_path']}),
])
def test_reader_takes_the_flags_of_one_command(tmp_path, monkeypatch, line, expected):
    doc = tmp_path / 'doc.md'
    doc.write_text(line)
    monkeypatch.setattr(sys.modules[__name__], 'DOCS', [str(doc)])
    assert {key: sorted(v) for key, v in doc_commands().items()} == expected
