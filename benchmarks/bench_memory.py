"""Peak memory of one FAIG image as the image grows (each size in a fresh process).

    python benchmarks/bench_memory.py [--net srresnet srcnn_style] [--sizes 64 128 256 512]

Peak resident memory (ru_maxrss) of a process that builds the path and runs FAIG with 2
nodes on one random LR image of each size (and its blurry/noisy twin), minus the same
process's memory before the first pass.
"""
import argparse
import json
import subprocess
import sys

from common import ROOT, markdown_table, write_section

CHILD = r'''
import json, resource, sys, time, torch
import faig
from faig.attribution.faig import faig_image
from faig.attribution.filters import FilterSpace
from faig.attribution.path import ParameterPath
from faig.networks import build_network, load_params, preset
net_name, size = sys.argv[1], int(sys.argv[2])
baseline = load_params(f'experiments/pretrained/{net_name}/baseline_model.pth')
target = load_params(f'experiments/pretrained/{net_name}/target_model.pth')
path = ParameterPath(build_network(preset(net_name, 2)).eval(), baseline, target)
g = torch.Generator().manual_seed(0)
x = {'blur': torch.rand(1, 3, size, size, generator=g), 'noise': torch.rand(1, 3, size, size, generator=g)}
gt = torch.rand(1, 3, 2 * size, 2 * size, generator=g)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.time()
faig_image(FilterSpace(target), path, x, gt, n_steps=2)
print(json.dumps({'before_kb': before, 'peak_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  'seconds': time.time() - start}))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', nargs='+', default=['srresnet', 'srcnn_style'])
    parser.add_argument('--sizes', nargs='+', type=int, default=[64, 128, 256, 512])
    args = parser.parse_args()
    rows = []
    for net in args.net:
        for size in args.sizes:
            res = subprocess.run([sys.executable, '-c', CHILD, net, str(size)], cwd=ROOT, capture_output=True,
                                 text=True)
            if res.returncode != 0:
                rows.append([net, f'{size}²', 'failed', res.stderr.strip().splitlines()[-1][:80], ''])
                continue
            data = json.loads(res.stdout.strip().splitlines()[-1])
            extra = (data['peak_kb'] - data['before_kb']) / 1024
            row = [net, f'{size}² → {2 * size}²', f'{data["peak_kb"] / 1024:.0f}', f'{extra:.0f}',
                   f'{data["seconds"] / 4:.2f}']
            print(row, flush=True)
            rows.append(row)
    header = ['net', 'LR → HR size', 'peak RSS (MiB)', 'peak − before first pass (MiB)', 's per fwd+bwd']
    body = ('One FAIG image (blurry + noisy input, 2 nodes) per size, in a fresh process. Memory grows with the '
            'activations kept for the backward pass, linearly in the number of pixels.\n\n' + markdown_table(header, rows))
    write_section('5. Peak memory vs image size', 'python benchmarks/' + ' '.join(
        [sys.argv[0].split('/')[-1]] + sys.argv[1:]), body)


if __name__ == '__main__':
    main()
