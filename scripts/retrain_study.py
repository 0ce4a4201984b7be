"""The paper's second finding on the bundled models: the weights, locations and connections of the
discovered filters determine the network's function.

    python scripts/retrain_study.py --net srresnet                 # every run (resumable), then the table
    python scripts/retrain_study.py --net srresnet --iterations 500 --selections faig random
    python scripts/retrain_study.py --net srresnet --report_only   # the table from the recorded runs

1. **Retraining** (ReTrainModel, faig/models/retrain_model.py): from the bundled *baseline*, only the
   top-p % filters of a selection are trained -- FAIG's deblurring filters on blurry data, FAIG's
   denoising filters on noisy data -- and, with the same budget and seed, the same number of filters
   chosen (a) at random, (b) at random with FAIG's per-layer counts (same layers, other connections),
   (c) by IG, (d) by |θ−θ̄|. Each run is measured on the clean, blurry and noisy test sets (whole
   images, PSNR as inference/inference_<net>.py) and by the share of the target's gain it recovers on
   the matching set, (PSNR_retrained − PSNR_baseline) / (PSNR_target − PSNR_baseline), per image too.
2. **Connections**: in the target, the p % FAIG filters' kernels are permuted among themselves within
   each layer (same weights, same layers, other in/out connections); the output difference (gradient-map
   MSE ×1000, as the comparison measures it) on the matching degraded inputs is set beside that of
   masking them.

The rankings are those of ``python scripts/reproduce.py`` (``--rankings_dir``). Every run is
``train.py -opt options/cpu/train_<net>_retrain.yml --auto_resume`` with the overrides recorded, so a
stopped study continues with the next unfinished run (and a stopped run from its last checkpoint).
Results go to ``results/retrain_study/<net>/study.json`` (per run: config, overrides, wall time,
PSNRs per image) and ``study.md``; the BasicSR log of each run is copied beside them.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from faig.attribution.ranking import index_bytes, json_bytes, read_index  # noqa: E402
from faig.cli.args import Parser, percent, positive_int, seed_int  # noqa: E402
from faig.training_runs import copy_logs, logged_seconds, train_in_subprocess  # noqa: E402
from faig.data.image_io import list_images, read_image  # noqa: E402
from faig.errors import InputError, cli  # noqa: E402
from faig.evaluation.gradient_map import image_gradient_map, per_image_difference  # noqa: E402
from faig.evaluation.masking import num_selected, substitute_filters  # noqa: E402
from faig.evaluation.retraining import CLEAN, SELECTIONS, TEST_SETS, markdown  # noqa: E402
from faig.files import write_bytes  # noqa: E402
from faig.networks import build_network, load_params, preset  # noqa: E402
from faig.paths import from_caller  # noqa: E402
from faig.safe_yaml import parse_value  # noqa: E402
from faig.specs import CLEAN_FOLDER, DEFAULT_PAIR, NETWORKS, degradation  # noqa: E402
from faig.store import (FolderLock, canonical, check_provenance, commit_files, read_json_or_set_aside,  # noqa: E402
                        set_aside, sha1_file, state_digest)

DATA = 'datasets/SampleSet'
TEST_FOLDERS = {name: CLEAN_FOLDER if name == CLEAN else degradation(name).folder for name in TEST_SETS}
RANKED = ('faig', 'ig', 'abs_filter_change')  # the selections read from a ranking (reproduce.py's)


def train_data(deg):
    """The overrides that give every training sample ``deg`` and no other degradation of the pair: the
    probability options of DIV2KInterpretDataset's original keys (``kernel_prob=1.0``, ``noise_prob=0.0``, ...)."""
    from faig.data.div2k_interpret_dataset import LEGACY_KEYS, legacy_entries
    probability_key = {entry['name']: entry['prob'] for entry in legacy_entries({key: key for key in LEGACY_KEYS})}
    return tuple(f'datasets:train:{probability_key[other]}={1.0 if other == deg else 0.0}' for other in DEFAULT_PAIR)


def seed_of(deg):
    """One random stream per function (1, 2, ... in the pair's order), the same for every budget."""
    return DEFAULT_PAIR.index(deg) + 1


def parse_args(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--net', default=next(iter(NETWORKS)), choices=sorted(NETWORKS))
    parser.add_argument('--functions', nargs='+', default=list(DEFAULT_PAIR), choices=DEFAULT_PAIR,
                        help='which filters are retrained (' + ', '.join(f'{degradation(d).function} on '
                                                                        f'{degradation(d).adjective} data'
                                                                        for d in DEFAULT_PAIR) + ')')
    parser.add_argument('--selections', nargs='+', default=list(SELECTIONS), choices=SELECTIONS)
    parser.add_argument('--proportion', type=percent, default=1, help='percent of the filters retrained (default 1)')
    parser.add_argument('--iterations', type=positive_int, default=600,
                        help='training iterations of every run (default 600, the budget of the committed studies)')
    parser.add_argument('--seed', type=seed_int, default=0, help='seed of the random selections and the permutation')
    parser.add_argument('--rankings_dir', default=None,
                        help='folder with faig/, ig/, abs_filter_change/ rankings (default: those of reproduce.py, '
                        'results/Interpret/neuron-search/<net>/SampleSet_crop64)')
    parser.add_argument('--models_dir', default=None,
                        help='<net>/{baseline,target}_model.pth (default: the bundled pairs, experiments/pretrained)')
    parser.add_argument('--speed', default='bf16_channels_last', choices=['fp32', 'bf16_channels_last'],
                        help='training step of every run (FastSRModel options; the same for all runs)')
    parser.add_argument('--out', default=None, help='default results/retrain_study/<net>')
    parser.add_argument('--report_only', action='store_true', help='write the table from the recorded runs')
    parser.add_argument('--allow_other_models', action='store_true',
                        help='use rankings whose meta.json records other models than --models_dir holds')
    args = parser.parse_args(argv)
    for name in ('rankings_dir', 'models_dir', 'out'):  # read after main's chdir to the repository
        if getattr(args, name) is not None:
            setattr(args, name, from_caller(getattr(args, name), ROOT))
    args.rankings_dir = args.rankings_dir or f'results/Interpret/neuron-search/{args.net}/SampleSet_crop64'
    args.models_dir = args.models_dir or 'experiments/pretrained'
    args.out = args.out or f'results/retrain_study/{args.net}'
    return args


def run_name(net, deg, selection, iterations, proportion):
    return f'retrain_{net}_{deg}_{selection}_p{proportion:g}_{iterations}it'


# ---- selections -----------------------------------------------------------------------------------

def selections(args, deg, space, also=()):
    """{selection: filter indices} for ``args.selections`` and ``also``, every one with the same count as FAIG's
    top p %."""
    count = num_selected(space.num_filters, args.proportion)
    rankings = {method: read_index(osp.join(args.rankings_dir, method, f'{deg}_index.txt'), space.num_filters)[:count]
                for method in RANKED if method == 'faig' or method in args.selections}
    rng = np.random.default_rng([args.seed, seed_of(deg)])
    chosen = dict(rankings)
    chosen['random'] = rng.choice(space.num_filters, count, replace=False)
    per_layer = []
    layers = space.layer_of(rankings['faig'])
    for layer in sorted(set(layers.tolist())):
        entry = space.entries[layer]
        per_layer.append(entry.offset + rng.choice(entry.count, int((layers == layer).sum()), replace=False))
    chosen['random_per_layer'] = np.concatenate(per_layer)
    return {s: np.asarray(chosen[s], dtype=np.int64) for s in dict.fromkeys((*args.selections, *also))}


def selection_file(path, chosen, num_filters):
    """An index file whose top ``len(chosen)`` are ``chosen`` (then the others): ReTrainModel's input."""
    rest = np.setdiff1d(np.arange(num_filters), chosen)
    write_bytes(path, index_bytes(np.concatenate([chosen, rest])))


# ---- evaluation ------------------------------------------------------------------------------------

def psnr_per_image(net, state, out_folder):
    """{test set: {image: PSNR}} of ``state`` on the whole test images (the inference script's PSNR)."""
    from faig.inference import restore_folder
    net.load_state_dict(state)
    return {name: restore_folder(net, osp.join(DATA, folder), osp.join(DATA, 'GTmod12'), osp.join(out_folder, name), 2)
            for name, folder in TEST_FOLDERS.items()}


def permute_within_layers(state, space, chosen, rng):
    """``state`` with the kernels of the ``chosen`` filters moved along one random cycle per layer (every
    member of a layer with two or more gets another member's kernel); returns (state, filters moved)."""
    permuted = {k: v.clone() for k, v in state.items()}
    moved, layers = 0, space.layer_of(chosen)
    for layer in sorted(set(layers.tolist())):
        members = np.asarray(chosen)[layers == layer]
        if len(members) < 2:
            continue
        order = rng.permutation(len(members))
        for src, dst in zip(members[order], members[np.roll(order, 1)]):
            name, o, i = space.locate(dst)
            s_name, so, si = space.locate(src)
            permuted[name][o, i] = state[s_name][so, si]
        moved += len(members)
    return permuted, moved


def connections(net, baseline, target, space, chosen, deg, seed):
    """Output difference (gradient-map MSE ×1000, vs the target's output) on the ``deg`` crops when the chosen
    filters are masked, and when their kernels are permuted among themselves within each layer."""
    from faig.inference import restore
    import torch
    folder = osp.join('datasets/SampleSet_crop64', TEST_FOLDERS[deg])
    images = {osp.splitext(n)[0]: read_image(p) for n, p in list_images(folder).items()}
    permuted, moved = permute_within_layers(target, space, chosen, np.random.default_rng([seed, 7, seed_of(deg)]))

    def outputs(state):
        net.load_state_dict(state)
        with torch.no_grad():
            return {s: image_gradient_map(restore(net, img)) for s, img in images.items()}

    reference = outputs(target)
    result = {}
    for label, state in (('masked', substitute_filters(baseline, target, chosen, space)), ('permuted', permuted)):
        per = per_image_difference(outputs(state), reference)
        result[label] = {'mean': float(np.mean(list(per.values()))), 'per_image': per}
    result['filters_moved'] = int(moved)
    return result


# ---- the study --------------------------------------------------------------------------------------

def run_settings(overrides, values):
    """{'section:key': value} of the overrides a run's key records (``section:key=text``): ``values`` as they are
    (names and paths: data, never parsed), the other texts read as YAML (faig.safe_yaml)."""
    settings = {}
    for entry in overrides:
        key, _, text = entry.partition('=')
        settings[key] = values[key] if key in values else parse_value(text, entry)
    return settings


def train_run(args, name, config, settings, log_folder, key):
    """train.py for one selection (resumes a stopped run of the same key); returns (net_g_latest.pth, wall seconds).
    ``settings`` ({'section:key': value}) are set in a copy of ``config`` as data: paths never pass through
    --force_yml text.

    The key of each started run is kept in experiments/retrain_study/<net>/keys/ (BasicSR may archive the
    experiment folder itself): a folder left under this name by a run of other or unknown settings (another
    seed, another ranking) is set aside, never resumed or reused."""
    folder = osp.join(ROOT, 'experiments', name)
    key_path = osp.join(ROOT, 'experiments', 'retrain_study', args.net, 'keys', f'{name}.json')
    recorded = read_json_or_set_aside(key_path, 'the key of this study run')
    if osp.isdir(folder) and (recorded is None or canonical(recorded) != canonical(key)):
        set_aside(folder, 'a run of other (or unrecorded) settings under this name', tag='superseded')
    write_bytes(key_path, json_bytes(key))
    latest = osp.join(folder, 'models', 'net_g_latest.pth')
    if not osp.isfile(latest):
        print(f'{name}: {train_in_subprocess(ROOT, config, settings):.0f} s', flush=True)
    copy_logs(folder, osp.join(log_folder, f'{name}.log'))
    return latest, logged_seconds(folder) or 0.0


def open_study(study_path, models, report_only=False):
    """The study record to continue for these models ({'baseline', 'target'}: file sha1). A record of other
    weights (e.g. from before a swap of the bundled pair) is set aside: its runs and connections must not be
    read against this pair's reference (``report_only``: refused instead, as that run would leave nothing)."""
    study = read_json_or_set_aside(study_path, 'the study record') or {}
    recorded = study.get('reference', {}).get('models')
    if recorded and recorded != models and (study.get('runs') or study.get('connections')):
        why = (f'recorded with other models (baseline {str(recorded.get("baseline"))[:8]}, '
               f'target {str(recorded.get("target"))[:8]}) than these')
        if report_only:
            raise InputError(f'{study_path}: {why}; run the study without --report_only to start it for these models')
        set_aside(study_path, why, tag='other-models')
        study = {}
    study.setdefault('runs', {})
    return study


@cli
def main(argv=None):
    args = parse_args(argv)
    # torch and matplotlib load where they are used, after the arguments: --help answers at once
    from faig.attribution.filters import FilterSpace
    from faig.figures import plot_recovered_shares
    os.chdir(ROOT)
    config = f'options/cpu/train_{args.net}_retrain.yml'
    models = {k: osp.join(args.models_dir, args.net, f'{k}_model.pth') for k in ('baseline', 'target')}
    for path in models.values():
        if not osp.isfile(path):
            raise InputError(f'{path}: model not found (--models_dir)')
    ranked = [method for method in RANKED if method == 'faig' or method in args.selections]
    for method in ranked:
        for deg in args.functions:
            path = osp.join(args.rankings_dir, method, f'{deg}_index.txt')
            if not osp.isfile(path):
                raise InputError(f'{path}: ranking not found; run `python scripts/reproduce.py --nets {args.net}` '
                                 'first (or give --rankings_dir)')
    if not osp.isdir(osp.join(DATA, 'GTmod12')) or not osp.isdir('datasets/SampleSet_crop64'):
        raise InputError(f'{DATA}: test sets not found; run `python scripts/reproduce.py --nets {args.net}` first')

    baseline, target = (load_params(models[k]) for k in ('baseline', 'target'))
    digests = {'baseline': state_digest(baseline), 'target': state_digest(target)}
    for method in ranked:
        check_provenance(osp.join(args.rankings_dir, method), digests, args.allow_other_models)  # made for these models
    space = FilterSpace(target)
    net = build_network(preset(args.net, 2)).eval()
    study_path = osp.join(args.out, 'study.json')
    with FolderLock(args.out):
        given = {k: sha1_file(p) for k, p in models.items()}
        study = open_study(study_path, given, args.report_only)
        if 'reference' not in study or study['reference'].get('models') != given:
            study['reference'] = {'models': given,
                                  'psnr': {k: psnr_per_image(net, s, osp.join('experiments', 'retrain_study', args.net,
                                                                               'outputs', k))
                                           for k, s in (('baseline', baseline), ('target', target))}}
        speed = ['model_type=ReTrainModel'] if args.speed == 'fp32' else [
            'train:autocast_bf16=true', 'train:channels_last=true']
        for deg in args.functions:
            chosen = selections(args, deg, space, also=('faig', ))  # FAIG's: the connections, whatever is retrained
            if not args.report_only:
                study.setdefault('connections', {})[deg] = connections(net, baseline, target, space, chosen['faig'],
                                                                       deg, args.seed)
            for selection in args.selections:
                filters = chosen[selection]
                name = run_name(args.net, deg, selection, args.iterations, args.proportion)
                sel_path = osp.join(args.out, 'selections', f'{deg}_{selection}.txt')
                selection_file(sel_path, filters, space.num_filters)
                ratio = len(filters) / space.num_filters + 1e-12
                overrides = [f'name={name}', f'train:finetuned_neuron_index_file={sel_path}',
                             f'train:neuron_ratio={ratio!r}',
                             f'train:total_iter={args.iterations}', f'train:scheduler:periods=[{args.iterations}]',
                             f'val:val_freq={args.iterations}', 'logger:save_checkpoint_freq=250',
                             f'path:pretrain_network_g={models["baseline"]}', *train_data(deg), *speed]
                settings = run_settings(overrides, {'name': name, 'train:finetuned_neuron_index_file': sel_path,
                                                    'train:neuron_ratio': ratio,
                                                    'path:pretrain_network_g': models['baseline']})
                key = {'config': config, 'config_sha1': sha1_file(config), 'overrides': overrides,
                       'selection_sha1': sha1_file(sel_path), 'baseline_sha1': study['reference']['models']['baseline']}
                if args.report_only or study['runs'].get(name, {}).get('key') == key:
                    continue
                weights, seconds = train_run(args, name, config, settings, osp.join(args.out, 'logs'), key)
                state = load_params(weights, 'params_ema')
                psnr = psnr_per_image(net, state, osp.join('experiments', 'retrain_study', args.net, 'outputs', name))
                study['runs'][name] = {'key': key, 'function': deg, 'selection': selection, 'filters': len(filters),
                                       'iterations': args.iterations, 'wall_seconds': seconds, 'psnr': psnr,
                                       'layers': len(set(space.layer_of(filters).tolist()))}
                commit_files(args.out, {'study.json': json_bytes(study)})  # after every run: resumable
        commit_files(args.out, {'study.json': json_bytes(study), 'study.md': report(study, args).encode()})
        if study['runs']:
            plot_recovered_shares(study, osp.join(args.out, 'recovered_share.png'), args.net, args.functions)
    print(report(study, args))
    print(f'-> {study_path}, {osp.join(args.out, "study.md")}')


def report(study, args):
    return (f'# Finding 2 on {args.net}: retraining only the discovered filters\n\n'
            f'scripts/retrain_study.py: from the bundled baseline, {args.proportion:g} % of the filters retrained, the '
            f'same budget and seed for every selection ({args.speed} training steps).\n\n'
            + markdown(study, args.net, args.functions))


if __name__ == '__main__':
    main()
