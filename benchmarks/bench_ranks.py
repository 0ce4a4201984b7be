"""Processes vs threads: a FAIG run as whole processes, one process with K threads against
``torchrun --nproc_per_node K`` with one thread each (the images shared out), and the GPU line when
CUDA is there.

    python benchmarks/bench_ranks.py [--nproc 2] [--images 4] [--lr_size 48] [--steps 16] [--repeats 2]

The runs are taken in turns (best of ``--repeats`` each), so that a change of machine load hits all alike.
Each run writes its rankings into a temporary folder; the table says whether the torchrun run's index files
are byte-identical to those of a one-process, one-thread run (they are by construction: per-image results
do not depend on which rank computed them; a run with more threads may differ by float rounding).
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time

import cv2
import torch

from common import ROOT, markdown_table, write_section

NAMES = ('astronaut', 'chelsea', 'coffee', 'rocket', 'camera', 'coins')


def crops(dataroot, names, lr_size, out):
    """A data set of centre crops (LR ``lr_size``) of ``names``: GT, blurry, noisy."""
    for folder, scale in (('GTmod12', 2), ('Blur2_LRbicx2', 1), ('LRbicx2_noise0.1', 1)):
        os.makedirs(osp.join(out, folder), exist_ok=True)
        for name in names:
            img = cv2.imread(osp.join(dataroot, folder, f'{name}.png'), cv2.IMREAD_UNCHANGED)
            size = lr_size * scale
            h, w = img.shape[:2]
            y, x = (h - size) // 2, (w - size) // 2
            cv2.imwrite(osp.join(out, folder, f'{name}.png'), img[y:y + size, x:x + size])
    return out


def command(data, out, steps, nproc, device):
    script = osp.join(ROOT, 'analysis/tools/srresnet/faig.py')
    args = ['--gt_folder', f'{data}/GTmod12', '--blur_folder', f'{data}/Blur2_LRbicx2', '--noise_folder',
            f'{data}/LRbicx2_noise0.1', '--total_step', str(steps), '--layout', 'contiguous', '--device', device,
            '--record_filters_folder', out, '--force']
    if nproc == 1:
        return [sys.executable, script, *args]
    return [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(nproc), '--nnodes', '1',
            '--master_addr', '127.0.0.1', '--master_port', str(29500 + os.getpid() % 1000), script, *args]


def timed_run(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), FAIG_LAYOUT_CACHE='')
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if res.returncode:
        raise SystemExit(f'failed: {" ".join(cmd)}\n{res.stderr[-2000:]}')
    return time.perf_counter() - start


def same_files(a, b):
    names = ('blur_index.txt', 'noise_index.txt', 'blur_scores.npy', 'noise_scores.npy')
    return all(open(osp.join(a, n), 'rb').read() == open(osp.join(b, n), 'rb').read() for n in names)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--images', type=int, default=4)
    parser.add_argument('--lr_size', type=int, default=48)
    parser.add_argument('--steps', type=int, default=16)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--dataroot', default=osp.join(ROOT, 'datasets/SampleSet'))
    parser.add_argument('--no_write', action='store_true', help='print the table only')
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix='faig_bench_ranks_')
    try:
        data = crops(args.dataroot, NAMES[:args.images], args.lr_size, osp.join(tmp, 'data'))
        k = args.nproc
        cases = [('1 process, 1 thread', command(data, f'{tmp}/one1', args.steps, 1, 'cpu'), 1, f'{tmp}/one1'),
                 (f'1 process, {k} threads', command(data, f'{tmp}/onek', args.steps, 1, 'cpu'), k, f'{tmp}/onek'),
                 (f'torchrun, {k} processes x 1 thread (gloo)', command(data, f'{tmp}/ranks', args.steps, k, 'cpu'), 1,
                  f'{tmp}/ranks')]
        if torch.cuda.is_available():
            cases.append(('1 process, CUDA', command(data, f'{tmp}/cuda', args.steps, 1, 'cuda'), 1, f'{tmp}/cuda'))
            if torch.cuda.device_count() >= k:
                cases.append((f'torchrun, {k} processes x 1 GPU (nccl)', command(data, f'{tmp}/cudak', args.steps, k,
                                                                                 'cuda'), 1, f'{tmp}/cudak'))
        best = {name: float('inf') for name, *_ in cases}
        for turn in range(args.repeats):
            for name, cmd, threads, _ in cases:
                seconds = timed_run(cmd, threads)
                best[name] = min(best[name], seconds)
                print(f'turn {turn + 1}: {name}: {seconds:.1f} s', flush=True)
        reference = cases[0][3]
        rows = []
        base = best[cases[1][0]]
        for name, _, _, out in cases:
            rows.append([name, f'{best[name]:.1f}', f'{args.images / best[name]:.3f}', f'{base / best[name]:.2f}x',
                         'yes' if same_files(reference, out) else 'no'])
        table = markdown_table(['run (whole processes)', 'seconds', 'images/s', f'vs 1 process x {k} threads',
                                'index files = 1 process x 1 thread'], rows)
        body = (f'FAIG on MSRResNet (bundled pair), {args.images} images of {args.lr_size}² LR, {args.steps} steps '
                f'(riemann_left), `--layout contiguous`, whole processes (start-up included), best of {args.repeats} '
                'taken in turns.\n\n' + table)
        print(body)
        if not args.no_write:
            write_section('10. Processes vs threads (torchrun)',
                          f'python benchmarks/bench_ranks.py --nproc {k} --images {args.images} --lr_size '
                          f'{args.lr_size} --steps {args.steps} --repeats {args.repeats}', body)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
