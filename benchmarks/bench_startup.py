"""Start-up: how long each tool takes to answer ``--help`` and to refuse a bad argument, and what a
real run pays for importing torch and basicsr once.

    python benchmarks/bench_startup.py [--repeats 5] [--before REV]

Each command runs in a fresh process (best of ``--repeats``); the goal is <= 0.5 s for --help, whatever
the other flags. ``--before REV``: the same commands also on the tree of git revision REV (extracted to a
temporary folder), in the same run, for a before/after comparison.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from common import ROOT, command_line, markdown_table, write_section

# an arch without a light import (faig.registration.LIGHT_ARCHS): checking it would import all of basicsr
NETWORK_G = '{type: EDSR, num_in_ch: 3, num_out_ch: 3, num_feat: 16, num_block: 2, upscale: 2}'

COMMANDS = [
    ('analysis/tools/srresnet/faig.py --help', ['analysis/tools/srresnet/faig.py', '--help']),
    ('analysis/tools/srresnet/faig.py --total_step 0', ['analysis/tools/srresnet/faig.py', '--total_step', '0']),
    ('analysis/tools/srresnet/comparison.py --help', ['analysis/tools/srresnet/comparison.py', '--help']),
    ('analysis/tools/srcnn_style/mask_neurons.py --proportions -5',
     ['analysis/tools/srcnn_style/mask_neurons.py', '--proportions', '-5']),
    ('analysis/scripts/filter_modulation.py --help', ['analysis/scripts/filter_modulation.py', '--help']),
    ('inference/inference_srresnet.py --help', ['inference/inference_srresnet.py', '--help']),
    ('python -m faig faig --net srresnet --help', ['-m', 'faig', 'faig', '--net', 'srresnet', '--help']),
    ('python -m faig --help', ['-m', 'faig', '--help']),
    *((f'python -m faig {tool} --network_g <small EDSR> --help', ['-m', 'faig', tool, '--network_g', NETWORK_G,
                                                                   '--help'])
      for tool in ('faig', 'random_neurons', 'comparison', 'inference')),
    ('whole run: analysis/tools/srresnet/absolute_filter_change.py (bundled models; imports torch, not basicsr)',
     ['analysis/tools/srresnet/absolute_filter_change.py', '--record_filters_folder', '/tmp/faig_bench_abs']),
    ('for reference: python -c "import torch"', ['-c', 'import torch']),
    ('for reference: import torch + basicsr (faig.register())', ['-c', 'import faig; faig.register()']),
]


def best_time(args, repeats, root=ROOT):
    """(least wall time, least CPU time (user + system), exit status) of ``python *args`` in the tree ``root``
    (its faig package, not an installed one). The CPU time is what a loaded machine changes least."""
    wall, cpu, code = float('inf'), float('inf'), None
    env = dict(os.environ, PYTHONPATH=root)
    for _ in range(repeats):
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, *args], cwd=root, capture_output=True, env=env).returncode
        wall = min(wall, time.perf_counter() - start)
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, now.ru_utime - used.ru_utime + now.ru_stime - used.ru_stime)
    return wall, cpu, code


def extract(revision, folder):
    """The files of git revision ``revision`` in ``folder``."""
    archive = subprocess.run(['git', '-C', ROOT, 'archive', revision], capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', folder], input=archive, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--before', default=None, help='git revision to time the same commands on, in this run')
    args = parser.parse_args()
    before = None
    if args.before:
        before = tempfile.mkdtemp(prefix='faig-startup-')
        extract(args.before, before)
    rows = []
    for label, command in COMMANDS:
        wall, cpu, code = best_time(command, args.repeats)
        row = [f'`{label}`', f'{wall:.2f}', f'{cpu:.2f}', code]
        if before:  # the --help and argument-error rows (whole runs and imports do not change)
            earlier = None if label.startswith(('whole run', 'for reference')) else best_time(command, args.repeats,
                                                                                               before)
            row[1:1] = [f'{earlier[0]:.2f}', f'{earlier[1]:.2f}'] if earlier else ['', '']
        rows.append(row)
        print(rows[-1], flush=True)
    if before:
        shutil.rmtree(before)
    header = ['command', 'wall s', 'CPU s', 'exit status']
    if before:
        header[1:3] = [f'wall s at {args.before}', f'CPU s at {args.before}', 'wall s now', 'CPU s now']
    body = ('Wall time and CPU time (user + system) of a fresh process (each the least of %d), including the Python '
            'start. Tools parse and check their arguments before importing torch and basicsr, so `--help` and '
            'argument errors answer at once, whatever the other flags (`python -m faig TOOL --network_g ... --help` '
            'no longer checks the arch, which imports basicsr, nor counts its filters); a run that does work pays the '
            'last line once.\n\n' % args.repeats + markdown_table(header, rows))
    write_section('6. Start-up: --help and argument errors', command_line(), body)


if __name__ == '__main__':
    main()
