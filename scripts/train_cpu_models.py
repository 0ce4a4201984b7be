"""Train the bundled baseline -> target pair of one network and export its EMA weights.

    python scripts/train_cpu_models.py --net srresnet                         # or srcnn_style (CPU configs)
    python scripts/train_cpu_models.py --net srresnet --config_dir options/gpu # the 30k-iteration GPU configs
    python scripts/train_cpu_models.py --net srresnet --config_dir options/gpu --force_yml \
        datasets:train:prefetch_mode=~ datasets:train:num_worker_per_gpu=1 logger:save_checkpoint_freq=250
                                                          # the same on a CPU, over many sessions
    python scripts/train_cpu_models.py --net srresnet --continue_target       # one more period, resumable
    python scripts/train_cpu_models.py --net srcnn_style --continue_target --iterations 1000   # a shorter period
    python scripts/train_cpu_models.py --net srresnet --continue_target --export_now   # stop point of a session
    python scripts/train_cpu_models.py --net srresnet --continue_target --force_yml datasets:train:gt_size=96

Runs ``train.py -opt <config_dir>/train_<net>_{baseline,target}.yml --auto_resume`` as subprocesses
(BasicSR configures its logger once per process), so a killed run continues from its last
checkpoint when started again; finished stages are skipped. When both stages have finished, writes
``experiments/pretrained/<net>/{baseline,target}_model.pth`` (``params_ema`` only) and appends
wall times and iterations to ``experiments/pretrained/<net>/training_log.json``.

``--continue_target`` trains ``<config_dir>/train_<net>_target_continue.yml``: one more cosine period
starting from the bundled target (a warm restart), so that training too long for one session goes on
across sessions: each session continues from the target the last one exported. ``--export_now``
exports the newest checkpoint of that run as it is (for a session that must stop before it finishes).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

from faig.cli.args import Parser, positive_int
from faig.errors import InputError, cli

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def experiment_name(config):
    with open(config) as f:
        match = re.search(r'^name:\s*(\S+)', f.read(), re.M)
    return match.group(1)


def latest_weights(name):
    """BasicSR's ``net_g_latest.pth``: written when a run finishes."""
    return osp.join(ROOT, 'experiments', name, 'models', 'net_g_latest.pth')


def run_stage(config, force_yml=()):
    name = experiment_name(config)
    latest = latest_weights(name)
    if osp.isfile(latest):
        print(f'{name}: finished earlier, skipped')
        return latest, None
    start = time.time()
    command = [sys.executable, osp.join(ROOT, 'train.py'), '-opt', config, '--auto_resume']
    if force_yml:
        command += ['--force_yml', *force_yml]
    code = subprocess.run(command, cwd=ROOT).returncode
    if code:
        sys.exit(code)  # train.py printed why
    return latest, time.time() - start


def newest_checkpoint(name, total_iter):
    """(path, iteration) of the run's last weights, or (None, 0): ``net_g_latest.pth`` (saved at
    ``total_iter`` when the run finished, which need not be a multiple of the checkpoint interval),
    else the newest ``net_g_<iter>.pth`` of a run stopped early."""
    if osp.isfile(latest_weights(name)):
        return latest_weights(name), total_iter
    found = []
    for path in glob.glob(osp.join(ROOT, 'experiments', name, 'models', 'net_g_*.pth')):
        tail = osp.basename(path)[len('net_g_'):-len('.pth')]
        if tail.isdigit():
            found.append((int(tail), path))
    return (max(found)[1], max(found)[0]) if found else (None, 0)


def training_logs(name):
    """The BasicSR logs of a stage in the order they were written: one per run, so a period that
    went on over several sessions has several."""
    return sorted(glob.glob(osp.join(ROOT, 'experiments', name, 'train_*.log')), key=osp.getmtime)


def copy_training_log(name, out_path):
    """Keep the stage's BasicSR logs, joined in order, beside the exported model (losses, validation PSNRs)."""
    logs = training_logs(name)
    if logs:
        os.makedirs(osp.dirname(out_path), exist_ok=True)
        with open(out_path, 'wb') as out:
            for log in logs:
                with open(log, 'rb') as f:
                    out.write(f.read())


def log_span_seconds(name):
    """Training time of a stage: for each of its BasicSR logs, the seconds between its first and last
    time stamp, summed (the time between sessions of a resumed period is not counted)."""
    total, found = 0.0, False
    for log in training_logs(name):
        stamps = []
        with open(log) as f:
            for line in f:
                match = re.match(r'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)', line)
                if match:
                    stamps.append(time.mktime(time.strptime(match.group(1), '%Y-%m-%d %H:%M:%S')))
        if stamps:
            total, found = total + max(stamps) - min(stamps), True
    return round(total, 1) if found else None


def export(checkpoint, out_path):
    import torch
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    params = state.get('params_ema', state.get('params'))
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    torch.save({'params_ema': params}, out_path)


def record(log_path, kind, entry):
    log = json.load(open(log_path)) if osp.isfile(log_path) else {}
    log.setdefault(kind, []).append({**entry, 'finished': time.strftime('%Y-%m-%d %H:%M:%S')})
    with open(log_path, 'w') as f:
        json.dump(log, f, indent=2)


def check_overrides(opt, config, overrides):
    """Refuse a ``--force_yml`` entry that BasicSR would fail on with a traceback in the training subprocess:
    not one ``KEY=VALUE``, or a ``a:b:c`` key whose ``a:b`` is not a mapping of the config ``opt``."""
    for entry in overrides:
        key, _, value = entry.partition('=')
        if '=' in value or not key.strip() or not value.strip():
            raise InputError(f'--force_yml: {entry!r} is not KEY=VALUE (e.g. datasets:train:gt_size=96)')
        node, keys = opt, key.strip().split(':')
        for depth, key in enumerate(keys[:-1]):
            node = node.get(key) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                raise InputError(f'--force_yml: {entry!r}: {":".join(keys[:depth + 1])} is not a section of '
                                 f'{osp.relpath(config, ROOT)}')


def checked_options(config, overrides):
    """The options of ``config`` (YAML), after refusing ``--force_yml`` entries it cannot take."""
    import yaml
    if not osp.isfile(config):
        raise InputError(f'{osp.relpath(config, ROOT)}: option file not found')
    with open(config) as f:
        opt = yaml.safe_load(f)
    check_overrides(opt, config, overrides)
    return opt


def check_same_period(name, force_yml, starting=True):
    """A stopped period resumes only with the settings it started with (BasicSR would silently go on
    with the new options). They are kept beside the run's folder (BasicSR archives a folder it did
    not make) and count only while that folder exists."""
    folder = osp.join(ROOT, 'experiments', name)
    path = f'{folder}_period.json'
    if osp.isdir(folder):
        if osp.isfile(path):
            with open(path) as f:
                started = json.load(f)['force_yml']
            if started != list(force_yml):
                raise InputError(f'{osp.relpath(path, ROOT)}: the unfinished period in experiments/{name} started with '
                                 f'{" ".join(started) or "no overrides"}, not {" ".join(force_yml) or "no overrides"}; '
                                 f'pass the same --iterations/--force_yml to resume it, or remove experiments/{name} '
                                 'to start a new period')
        return
    if not starting:
        return
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump({'force_yml': list(force_yml)}, f)


def continue_target(args, out_folder, log_path):
    config = osp.join(ROOT, args.config_dir, f'train_{args.net}_target_continue.yml')
    opt = checked_options(config, args.force_yml or [])
    name = experiment_name(config)
    # a period that fits the session: the cosine schedule then ends at a low learning rate when it is exported
    force_yml = [f'train:total_iter={args.iterations}', f'train:scheduler:periods=[{args.iterations}]'] \
        if args.iterations else []
    force_yml += args.force_yml or []
    check_same_period(name, force_yml, starting=not args.export_now)
    if not args.export_now:
        run_stage(config, force_yml)
    checkpoint, iteration = newest_checkpoint(name, args.iterations or int(float(opt['train']['total_iter'])))
    if checkpoint is None:
        sys.exit(f'error: experiments/{name}: no checkpoint to export yet')
    export(checkpoint, osp.join(out_folder, 'target_model.pth'))
    n = len(json.load(open(log_path)).get('target_continued', [])) + 1 if osp.isfile(log_path) else 1
    copy_training_log(name, osp.join(out_folder, 'logs', f'target_continue_{n}.log'))
    entry = {'config': osp.relpath(config, ROOT), 'iterations': iteration, 'wall_seconds': log_span_seconds(name)}
    if force_yml:
        entry['force_yml'] = force_yml
    record(log_path, 'target_continued', entry)
    print(f'{args.net} target: continued {iteration} iterations, exported to {out_folder}/target_model.pth; '
          f'experiments/{name} can now be removed so that the next session starts a new period')


@cli
def main():
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', choices=['srresnet', 'srcnn_style'], required=True)
    parser.add_argument('--config_dir', default='options/cpu', help='options/cpu (default) or options/gpu')
    parser.add_argument('--continue_target', action='store_true',
                        help='one more period of the bundled target (<config_dir>/train_<net>_target_continue.yml)')
    parser.add_argument('--export_now', action='store_true', help='with --continue_target: export its newest '
                        'checkpoint without training further')
    parser.add_argument('--iterations', type=positive_int, default=None,
                        help='with --continue_target: the period length and total iterations of this run '
                        '(default: those of the config); pass the same value when resuming')
    parser.add_argument('--force_yml', nargs='+', metavar='KEY=VALUE', default=None,
                        help="BasicSR's option overrides for this period (with --continue_target) or for both "
                        "stages, e.g. datasets:train:gt_size=96 (recorded in training_log.json); pass the same "
                        "when resuming")
    args = parser.parse_args()
    if args.iterations is not None and not args.continue_target:
        parser.error('--iterations: needs --continue_target')
    out_folder = osp.join(ROOT, 'experiments', 'pretrained', args.net)
    log_path = osp.join(out_folder, 'training_log.json')
    if args.continue_target:
        return continue_target(args, out_folder, log_path)
    train_pair(args, out_folder, log_path)


def train_pair(args, out_folder, log_path):
    """Train (or resume) the baseline, then the target fine-tuned from it, and export the two together:
    a session that ends during the target stage leaves the bundled pair as it was, not a new baseline
    beside an old target."""
    import torch
    force_yml = args.force_yml or []
    configs = {kind: osp.join(ROOT, args.config_dir, f'train_{args.net}_{kind}.yml') for kind in ('baseline', 'target')}
    for config in configs.values():
        checked_options(config, force_yml)
    names = {kind: experiment_name(config) for kind, config in configs.items()}
    trained, checkpoints = False, {}
    for kind, config in configs.items():
        check_same_period(names[kind], force_yml)
        checkpoints[kind], seconds = run_stage(config, force_yml)
        trained = trained or seconds is not None
    for kind in configs:
        export(checkpoints[kind], osp.join(out_folder, f'{kind}_model.pth'))
        copy_training_log(names[kind], osp.join(out_folder, 'logs', f'{kind}_train.log'))
        print(f'{args.net} {kind}: exported to {out_folder}/{kind}_model.pth')
    if trained:  # a pair finished by this call (its baseline may have finished in an earlier session)
        for kind, config in configs.items():
            entry = {'config': osp.relpath(config, ROOT), 'wall_seconds': log_span_seconds(names[kind]),
                     'threads': torch.get_num_threads(), 'device': 'cuda' if torch.cuda.is_available() else 'cpu'}
            if force_yml:
                entry['force_yml'] = force_yml
            record(log_path, kind, entry)


if __name__ == '__main__':
    main()
