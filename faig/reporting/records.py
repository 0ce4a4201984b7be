"""Reading the records a report is made from: a run's report JSON and the --full reference records, the
comparison, the rankings (their filter space, pair and per-image scores), the attribution times, and whether a
committed study was made with the models there now."""
import os
import os.path as osp

import numpy as np

from faig.attribution.ranking import ranking_space
from faig.errors import InputError
from faig.evaluation.comparison import read_comparison
from faig.networks import build_network, fit, load_params, preset
from faig.paths import BUNDLED_MODELS
from faig.specs import DEFAULT_PAIR, NETWORKS
from faig.store import read_record, same_model, sha1_file, state_digest

DEFAULT_BUDGET = {'steps': 16, 'crop': 64}  # scripts/reproduce.py without options
FULL_BUDGET = {'steps': 100, 'crop': None}  # scripts/reproduce.py --full
REFERENCE = 'reference'


def setting_name(settings):
    """``settings['setting']``, else as scripts/reproduce.py names it (e.g. 'steps16_riemann_left_crop64')."""
    if settings.get('setting'):
        return settings['setting']
    crop = settings.get('crop')
    return f'steps{settings["steps"]}_{settings["quadrature"]}_' + ('full' if crop is None else f'crop{crop}')


def budget_settings(quadrature):
    """(default budget's setting name, --full's setting name) for a quadrature rule."""
    return tuple(setting_name({**budget, 'quadrature': quadrature}) for budget in (DEFAULT_BUDGET, FULL_BUDGET))


def reference_path(results, net, setting):
    """Where a --full run keeps the record of ``net`` (its report JSON entry with the per-image verdicts and wall
    times): ``<results>/reference/<net>/report_<setting>.json``. Only a --full run writes there; the report of
    any run reads it, so that the records can be committed and compared with on a fresh clone."""
    return osp.join(results, REFERENCE, net, f'report_{setting}.json')


def read_reference(results, setting):
    """The reference records of ``setting`` of every network, as one report JSON (``'nets'``: {net: entry});
    None without any."""
    found = {}
    folder = osp.join(results, REFERENCE)
    for net in sorted(os.listdir(folder)) if osp.isdir(folder) else ():
        data = read_report_json(reference_path(results, net, setting))
        if data and net in data['nets']:
            entry = data['nets'][net]
            found[net] = (data, {**entry, 'generated': entry.get('generated', data.get('generated'))})
    if not found:
        return None
    latest = max((data for data, _ in found.values()), key=lambda d: str(d.get('generated')))
    return {**latest, 'nets': {net: entry for net, (_, entry) in found.items()}}


def budget_records(root, results_dir, quadrature):
    """(the default-budget run's record, the --full reference records) in ``<root>/<results_dir>``, None where
    there is none; the reference records name their folder as ``<results_dir>/reference``."""
    results = osp.join(root, results_dir)
    default_setting, full_setting = budget_settings(quadrature)
    full = read_reference(results, full_setting)
    if full:
        full['folder'] = osp.join(results_dir, REFERENCE)
    return read_report_json(osp.join(results, f'report_{default_setting}.json')), full


def pair_sha1(root, models_dir, net):
    """{'baseline_sha1', 'target_sha1'} of a net's model files in ``models_dir`` (None for a missing file)."""
    paths = {f'{kind}_sha1': osp.join(root, models_dir, net, f'{kind}_model.pth') for kind in ('baseline', 'target')}
    return {key: sha1_file(path) if osp.isfile(path) else None for key, path in paths.items()}


def of_other_models(entry, now):
    """Whether a report JSON's net entry was made with other models than ``now`` ({'baseline_sha1',
    'target_sha1'} of the files there now; None: unknown). Older entries record the target only."""
    if not now:
        return False
    return entry.get('target_sha1') != now.get('target_sha1') or \
        entry.get('baseline_sha1', now.get('baseline_sha1')) != now.get('baseline_sha1')


def read_report_json(path):
    data = read_record(path, 'report record', bad='skip')
    return data if data and 'nets' in data and 'setting' in data else None


def report_space(search, net, target_path):
    """The filter space of the FAIG ranking in ``search``: of the network (every layer kind, its --layers),
    built from the network's spec when it has one, else from the checkpoint (conv weights)."""
    params = load_params(target_path)
    if net in NETWORKS:
        opt = preset(net, 2)
        try:
            return ranking_space(search, fit(build_network(opt), params, target_path, opt))
        except InputError:
            pass  # another scale or arch than the preset: the checkpoint's conv weights
    return ranking_space(search, params)


def load_comparison(path):
    """:func:`read_comparison`, with a clear message for a comparison.csv of an older version."""
    try:
        means, per_image = read_comparison(path)
    except KeyError as exc:
        raise InputError(f'{path}: no {exc} column (written by an older version); rerun the comparison stage '
                         '(delete the file or run scripts/reproduce.py --force)') from None
    if 'faig' not in {key[0] for key in means} or 1 not in {key[1] for key in means}:
        raise InputError(f'{path}: the findings are read for FAIG at 1 % of the filters; this comparison has no such '
                         'rows (run it with --methods including faig and --proportions including 1)')
    return means, per_image


def read_per_image_scores(path, num_filters):
    """{image: s(x_blur) - s(x_noise)} from per_image_scores.npz ({} when the file is absent)."""
    if not osp.isfile(path):
        return {}
    with np.load(path) as data:
        scores = {stem: np.asarray(data[stem]) for stem in data.files}
    for stem, diff in scores.items():
        if diff.shape != (num_filters,):
            raise InputError(f'{path}: {stem} has {diff.size} scores but the network has {num_filters} filters '
                             '(made for another network?)')
    return scores


def other_models_note(root, net, recorded, study, command, shown_by_file=False):
    """The report's line when a committed study of ``net`` was made with models other than the bundled pair
    now (e.g. after a swap), else None: its numbers would otherwise be shown as if they were of this pair.

    ``recorded``: {'baseline'|'target': identity} from the study's record, compared by
    :func:`faig.store.same_model`; ``shown_by_file``: the line shows the bundled models by file sha1, the identity
    such a record holds (the retraining study's), else by state digest."""
    recorded = recorded or {}
    now, differ = {}, []
    for kind in ('baseline', 'target'):
        path = osp.join(root, BUNDLED_MODELS, net, f'{kind}_model.pth')
        state = load_params(path) if osp.isfile(path) else None
        if state is not None:
            now[kind] = sha1_file(path) if shown_by_file else state_digest(state)
        if state is None or not same_model(recorded.get(kind), path, state):
            differ.append(kind)
    if not differ:
        return None
    shown = ', '.join(f'{k} {str(recorded.get(k))[:8]} (bundled now: {str(now.get(k))[:8]})' for k in differ)
    return (f'{net}: the {study} on record was made with other models than the bundled pair ({shown}; '
            f'{"file sha1" if shown_by_file else "state digest"}), so its numbers are left out; rerun `{command}`.')


def recorded_pair(rankings_folder):
    """The degradation pair the rankings' meta.json records (``degradations``); the paper's pair for rankings
    without one (older runs, hand-made ones)."""
    path = osp.join(rankings_folder, 'meta.json')
    recorded = (read_record(path, 'record of these rankings', bad='skip') or {}).get('degradations')
    if recorded is None:
        return tuple(DEFAULT_PAIR)
    if not (isinstance(recorded, list) and len(recorded) == 2 and all(isinstance(d, str) for d in recorded)):
        raise InputError(f'{path}: degradations: expected two names, got {recorded!r}')
    return tuple(recorded)


def attribution_seconds(root, layout):
    """{'faig'|'ig': {image: seconds}, 'device'} from the FAIG and IG rankings' meta.json (a resumed run keeps
    the times of the images it had finished); {} without them."""
    out = {}
    for method in ('faig', 'ig'):
        meta = read_record(osp.join(root, layout.rankings(method), 'meta.json'), 'record of these rankings',
                           bad='skip')
        if meta is None:
            continue
        out[method] = {r['image']: r['seconds'] for r in meta.get('images', []) if 'seconds' in r}
        if meta.get('device'):
            out.setdefault('device', meta['device'])
    return out

