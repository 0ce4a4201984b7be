"""Shared helpers of the benchmark scripts: inputs, timing, and docs/benchmarks.md sections."""
import argparse
import os.path as osp
import platform
import re
import sys
import time

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC = osp.join(ROOT, 'docs', 'benchmarks.md')
sys.path.insert(0, ROOT)

from faig.attribution.path import cpu_name  # noqa: E402
from faig.data.image_io import read_image  # noqa: E402
from faig.inference import image_to_tensor  # noqa: E402
from faig.networks import load_params, preset  # noqa: E402


def cpu_model():
    return cpu_name()


def machine_line():
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    threads = torch.get_num_threads()
    return (f'{cpu_model()}, {threads} torch thread{"" if threads == 1 else "s"}, {gpu}; torch {torch.__version__}, '
            f'Python {platform.python_version()}')


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def best_of(repeats, fn, *args, **kwargs):
    """(result, least wall time of ``repeats`` runs): the least is the run least disturbed by the machine."""
    best = None
    for _ in range(max(1, repeats)):
        result, seconds = timed(fn, *args, **kwargs)
        best = seconds if best is None else min(best, seconds)
    return result, best


def center_crop_tensor(x, size):
    h, w = x.shape[-2:]
    y0, x0 = (h - size) // 2, (w - size) // 2
    return x[..., y0:y0 + size, x0:x0 + size]


def load_test_images(dataroot, names, lr_size, scale=2, device='cpu'):
    """{name: {'gt', 'blur', 'noise', 'clean'}} centre crops (LR ``lr_size``) of the sample test set."""
    folders = {'gt': 'GTmod12', 'blur': 'Blur2_LRbicx2', 'noise': 'LRbicx2_noise0.1', 'clean': 'Linear_LRbicx2'}
    images = {}
    for name in names:
        entry = {}
        for role, folder in folders.items():
            t = image_to_tensor(read_image(osp.join(dataroot, folder, f'{name}.png')), device)
            entry[role] = center_crop_tensor(t, lr_size * scale if role == 'gt' else lr_size)
        images[name] = entry
    return images


def top_overlap(a, b, fraction):
    n = max(1, int(len(a) * fraction))
    return len(set(np.asarray(a[:n]).tolist()) & set(np.asarray(b[:n]).tolist())) / n


def markdown_table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def write_section(title, command, body):
    """Replace (or append) the section ``## title`` of docs/benchmarks.md."""
    text = open(DOC).read() if osp.isfile(DOC) else '# Benchmarks\n\nEach section: what was measured, on which machine, with the command that reproduces it.\n'
    section = (f'## {title}\n\nMachine: {machine_line()}. Measured {time.strftime("%Y-%m-%d")}.\n\n'
               f'Command: `{command}`\n\n{body.strip()}\n')
    pattern = re.compile(rf'^## {re.escape(title)}\n.*?(?=^## |\Z)', re.S | re.M)
    text = pattern.sub(lambda _: section + '\n', text) if pattern.search(text) else text.rstrip() + '\n\n' + section
    with open(DOC, 'w') as f:
        f.write(text)
    print(f'\nwrote section "{title}" of {DOC}')


def bench_parser(doc, steps=None, lr_size=48, images=('astronaut', 'chelsea')):
    """The arguments every benchmark takes: networks, images, crop size (and steps)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', nargs='+', default=['srresnet', 'srcnn_style'])
    parser.add_argument('--images', nargs='+', default=list(images))
    if isinstance(lr_size, (list, tuple)):
        parser.add_argument('--lr_size', type=int, nargs='+', default=list(lr_size), help='LR centre-crop sizes')
    else:
        parser.add_argument('--lr_size', type=int, default=lr_size, help='LR centre-crop size')
    parser.add_argument('--dataroot', default='datasets/SampleSet')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    if steps is not None:
        parser.add_argument('--steps', type=int, default=steps)
    return parser


def bundled_models(net_name, device='cpu'):
    """(network options, baseline state dict, target state dict) of the bundled models, on ``device``."""
    return (preset(net_name, 2), *({k: v.to(device) for k, v in load_params(
        f'experiments/pretrained/{net_name}/{kind}_model.pth').items()} for kind in ('baseline', 'target')))


def command_line():
    return 'python benchmarks/' + ' '.join([osp.basename(sys.argv[0])] + sys.argv[1:])
