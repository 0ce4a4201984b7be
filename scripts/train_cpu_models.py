"""Train the bundled baseline -> target pair of one network and export its EMA weights.

    python scripts/train_cpu_models.py --net srresnet                         # or srcnn_style (CPU configs)
    python scripts/train_cpu_models.py --net srresnet --config_dir options/gpu # the 30k-iteration GPU configs
    python scripts/train_cpu_models.py --net srresnet --config_dir options/gpu --force_yml \
        datasets:train:prefetch_mode=~ datasets:train:num_worker_per_gpu=1 logger:save_checkpoint_freq=250
                                                          # the same on a CPU, over several resumed runs
    python scripts/train_cpu_models.py --net srresnet --continue target       # one more period, resumable
    python scripts/train_cpu_models.py --net srcnn_style --continue target --iterations 1000   # a shorter period
    python scripts/train_cpu_models.py --net srresnet --continue target --export_now   # before stopping a run
    python scripts/train_cpu_models.py --net srresnet --continue target --force_yml datasets:train:gt_size=96
    python scripts/train_cpu_models.py --net srresnet --continue baseline --pair_dir experiments/pretrained/next/srresnet
                                                          # a longer baseline, staged beside the bundled pair

Runs ``train.py -opt <config_dir>/train_<net>_{baseline,target}.yml --auto_resume`` as subprocesses
(BasicSR configures its logger once per process), so a killed run continues from its last
checkpoint when started again; finished stages are skipped. When both stages have finished, writes
``experiments/pretrained/<net>/{baseline,target}_model.pth`` (``params_ema`` only) and appends
wall times and iterations to ``experiments/pretrained/<net>/training_log.json``.

``--continue target`` trains ``<config_dir>/train_<net>_target_continue.yml``: one more cosine period
starting from the pair's target (a warm restart), so that training too long for one sitting goes on
in later runs: each continues from the target the last one exported and committed (the
machine of a run, and the checkpoints on it, need not outlive it). ``--export_now`` exports the newest
checkpoint of that run as it is (for a run that must stop before it finishes). ``--continue_target``
is the same as ``--continue target``.

``--pair_dir`` (default ``experiments/pretrained/<net>``, the bundled pair) is where a continued period
starts from and exports to. A new, longer pair is grown in a staging folder such as
``experiments/pretrained/next/<net>`` while the bundled pair stays whole: ``--continue baseline`` periods
first (the first one starts from the bundled baseline), then ``--continue target`` periods (the first one
starts from the staged baseline); the finished pair then replaces the bundled one. A baseline that a target
was fine-tuned from is not continued (the target would no longer be its fine-tuning).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import sys
import time

from faig.cli.args import Parser, positive_int
from faig.training_runs import copy_logs, logged_seconds, train_in_subprocess
from faig.errors import InputError, cli
from faig.specs import NETWORKS
from faig.store import read_record

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def experiment_name(config):
    with open(config) as f:
        match = re.search(r'^name:\s*(\S+)', f.read(), re.M)
    return match.group(1)


def latest_weights(name):
    """BasicSR's ``net_g_latest.pth``: written when a run finishes."""
    return osp.join(ROOT, 'experiments', name, 'models', 'net_g_latest.pth')


def run_stage(config, force_yml=(), settings=None):
    """train.py on ``config`` with the user's ``force_yml`` overrides and ``settings`` ({'section:key': value}, e.g.
    the path a period starts from) set as data; a finished stage is skipped (seconds None)."""
    latest = latest_weights(experiment_name(config))
    if osp.isfile(latest):
        print(f'{experiment_name(config)}: finished earlier, skipped')
        return latest, None
    return latest, train_in_subprocess(ROOT, config, settings, force_yml)


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


def copy_training_log(name, out_path):
    """Keep the stage's BasicSR logs, joined in order, beside the exported model (losses, validation PSNRs)."""
    copy_logs(osp.join(ROOT, 'experiments', name), out_path)


def log_span_seconds(name):
    """Training time of a stage (the time between the sittings of a resumed period is not counted)."""
    return logged_seconds(osp.join(ROOT, 'experiments', name))


def export(checkpoint, out_path):
    import torch
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    params = state.get('params_ema', state.get('params'))
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    torch.save({'params_ema': params}, out_path)


def read_log(log_path):
    """The pair's training log ({} when there is none yet); a damaged one is refused."""
    return read_record(log_path, 'training log') if osp.isfile(log_path) else {}


def record(log_path, kind, entry):
    log = read_log(log_path)
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
                                 f'{shown(config)}')


def checked_options(config, overrides):
    """The options of ``config`` (YAML), after refusing ``--force_yml`` entries it cannot take."""
    from faig.safe_yaml import load_file
    if not osp.isfile(config):
        raise InputError(f'{shown(config)}: option file not found')
    opt = load_file(config, shown(config))
    if not isinstance(opt, dict):
        raise InputError(f'{shown(config)}: expected a mapping of options')
    check_overrides(opt, config, overrides)
    return opt


def check_same_period(name, force_yml, starting=True, start=None):
    """A stopped period resumes only with the settings it started with (BasicSR would silently go on
    with the new options). They are kept beside the run's folder (BasicSR archives a folder it did
    not make) and count only while that folder exists; with ``start`` (the weights a new period starts
    from) so are that path and its sha1, which a resumed period keeps even if an export has replaced the
    file since. Returns what was kept."""
    from faig.store import sha1_file
    folder = osp.join(ROOT, 'experiments', name)
    path = f'{folder}_period.json'
    period = {'force_yml': list(force_yml)}
    if osp.isdir(folder):
        if osp.isfile(path):
            period = read_period(path)
            started = period['force_yml']
            if started != list(force_yml):
                raise InputError(f'{shown(path)}: the unfinished period in experiments/{name} started with '
                                 f'{" ".join(started) or "no overrides"}, not {" ".join(force_yml) or "no overrides"}; '
                                 f'pass the same --iterations/--force_yml to resume it, or remove experiments/{name} '
                                 'to start a new period')
        if start is None or 'started_from' in period:
            return period
    if start is not None:  # a new period, or one kept by an earlier version that did not note its start
        period['started_from'] = {'path': shown(start), 'sha1': sha1_file(start)}
    if starting and not osp.isdir(folder):
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(period, f)
    return period


def read_period(path):
    """A period record (``experiments/<name>_period.json``), checked: its values are data that train.py gets
    (the overrides as --force_yml, the start as a path), so a damaged or edited one is refused."""
    try:
        period = read_record(path, 'period record')
    except InputError as exc:
        raise InputError(f'{str(exc).replace(path, shown(path), 1)}; remove it and the run folder beside it to '
                         'start a new period') from None
    start = period.get('started_from') if isinstance(period, dict) else None
    if not isinstance(period, dict) or not isinstance(period.get('force_yml'), list) or \
            not all(isinstance(entry, str) for entry in period['force_yml']) or \
            (start is not None and not (isinstance(start, dict) and isinstance(start.get('path'), str))):
        raise InputError(f'{shown(path)}: not a period record (force_yml: a list of texts, started_from.path: '
                         'a path); remove it and the run folder beside it to start a new period')
    return period


def config_folder(parser, value):
    """``--config_dir`` as an absolute folder: the repository's ``options/cpu`` when not given; a given one
    relative to the working directory when it exists there, else to the repository (so the documented
    ``options/gpu`` works from any directory)."""
    if value is None:
        return osp.join(ROOT, 'options', 'cpu')
    for folder in (osp.abspath(value), osp.join(ROOT, value)):
        if osp.isdir(folder):
            return folder
    parser.error(f'--config_dir: {value}: no such folder')


def shown(path):
    """A path as messages and logs show it: relative to the repository when inside it."""
    rel = osp.relpath(osp.realpath(path), osp.realpath(ROOT))
    return path if rel.startswith('..') else rel


def start_point(kind, net, pair_dir):
    """The weights a new ``kind`` period of the pair in ``pair_dir`` starts from; refuses a pair that
    has nothing to continue, and a baseline that a target was fine-tuned from."""
    own = osp.join(pair_dir, f'{kind}_model.pth')
    if kind == 'baseline':
        if osp.isfile(osp.join(pair_dir, 'target_model.pth')):
            raise InputError(f'{shown(pair_dir)}: its target was fine-tuned from its baseline; continue the '
                             f'baseline of a pair without a target (e.g. --pair_dir experiments/pretrained/next/{net})')
        candidates = [own, osp.join(ROOT, 'experiments', 'pretrained', net, 'baseline_model.pth')]
    else:  # the first fine-tuning period of a staged pair starts from its baseline
        candidates = [own, osp.join(pair_dir, 'baseline_model.pth')]
    for path in candidates:
        if osp.isfile(path):
            return path
    raise InputError(f'{shown(candidates[-1])}: not found: no {kind} to continue')


def continue_stage(args, out_folder, log_path):
    from faig.store import sha1_file
    kind = args.continue_kind
    config = osp.join(ROOT, args.config_dir, f'train_{args.net}_{kind}_continue.yml')
    opt = checked_options(config, args.force_yml or [])
    name = experiment_name(config)
    # a period that fits the time at hand: the cosine schedule then ends at a low learning rate when it is exported
    force_yml = [f'train:total_iter={args.iterations}', f'train:scheduler:periods=[{args.iterations}]'] \
        if args.iterations else []
    force_yml += args.force_yml or []
    start = None if args.export_now else start_point(kind, args.net, out_folder)
    period = check_same_period(name, force_yml, starting=not args.export_now, start=start)
    if not args.export_now:
        run_stage(config, force_yml, {'path:pretrain_network_g': period['started_from']['path']})
    checkpoint, iteration = newest_checkpoint(name, args.iterations or int(float(opt['train']['total_iter'])))
    if checkpoint is None:
        sys.exit(f'error: experiments/{name}: no checkpoint to export yet')
    out_path = osp.join(out_folder, f'{kind}_model.pth')
    export(checkpoint, out_path)
    exported = sha1_file(out_path)
    periods = read_log(log_path).get(f'{kind}_continued', [])
    if periods and periods[-1].get('sha1') == exported:  # the same command run again
        print(f'{args.net} {kind}: experiments/{name} was exported already ({shown(out_path)}); remove '
              f'experiments/{name} to start a new period')
        return
    n = len(periods) + 1
    copy_training_log(name, osp.join(out_folder, 'logs', f'{kind}_continue_{n}.log'))
    entry = {'config': shown(config), 'iterations': iteration, 'wall_seconds': log_span_seconds(name)}
    if force_yml:
        entry['force_yml'] = force_yml
    if period.get('started_from'):
        entry['started_from'] = period['started_from']
    entry['sha1'] = exported
    record(log_path, f'{kind}_continued', entry)
    print(f'{args.net} {kind}: continued {iteration} iterations, exported to {shown(out_path)}; '
          f'experiments/{name} can now be removed so that the next run starts a new period')


@cli
def main():
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', choices=sorted(NETWORKS), required=True)
    parser.add_argument('--config_dir', default=None, help='options/cpu (default) or options/gpu')
    period = parser.add_mutually_exclusive_group()
    period.add_argument('--continue', dest='continue_kind', choices=['baseline', 'target'], default=None,
                        help="one more period of the pair's baseline or target "
                        '(<config_dir>/train_<net>_<kind>_continue.yml)')
    period.add_argument('--continue_target', dest='continue_kind', action='store_const', const='target',
                        help='the same as --continue target')
    parser.add_argument('--pair_dir', default=None, help='with --continue: the pair a period starts from and is '
                        'exported to (default: the bundled pair, experiments/pretrained/<net>)')
    parser.add_argument('--export_now', action='store_true', help='with --continue: export its newest '
                        'checkpoint without training further')
    parser.add_argument('--iterations', type=positive_int, default=None,
                        help='with --continue: the period length and total iterations of this run '
                        '(default: those of the config); pass the same value when resuming')
    parser.add_argument('--force_yml', nargs='+', metavar='KEY=VALUE', default=None,
                        help="BasicSR's option overrides for this period (with --continue) or for both "
                        "stages, e.g. datasets:train:gt_size=96 (recorded in training_log.json); pass the same "
                        "when resuming")
    args = parser.parse_args()
    args.config_dir = config_folder(parser, args.config_dir)
    for flag, value in (('--iterations', args.iterations), ('--pair_dir', args.pair_dir),
                        ('--export_now', args.export_now or None)):
        if value is not None and not args.continue_kind:
            parser.error(f'{flag}: needs --continue')
    out_folder = osp.abspath(args.pair_dir) if args.pair_dir else osp.join(ROOT, 'experiments', 'pretrained', args.net)
    log_path = osp.join(out_folder, 'training_log.json')
    if args.continue_kind:
        return continue_stage(args, out_folder, log_path)
    train_pair(args, out_folder, log_path)


def train_pair(args, out_folder, log_path):
    """Train (or resume) the baseline, then the target fine-tuned from it, and export the two together:
    a run that stops during the target stage leaves the bundled pair as it was, not a new baseline
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
    if trained:  # a pair finished by this call (its baseline may have finished in an earlier run)
        for kind, config in configs.items():
            entry = {'config': shown(config), 'wall_seconds': log_span_seconds(names[kind]),
                     'threads': torch.get_num_threads(), 'device': 'cuda' if torch.cuda.is_available() else 'cpu'}
            if force_yml:
                entry['force_yml'] = force_yml
            record(log_path, kind, entry)


if __name__ == '__main__':
    main()
