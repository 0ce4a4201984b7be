"""Whole processes: ``analysis/tools/<net>/faig.py --fast`` against the original algorithm at 100 steps.

    python benchmarks/bench_whole_process.py [--net srresnet] [--images astronaut camera chelsea coffee]
                                             [--lr_size 48] [--steps 100] [--repeats 3] [--original_repeats 1]
                                             [--against TREE] [--before] [--breakdown]

What a user waits for: each run is a fresh interpreter (imports, model loading, hashing, image checks,
the passes, writing the rankings), on the same centre crops (faig.data.lr_sets.crop_test_set, LR
``--lr_size`` px) of ``--images``. The original (benchmarks/original_process.py: original_style.py's loop as a
script, importing all of basicsr as the original did) and ``--fast`` run in turns, ``--repeats`` times each
(the original ``--original_repeats`` times: it takes minutes); the table gives the median wall time and the
median CPU time (less sensitive to load). ``--fast`` runs twice per turn: as a new user's first run (an empty
layout cache: ``--layout auto`` measures) and with the layout cached (as on a machine where faig.py ran before).
``--against TREE`` (another checkout, e.g. ``git worktree add --detach ../before <rev>``) runs that tree's
``--fast`` the same way in the same turns, for a before/after comparison. ``--before`` adds the settings of
--fast before 2026-12-01 (gauss_legendre with 8 nodes, after the full basicsr import); ``--breakdown`` times the
phases of one --fast run of each tree (and of the --before run) with benchmarks/stamped_run.py
(FAIG_BENCH_CLOCK=cpu: in CPU seconds). Children inherit the environment: run it under ``OMP_NUM_THREADS=1``
(and ``nice``) as in docs/benchmarks.md.
"""
import argparse
import json
import os
import os.path as osp
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from common import ROOT, command_line, markdown_table, top_overlap, write_section
from faig.attribution.modes import FAST_MODE
from faig.data.lr_sets import crop_test_set

BEFORE_SETTINGS = ['--quadrature', 'gauss_legendre', '--total_step', '8']  # FAST_MODE before 2026-12-01
FULL_IMPORT_FIRST = ("import runpy, sys; import faig; faig.register(); sys.argv = sys.argv[1:]; "
                     "runpy.run_path(sys.argv[0], run_name='__main__')")
ROLES = {'gt': 'GTmod12', 'blur': 'Blur2_LRbicx2', 'noise': 'LRbicx2_noise0.1', 'clean': 'Linear_LRbicx2'}


def make_inputs(dataroot, names, lr_size, folder):
    """Centre crops of ``names`` as the attribution tools read them (one folder per role)."""
    src = osp.join(folder, 'src')
    for role, sub in ROLES.items():
        os.makedirs(osp.join(src, sub), exist_ok=True)
        for name in names:
            os.symlink(osp.abspath(osp.join(dataroot, sub, f'{name}.png')), osp.join(src, sub, f'{name}.png'))
    data = osp.join(folder, 'data')
    crop_test_set(src, data, lr_size, 2, [ROLES[r] for r in ('blur', 'noise', 'clean')])
    return data


def run(cmd, env, tree=ROOT):
    """(wall seconds, CPU seconds of the child) of one process in ``tree``; a failure stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env={**env, 'PYTHONPATH': tree}, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f'{" ".join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}')
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def read_rankings(folder):
    return {deg: np.loadtxt(osp.join(folder, f'{deg}_index.txt'), dtype=np.int64) for deg in ('blur', 'noise')}


def tool_args(net, data, out):
    return [f'analysis/tools/{net}/faig.py', '--gt_folder', osp.join(data, ROLES['gt']),
            '--blur_folder', osp.join(data, ROLES['blur']), '--noise_folder', osp.join(data, ROLES['noise']),
            '--record_filters_folder', out, '--force']


def breakdown(variants, env, work):
    """{variant: stamped_run record} of one run each (``variants``: label, tool arguments, environment, tree)."""
    records = {}
    for label, args, extra, tree in variants:
        out = osp.join(work, f'stamps_{len(records)}.json')
        run([sys.executable, osp.join(ROOT, 'benchmarks', 'stamped_run.py'), f'{out}@{time.time()}', *args],
            {**env, **extra}, tree)
        with open(out) as f:
            records[label] = json.load(f)
    return records


def breakdown_table(records):
    labels = list(records)
    rows = []

    def add(name, values):
        if any(v >= 0.005 for v in values):
            rows.append([name] + [f'{v:.2f}' for v in values])

    add('interpreter start (python, site)', [r['interpreter_start_seconds'] or 0.0 for r in records.values()])
    packages = sorted({p for r in records.values() for p in r['imports']},
                      key=lambda p: -max(r['imports'].get(p, 0.0) for r in records.values()))
    for p in packages:
        add(f'import {p}', [r['imports'].get(p, 0.0) for r in records.values()])
    phases = sorted({p for r in records.values() for p in r['phases']},
                    key=lambda p: -max(r['phases'].get(p, 0.0) for r in records.values()))
    for p in phases:
        add(p, [r['phases'].get(p, 0.0) for r in records.values()])
    rows.append(['**whole process**'] + [f'**{(r["interpreter_start_seconds"] or 0) + r["script_seconds"]:.2f}**'
                                         for r in records.values()])
    return markdown_table(['phase (s)', *labels], rows)


def main():
    work = tempfile.mkdtemp(prefix='faig_whole_')
    try:
        measure(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(work):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', default='srresnet', choices=('srresnet', 'srcnn_style'))
    parser.add_argument('--images', nargs='+', default=['astronaut', 'camera', 'chelsea', 'coffee'])
    parser.add_argument('--lr_size', type=int, default=48)
    parser.add_argument('--dataroot', default='datasets/SampleSet')
    parser.add_argument('--steps', type=int, default=100, help="the original's steps")
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--original_repeats', type=int, default=1, help='runs of the original (minutes each)')
    parser.add_argument('--against', default=None, metavar='TREE',
                        help="another checkout whose --fast runs in the same turns (a before/after comparison)")
    parser.add_argument('--before', action='store_true', help='also the --fast settings before 2026-12-01')
    parser.add_argument('--breakdown', action='store_true', help='also where one --fast run spends its time')
    parser.add_argument('--no_doc', action='store_true', help='print only (do not write docs/benchmarks.md)')
    args = parser.parse_args()
    data = make_inputs(osp.join(ROOT, args.dataroot), args.images, args.lr_size, work)
    trees = {'now': ROOT, **({'against': osp.abspath(args.against)} if args.against else {})}
    out = {'original': osp.join(work, 'original')}
    variants = [('original', ROOT, [sys.executable, 'benchmarks/original_process.py', '--net', args.net, '--dataroot',
                                    data, '--steps', str(args.steps), '--out', out['original']], False)]
    for name, tree in trees.items():
        for cache in ('first', 'cached'):
            key = f'{name} {cache}'
            out[key] = osp.join(work, key.replace(' ', '_'))
            variants.append((key, tree, [sys.executable, *tool_args(args.net, data, out[key]), '--fast'],
                             cache == 'first'))
    if args.before:
        out['before'] = osp.join(work, 'before')
        variants.append(('before', ROOT, [sys.executable, '-c', FULL_IMPORT_FIRST,
                                          *tool_args(args.net, data, out['before']), *BEFORE_SETTINGS], False))
    times = {key: [] for key, *_ in variants}
    for turn in range(max(args.repeats, args.original_repeats)):
        for key, tree, cmd, fresh_cache in variants:
            if turn >= (args.original_repeats if key == 'original' else args.repeats):
                continue
            cache = osp.join(work, f'layout_{turn}_{key}.json' if fresh_cache else f'layout_{tree == ROOT}.json')
            times[key].append(run(cmd, {**os.environ, 'FAIG_LAYOUT_CACHE': cache}, tree))
            print(f'turn {turn + 1}: {key} {times[key][-1][0]:.1f} s wall, {times[key][-1][1]:.1f} s CPU', flush=True)
    median = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    reference = read_rankings(out['original'])
    labels = {'original': f'original algorithm, riemann_left N={args.steps} (benchmarks/original_process.py)',
              'before': '`faig.py` with --fast as before 2026-12-01 (gauss_legendre N=8, full basicsr import)'}
    for name in trees:
        which = 'this tree' if name == 'now' else args.against
        labels[f'{name} first'] = f'`faig.py --fast` of {which}, a new user\'s first run (empty layout cache)'
        labels[f'{name} cached'] = f'`faig.py --fast` of {which}, layout cached'
    rows = []
    for key, *_ in variants:
        wall, cpu = median[key]
        row = [labels[key], str(len(times[key])), f'{wall:.1f}', f'{cpu:.1f}', f'{median["original"][0] / wall:.1f}×',
               f'{median["original"][1] / cpu:.1f}×']
        if key == 'original':
            row += ['-', '-', '-']
        else:
            ranks = read_rankings(out[key])
            row += [f'{top_overlap(reference["blur"], ranks["blur"], 0.01):.4f}',
                    f'{top_overlap(reference["noise"], ranks["noise"], 0.01):.4f}',
                    f'{top_overlap(reference["blur"], ranks["blur"], 0.10):.4f}']
        rows.append(row)
        print(row, flush=True)
    header = ['process', 'runs', 'median wall (s)', 'median CPU (s)', 'speed-up, wall', 'speed-up, CPU',
              'top-1% overlap blur', 'top-1% overlap noise', 'top-10% overlap blur']
    threads = os.environ.get('OMP_NUM_THREADS', 'all')
    body = (f'{args.net}, {len(args.images)} images ({", ".join(args.images)}), centre crops of {args.lr_size}×'
            f'{args.lr_size} LR pixels, bundled models; every run a fresh `python` process (OMP_NUM_THREADS='
            f'{threads}), all variants in turns, medians of the runs. --fast now: {FAST_MODE["help"]}. Overlaps are '
            'against the original\'s rankings.\n\n' + markdown_table(header, rows))
    if args.breakdown:
        variants = [(f'--fast, {name}, first run', tool_args(args.net, data, osp.join(work, f'stamped_{name}'))
                     + ['--fast'], {'FAIG_LAYOUT_CACHE': osp.join(work, f'stamped_{name}.json')}, tree)
                    for name, tree in trees.items()]
        if args.before:
            variants.append(('before 2026-12-01', tool_args(args.net, data, out['before']) + BEFORE_SETTINGS,
                             {'FAIG_BENCH_FULL_IMPORT': '1'}, ROOT))
        records = breakdown(variants, dict(os.environ), work)
        clock = 'CPU' if os.environ.get('FAIG_BENCH_CLOCK') == 'cpu' else 'wall'
        body += (f'\n\nWhere one run\'s {clock} time goes (benchmarks/stamped_run.py; one run each, so noisier than '
                 'the table above; an import is charged to the first non-faig package that pulled it in, each phase '
                 'excludes the imports made inside it):\n\n' + breakdown_table(records))
        print(breakdown_table(records))
    if args.no_doc:
        print(body)
        return
    write_section(f'8. Whole processes: --fast vs the original algorithm ({args.net})', command_line(), body)


if __name__ == '__main__':
    main()
