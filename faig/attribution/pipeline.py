"""One pipeline for every attribution method: :func:`rank_dataset` (method, job) -> rankings.

It owns what no method should repeat: loading and checking the models and images, the run key
(settings + contents of models and images, never paths), the one-writer lock and the claim on the
output folder, the per-image partial results that make a killed run resumable (all through
:class:`faig.store.RunOutputs`), progress, meta.json and the rankings.
Under ``torchrun`` the images are dealt over the ranks (faig.attribution.ranks); rank 0 alone stores and writes.
"""
import json
import os.path as osp
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from faig.attribution.filters import require_weight_change, space_for_network
from faig.attribution.methods import AttributionContext
from faig.attribution.path import default_layout_cache, resolve_layout
from faig.attribution.ranking import RANKING_PATTERNS, rank, ranking_set
from faig.attribution.ranks import Ranks, collective
from faig.attribution.runner import check_image_sets, image_name, inputs_digest, load_image_set, show_steps
from faig.data.image_io import pair_by_name
from faig.errors import InputError, PeerError, WriteError, memory_guard
from faig.inference import image_channels
from faig.networks import build_network, check_compatible, fit, load_checkpoint
from faig.specs import DEFAULT_PAIR
from faig.store import RunOutputs, canonical, previous_partial, state_digest

PARTIAL_FORMAT = 2  # per-image results as {'scores/<deg>': ...}; earlier partial folders are not read
# where the models and images are, and which entry of a checkpoint held the weights: not what a result depends on
# (the weights' digests are)
PATHS = ('baseline_path', 'target_path', 'folders', 'checkpoints')
RUN_KEY_DROP = (*PATHS, 'layout_seconds', 'channels_last', 'partial_format')


@dataclass
class AttributionJob:
    """Where a run reads and writes (the method holds how it scores)."""
    out: str  # ranking folder
    degradations: tuple = DEFAULT_PAIR
    folders: dict = field(default_factory=dict)  # {role: folder}: the method's image roles and the degradations
    network: dict = None  # BasicSR network_g options (methods that read images build it)
    net_name: str = None  # the registered network the run is for (names, defaults)
    model_paths: dict = field(default_factory=dict)  # {'baseline': path, 'target': path}
    param_key: str = None
    scale: int = 2
    device: str = None
    layout: str = 'auto'
    resume: bool = False
    force: bool = False
    layers: tuple = None  # --layers patterns (faig.attribution.filters.parse_layers); None: every layer


@dataclass
class RankingResult:
    folder: str
    rankings: dict
    scores: dict
    meta: dict
    space: object = None
    up_to_date: bool = False


def run_key(config, drop=()):
    """What a ranking depends on: settings and the contents of models and images, not their paths."""
    return {k: v for k, v in config.items() if k not in (*RUN_KEY_DROP, *drop)}


def rank_difference(first, other, first_rank, other_rank, drop=()):
    """'<file or setting>: <how it differs>' between the run configs (:func:`run_config`) of two ranks,
    named ``first_rank`` and ``other_rank``; None when their run keys agree."""
    mine, theirs = canonical(run_key(first, drop)), canonical(run_key(other, drop))
    if mine == theirs:
        return None
    for kind in ('baseline', 'target'):
        if mine.get(kind) != theirs.get(kind):
            return (f'{other.get(f"{kind}_path")}: the {kind} model on {other_rank} is not the one on {first_rank} '
                    f'(sha1 {str(theirs.get(kind))[:12]}, not {str(mine.get(kind))[:12]})')
    ours, yours = mine.get('inputs') or {}, theirs.get('inputs') or {}
    for role in sorted(set(ours) | set(yours)):
        a, b = ours.get(role) or {}, yours.get(role) or {}
        folder = (other.get('folders') or {}).get(role) or (first.get('folders') or {}).get(role) or role
        for name in sorted(set(a) | set(b)):
            path = osp.join(folder, name)
            if name not in b:
                return f'{path}: missing on {other_rank}, present on {first_rank}'
            if name not in a:
                return f'{path}: present on {other_rank}, missing on {first_rank}'
            if a[name] != b[name]:
                return (f'{path}: other contents on {other_rank} than on {first_rank} '
                        f'(sha1 {b[name][:12]}, not {a[name][:12]})')
    for name in sorted(set(mine) | set(theirs)):
        if mine.get(name) != theirs.get(name):
            shown = lambda v: json.dumps(v)[:60] + ('…' if len(json.dumps(v)) > 60 else '')  # noqa: E731
            return (f'setting {name}: {shown(theirs.get(name))} on {other_rank}, '
                    f'{shown(mine.get(name))} on {first_rank}')
    return 'the settings differ'


def flatten(result, prefix=''):
    """A per-image result {key: array or {key: array}} as {'a/b': array} (for .npz) and back."""
    flat = {}
    for key, value in result.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f'{prefix}{key}/'))
        else:
            flat[f'{prefix}{key}'] = value
    return flat


def unflatten(flat):
    result = {}
    for key, value in flat.items():
        *parents, leaf = key.split('/')
        node = result
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return result


def load_models(method, job):
    """(network or None, baseline state or None, target state or None, {kind: what was read of its
    checkpoint}), checked."""
    loaded = {kind: load_checkpoint(job.model_paths[kind], job.param_key) for kind in method.models}
    states = {kind: state for kind, (state, _) in loaded.items()}
    read = {kind: record for kind, (_, record) in loaded.items()}
    baseline, target = states.get('baseline'), states.get('target')
    if baseline is not None and target is not None:
        check_compatible(baseline, target, job.model_paths['baseline'], job.model_paths['target'])
    net = None
    if job.network is not None and target is not None:  # the network tells the filter space its layer kinds
        net = fit(build_network(job.network), target, job.model_paths['target'], job.network).eval()
    return net, baseline, target, read


def run_config(method, job, baseline, target, pairs, space=None, read=None):
    """The settings recorded in meta.json (the run key is them less paths and layout). ``read``: {kind:
    :func:`faig.networks.load_checkpoint`'s record}, kept as ``checkpoints`` (the entry read, the prefix stripped)."""
    config = method.config()
    if pairs is not None:
        config.update(network=job.network, scale=job.scale, folders=dict(job.folders), inputs=inputs_digest(pairs))
        for name in method.unrecorded:  # what the original's record of this method never held (IG: the scale)
            config.pop(name, None)
    config['degradations'] = list(job.degradations)
    if job.layers:
        config['layers'] = list(job.layers)
    described = space.describe() if space is not None else None
    if described and set(described['kinds']) != {'conv'}:
        config['filter_space'] = described['digest']  # Linear / ConvTranspose layers are filters too
    for kind, state in (('baseline', baseline), ('target', target)):
        if state is not None:
            config[kind] = state_digest(state)
            config[f'{kind}_path'] = job.model_paths[kind]
    if read:
        config['checkpoints'] = {kind: dict(record) for kind, record in read.items()}
    return config


def run_outputs(job, key, resumable, drop=()):
    """The ranking folder of ``job`` for the run key ``key`` (faig.store.RunOutputs); ``resumable``: per-image
    partial results, resumed when their settings less paths and layout are ``key``."""
    return RunOutputs(job.out, key, RANKING_PATTERNS, job.force, job.resume,
                      partial_ignore=(*RUN_KEY_DROP, *drop) if resumable else None)


def choose_layout(job, net, sample):
    """An interrupted run keeps the layout it started with (its partial results stay comparable);
    otherwise ``job.layout`` (measured when 'auto', see faig.attribution.path.resolve_layout)."""
    previous = previous_partial(job.out) if not job.force or job.resume else None
    if job.layout == 'auto' and previous and 'channels_last' in previous:
        return previous['channels_last'], previous.get('layout_seconds')
    return resolve_layout(job.layout, net, sample, cache_path=default_layout_cache())


def rank_dataset(method, job, ranks=None):
    """Score every image set of ``job`` with ``method``, rank, write ``job.out``. Returns a
    :class:`RankingResult` on rank 0 (None on the other ranks). ``ranks``: the group already joined (by a
    command line that checked its flags on every rank); else joined here."""
    ranks = ranks or Ranks(job.device)
    try:
        with torch.enable_grad():
            result = _rank_dataset(method, job, ranks)
    except BaseException as exc:
        ranks.stop(exc)
        raise
    ranks.close()
    return result


@dataclass
class Prepared:
    """What every rank loads and checks before the ranks compare run keys."""
    net: object
    baseline: dict
    target: dict
    space: object
    pairs: list
    channels: tuple
    config: dict


def prepare(method, job):
    """Load and check the models and images of ``job`` (on every rank), and make the run config."""
    if method.image_roles is not None and job.network is None:
        raise InputError(f'{method.name}: reads images, so the job needs the network options (AttributionJob.network)')
    net, baseline, target, read = load_models(method, job)
    if target is not None:
        space = space_for_network(net if net is not None else target, job.layers)
    elif job.network is not None:  # no weights (random): the filters of the network described
        space = space_for_network(build_network(job.network), job.layers)
    else:
        space = None
    if baseline is not None:
        require_weight_change(space, baseline, target, job.model_paths['baseline'], job.model_paths['target'])
    pairs = channels = None
    if method.image_roles is not None:
        pairs = pair_by_name({role: job.folders[role] for role in (*method.image_roles, *job.degradations)})
        channels = image_channels(net)  # a 1-channel (Y) network reads gray images
        check_image_sets(pairs, job.scale, gt_role='gt' if 'gt' in method.image_roles else None, channels=channels)
    config = run_config(method, job, baseline, target, pairs, space, read)
    return Prepared(net, baseline, target, space, pairs, channels, config)


def _rank_dataset(method, job, ranks):
    degs = tuple(job.degradations)
    device = ranks.device
    prepared = ranks.agree(lambda: prepare(method, job), summary=lambda p: p.config,
                           differ=lambda *args: rank_difference(*args, drop=method.run_key_drop))
    net, baseline, target, space = prepared.net, prepared.baseline, prepared.target, prepared.space
    pairs, channels, config = prepared.pairs, prepared.channels, prepared.config
    key = run_key(config, method.run_key_drop)
    agreed = {'ranks_agreed': ranks.record(key)} if ranks.world > 1 else {}
    start = time.time()

    if pairs is None:  # scores from the models alone: no images, nothing to share out
        if not ranks.main:
            return None
        context = AttributionContext(net, baseline, target, space, device, degs, net_name=job.net_name)
        with run_outputs(job, key, resumable=False, drop=method.run_key_drop) as outputs:
            if target is None:
                rankings, scores = method.rankings(degs), None
            else:
                scores = method.attribute_models(context)
                rankings = {d: rank(s) for d, s in scores.items()}
            meta = {**config, 'run_key': key, **({'filter_space': space.describe()} if space else {}), **agreed}
            if space is not None and target is None and space.num_filters != method.settings.get('total_neuron_nums'):
                raise InputError(f'--total_neuron_nums {method.settings.get("total_neuron_nums")}: the network has '
                                 f'{space.num_filters} filters' + (' in --layers' if job.layers else ''))
            outputs.commit(ranking_set(job.out, rankings, scores, meta))
        return RankingResult(job.out, rankings, scores, meta, space)

    outputs = run_outputs(job, key, resumable=True, drop=method.run_key_drop)
    held = {}

    def open_store():
        """Rank 0: the lock, the claim on the folder, the layout, the partial results -- any failure here
        reaches every rank through :meth:`Ranks.decide` (no rank is left waiting in a collective)."""
        outputs.__enter__()
        held['lock'] = True
        if outputs.up_to_date and all(osp.isfile(osp.join(job.out, f'{d}_index.txt')) for d in degs):
            return None  # (a folder whose record matches but whose index files were removed is computed again)
        role = method.layout_role or degs[0]
        with memory_guard(pairs[0][role], memory_hint(method)):
            sample = load_image_set(pairs[0], job.scale, device, gt_role='gt' if 'gt' in method.image_roles else None,
                                    channels=channels)[role]
            channels_last, seconds = choose_layout(job, net.to(device), sample)
        layout = {'channels_last': channels_last, 'layout_seconds': seconds}
        held['store'] = outputs.partial({**config, **layout, 'partial_format': PARTIAL_FORMAT},
                                        ignore=(*PATHS, *method.run_key_drop))
        return layout

    try:
        layout = ranks.decide(open_store)
        if layout is None:
            if ranks.main:
                print(f'{job.out}: results of these settings are there already (--resume); nothing to do')
            return RankingResult(job.out, None, None, None, space, up_to_date=True) if ranks.main else None
        config.update(layout)
        store = held.get('store')
        try:
            results = score_images(method, job, ranks, pairs, store, channels,
                                   AttributionContext(net.to(device), baseline, target, space, device, degs,
                                                      layout['channels_last'], job.net_name))
            if not ranks.main:
                return None
            names = [image_name(p) for p in pairs]
            scores = method.combine([results[n] for n in names])
            rankings = {d: rank(s) for d, s in scores.items()}
            records = [{**method.image_record(n, results[n]), 'seconds': round(float(results[n]['seconds']), 2)}
                       for n in names]
            meta = {**config, 'run_key': key, 'seconds': round(time.time() - start, 1), 'device': str(device),
                    'ranks': ranks.world, **agreed, 'filter_space': space.describe(), 'images': records,
                    **method.summary(records)}
            outputs.commit(ranking_set(job.out, rankings, scores, meta,
                                       extra=method.extra_files(names, [results[n] for n in names])))
        except InputError as exc:
            if store is not None and not isinstance(exc, (WriteError, PeerError)):
                store.discard()  # bad input: nothing of this run to resume; a failed write keeps it
            raise
        return RankingResult(job.out, rankings, scores, meta, space)
    finally:
        if held.get('lock'):
            outputs.__exit__(None, None, None)


def memory_hint(method):
    """What to change when an image does not fit in memory."""
    nodes = method.settings.get('nodes_per_pass')
    fewer = f'a smaller --nodes_per_pass (now {nodes}), ' if isinstance(nodes, int) and nodes > 1 else ''
    return f'use {fewer}smaller (cropped) images or a machine with more memory'


def score_images(method, job, ranks, pairs, store, channels, context):
    """{image name: result} of every image set: finished ones from ``store`` (rank 0), the others
    computed by the ranks in rounds, stored by rank 0 after each round."""
    names = [image_name(p) for p in pairs]
    results = {}
    if ranks.main:
        for name in names:
            cached = store.get(name)
            if cached is not None:
                results[name] = unflatten(cached)
    todo = ranks.decide(lambda: [i for i, n in enumerate(names) if n not in results])
    ranks.agree(lambda: method.setup(context))  # a rank that cannot set up (memory, a plugin's check) stops all
    gt_role = 'gt' if 'gt' in method.image_roles else None
    title = method.label or method.name
    steps = method.settings.get('total_step')
    desc = f'{title} ({steps} steps, {method.settings.get("quadrature")})' if steps else title
    bar = tqdm(total=len(pairs), initial=len(pairs) - len(todo), desc=desc, unit='img', disable=not ranks.main)
    try:
        for first in range(0, len(todo), ranks.world):
            mine = todo[first + ranks.rank] if first + ranks.rank < len(todo) else None
            item = None
            if mine is not None:
                pair = pairs[mine]
                bar.set_postfix_str(names[mine])
                try:
                    began = time.time()
                    with memory_guard(next(p for r, p in pair.items() if r != gt_role), memory_hint(method)):
                        tensors = load_image_set(pair, job.scale, context.device, gt_role=gt_role, channels=channels)
                        result = method.attribute(tensors, progress=ranks.main and ranks.world == 1
                                                  and show_steps(pairs, tensors))
                    result['seconds'] = np.array(time.time() - began)
                    item = ('ok', mine, flatten(result))
                except InputError as exc:
                    item = ('error', mine, str(exc))
            items = ranks.exchange(item)
            errors = [it for it in items if it is not None and it[0] == 'error']

            def keep(items=items):  # rank 0 stores the round (a failed write reaches every rank)
                for it in items:
                    if it is not None and it[0] == 'ok':
                        store.put(names[it[1]], it[2])
                        results[names[it[1]]] = unflatten(it[2])
                bar.update(sum(it is not None for it in items))

            ranks.decide(keep)
            if errors:
                own = item is not None and item[0] == 'error'
                # rank 0 speaks (and discards the partial results) for every rank's bad input, as one process
                # would; another rank raises only what it met itself, the rest silently (PeerError)
                raise collective((InputError if own or ranks.main else PeerError)(item[2] if own else errors[0][2]))
    finally:
        bar.close()
    return results
