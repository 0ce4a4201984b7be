"""Start-up: how long each tool takes to answer ``--help`` and to refuse a bad argument, and what a
real run pays for importing torch and basicsr once.

    python benchmarks/bench_startup.py [--repeats 5]

Each command runs in a fresh process (best of ``--repeats``); the goal is <= 2 s for --help.
"""
import argparse
import subprocess
import sys
import time

from common import ROOT, command_line, markdown_table, write_section

COMMANDS = [
    ('analysis/tools/srresnet/faig.py --help', ['analysis/tools/srresnet/faig.py', '--help']),
    ('analysis/tools/srresnet/faig.py --total_step 0', ['analysis/tools/srresnet/faig.py', '--total_step', '0']),
    ('analysis/tools/srresnet/comparison.py --help', ['analysis/tools/srresnet/comparison.py', '--help']),
    ('analysis/tools/srcnn_style/mask_neurons.py --proportions -5',
     ['analysis/tools/srcnn_style/mask_neurons.py', '--proportions', '-5']),
    ('analysis/scripts/filter_modulation.py --help', ['analysis/scripts/filter_modulation.py', '--help']),
    ('inference/inference_srresnet.py --help', ['inference/inference_srresnet.py', '--help']),
    ('python -m faig faig --net srresnet --help', ['-m', 'faig', 'faig', '--net', 'srresnet', '--help']),
    ('whole run: analysis/tools/srresnet/absolute_filter_change.py (bundled models; imports torch, not basicsr)',
     ['analysis/tools/srresnet/absolute_filter_change.py', '--record_filters_folder', '/tmp/faig_bench_abs']),
    ('for reference: python -c "import torch"', ['-c', 'import torch']),
    ('for reference: import torch + basicsr (faig.register())', ['-c', 'import faig; faig.register()']),
]


def best_time(args, repeats):
    best, code = float('inf'), None
    for _ in range(repeats):
        start = time.perf_counter()
        code = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True).returncode
        best = min(best, time.perf_counter() - start)
    return best, code


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    rows = []
    for label, command in COMMANDS:
        seconds, code = best_time(command, args.repeats)
        rows.append([f'`{label}`', f'{seconds:.2f}', code])
        print(rows[-1], flush=True)
    body = ('Wall time of a fresh process (best of %d), including the Python start. Tools parse and check their '
            'arguments before importing torch and basicsr, so `--help` and argument errors answer at once; a run '
            'that does work pays the last line once.\n\n' % args.repeats
            + markdown_table(['command', 'seconds', 'exit status'], rows))
    write_section('6. Start-up: --help and argument errors', command_line(), body)


if __name__ == '__main__':
    main()
