"""Train the bundled baseline -> target pair of one network on CPU and export its EMA weights.

    python scripts/train_cpu_models.py --net srresnet      # or srcnn_style

Runs ``train.py -opt options/cpu/train_<net>_{baseline,target}.yml --auto_resume`` as
subprocesses (BasicSR configures its logger once per process), so a killed run continues
from its last checkpoint when started again; finished stages are skipped. Then writes
``experiments/pretrained/<net>/{baseline,target}_model.pth`` (``params_ema`` only) and
appends wall times to ``experiments/pretrained/<net>/training_log.json``.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_stage(net, kind):
    name = f'cpu_train_{net}_{kind}'
    latest = osp.join(ROOT, 'experiments', name, 'models', 'net_g_latest.pth')
    if osp.isfile(latest):
        print(f'{name}: finished earlier, skipped')
        return latest, None
    start = time.time()
    subprocess.run([sys.executable, osp.join(ROOT, 'train.py'), '-opt',
                    osp.join(ROOT, 'options', 'cpu', f'train_{net}_{kind}.yml'), '--auto_resume'],
                   cwd=ROOT, check=True)
    return latest, time.time() - start


def copy_training_log(net, kind, out_folder):
    """Keep the newest BasicSR log of the stage beside the exported model (losses and validation PSNRs)."""
    folder = osp.join(ROOT, 'experiments', f'cpu_train_{net}_{kind}')
    logs = sorted(glob.glob(osp.join(folder, 'train_*.log')), key=osp.getmtime)
    if logs:
        os.makedirs(osp.join(out_folder, 'logs'), exist_ok=True)
        shutil.copy(logs[-1], osp.join(out_folder, 'logs', f'{kind}_train.log'))


def export(checkpoint, out_path):
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    params = state.get('params_ema', state.get('params'))
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    torch.save({'params_ema': params}, out_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', choices=['srresnet', 'srcnn_style'], required=True)
    args = parser.parse_args()
    out_folder = osp.join(ROOT, 'experiments', 'pretrained', args.net)
    log_path = osp.join(out_folder, 'training_log.json')
    log = json.load(open(log_path)) if osp.isfile(log_path) else {}
    for kind in ('baseline', 'target'):
        checkpoint, seconds = run_stage(args.net, kind)
        if seconds is not None:
            log.setdefault(kind, []).append({'wall_seconds': round(seconds, 1), 'threads': torch.get_num_threads(),
                                             'finished': time.strftime('%Y-%m-%d %H:%M:%S')})
        export(checkpoint, osp.join(out_folder, f'{kind}_model.pth'))
        copy_training_log(args.net, kind, out_folder)
        os.makedirs(out_folder, exist_ok=True)
        with open(log_path, 'w') as f:
            json.dump(log, f, indent=2)
        print(f'{args.net} {kind}: exported to {out_folder}/{kind}_model.pth')


if __name__ == '__main__':
    main()
