"""Attribution methods: one class per method on a shared base, in the spirit of Captum.

A method declares what it reads -- ``models`` (``'baseline'``, ``'target'``) and ``image_roles``
(besides the two degraded inputs: ``'gt'`` the HR ground truth, ``'clean'`` the clean LR image;
``None``: no images at all) -- and scores ONE image set in :meth:`AttributionMethod.attribute`.
Everything around it -- loading, checking, resuming, sharding over torchrun ranks, meta.json,
rankings -- is :func:`faig.attribution.pipeline.rank_dataset`'s, and the command line is built
from the declaration (:mod:`faig.cli.attribution`), its settings included: each :class:`Setting`
(name, type, default, bounds, help) becomes a flag. So a new method is one class: in this module,
in a file ``faig/attribution/<name>_method.py`` (imported automatically, as BasicSR imports its
``*_arch.py``), or in a file outside the package named by the ``FAIG_PLUGINS`` environment
variable (paths of .py files or module names, separated by ``os.pathsep``).

No torch import at module level: the command lines answer ``--help`` at once.
"""
import argparse
import importlib
import math
import os
import os.path as osp
from dataclasses import dataclass

from faig.attribution.modes import FAST_MODE, PRECISIONS
from faig.attribution.quadrature import METHODS as RULES
from faig.errors import InputError
from faig.registration import load_plugins
from faig.specs import NETWORKS, ResultsLayout
from faig.validation import SEED_LIMIT

METHODS = {}  # name -> class, in registration order (the paper's methods first)


def register(cls):
    """Class decorator: make a method known to the pipeline, ``python -m faig``, the comparison and the report
    (the one registry of methods: tables and figures read its label, colour and marker from the class)."""
    if not cls.name:
        raise ValueError(f'{cls.__name__}: an attribution method needs a name')
    known = METHODS.get(cls.name)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        # the same class registered again (its module reloaded) is fine; another one, even of the same class
        # name, would silently replace a method whose results then carry its name
        raise ValueError(f'{cls.__name__}: the attribution method name {cls.name!r} is taken by {known.__name__} '
                         f'({known.__module__}); choose another name')
    cls.label = cls.label or cls.name
    METHODS[cls.name] = cls
    return cls


_LOADED = []


def load_methods():
    """Import the package's ``*_method.py`` files and the ``FAIG_PLUGINS`` ones, once. Returns METHODS."""
    if _LOADED:
        return METHODS
    _LOADED.append(True)
    here = osp.dirname(osp.abspath(__file__))
    for file in sorted(os.listdir(here)):
        if file.endswith('_method.py'):
            importlib.import_module(f'faig.attribution.{file[:-3]}')
    load_plugins()
    return METHODS


def get_method(name):
    load_methods()
    if name not in METHODS:
        raise InputError(f'{name}: unknown attribution method; known: {", ".join(METHODS)}')
    return METHODS[name]


@dataclass(frozen=True)
class Setting:
    """One setting of a method, as data: the command line makes the flag ``--<name>`` of it, and its value is
    recorded under ``name`` in meta.json and the run key."""
    name: str
    type: type = str  # int, float or str: what the flag's text is read as
    default: object = None  # None: the method's own default (which may depend on the network)
    help: str = ''
    low: object = None  # the smallest value allowed
    high: object = None  # the largest value allowed
    choices: tuple = None
    keyword: str = None  # the method's constructor keyword (default: the name)

    def parse(self, text):
        """The value of a flag's ``text``; ``argparse.ArgumentTypeError`` (the parser names the flag) if none."""
        if self.type is str:
            return text
        kind = 'an integer' if self.type is int else 'a number'
        try:
            value = self.type(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'{text!r} is not {kind}') from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f'{text} is not a finite number')
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            raise argparse.ArgumentTypeError(f'{text}: a {self.name.replace("_", " ")} must be {kind} in '
                                             f'[{self.low}, {self.high}]')
        if self.low is not None and value < self.low:
            raise argparse.ArgumentTypeError(f'{text} must be >= {self.low}')
        if self.high is not None and value > self.high:
            raise argparse.ArgumentTypeError(f'{text} must be <= {self.high}')
        return value


# the settings of the path-integral methods
PATH_SETTINGS = (
    Setting('total_step', int, 100, 'number of quadrature nodes N', low=1, keyword='n_steps'),
    Setting('quadrature', str, None, "quadrature rule (default: the original script's)", choices=RULES,
            keyword='method'),
)


class AttributionContext:
    """What :meth:`AttributionMethod.setup` gets: the loaded models and the run's settings."""

    def __init__(self, net, baseline, target, space, device, degradations, channels_last=False, net_name=None):
        self.net, self.baseline, self.target, self.space = net, baseline, target, space
        self.device, self.degradations, self.channels_last, self.net_name = device, degradations, channels_last, net_name


class AttributionMethod:
    """Base of every method. Subclasses set the class attributes and override :meth:`attribute`
    (per image) or :meth:`attribute_models` (``image_roles = None``: no images)."""
    name = None  # registry key; folder of its rankings (neuron-search/<net>/<dataset>/<name>)
    script = None  # the original's script of it (analysis/tools/<net>/<script>.py), if it had one
    label = None  # in tables and figures (default: the name)
    color = None
    marker = 'o'
    description = ''  # the first line of its --help ({net}: the network, {pair}: the default degradation pair)
    models = ('baseline', 'target')  # the checkpoints it reads
    image_roles = ('gt', )  # image folders it reads besides the degradations; None: no images
    layout_role = None  # the image a --layout measurement runs on (default: the first degradation)
    run_key_drop = ()  # settings that do not change the scores (left out of the run key)
    unrecorded = ()  # pipeline fields (e.g. 'scale') this method's record leaves out
    setting_specs = ()  # its Settings: the constructor takes them by keyword, the command line as flags
    presets = {}  # {name: {'help': ..., 'settings': {flag name: value}}}: the flag --<name> sets them all

    def __init__(self, **settings):
        self.settings = dict(settings)

    @classmethod
    def network_defaults(cls, net):
        """{constructor keyword: value} of the settings whose default depends on the network ``net``."""
        return {}

    # ---- what is recorded ---------------------------------------------------------------
    def config(self):
        """JSON-able settings: recorded in meta.json and part of the run key."""
        return {'method': self.name, **self.settings}

    # ---- computing --------------------------------------------------------------------------
    def setup(self, context):
        """Called once per process before any image, with the models loaded (``context``)."""
        self.context = context

    def attribute(self, images, progress=False):
        """Scores of one image set: ``images`` is {role: 1CHW tensor} (its roles and the degradations).
        Returns {'scores': {degradation: float32 array, one value per filter}, **other arrays} (all
        numpy, so that the result can be stored for --resume and sent between ranks)."""
        raise NotImplementedError

    def attribute_models(self, context):
        """For methods without images: {degradation: scores} from the models alone."""
        raise NotImplementedError

    def combine(self, results):
        """{degradation: scores} of a data set from the per-image results (image order). Default: the sum."""
        total = {}
        for result in results:
            for deg, scores in result['scores'].items():
                total[deg] = scores.copy() if deg not in total else total[deg] + scores
        return total

    def image_record(self, name, result):
        """What meta.json lists for one image (default: its name)."""
        return {'image': name}

    def summary(self, records):
        """More meta.json entries from the per-image records."""
        return {}

    def extra_files(self, names, results):
        """More {file name: bytes} written with the rankings."""
        return {}

    def report_lines(self, meta):
        """Lines printed after the run."""
        return []


def _as_numpy(t):
    return t.float().cpu().numpy()


@register
class FAIG(AttributionMethod):
    """FAIG (paper Eq. 6-7): integrated gradients along the parameter path from the target to the
    baseline, times the weight change, summed over each kernel; s(x_a) - s(x_b) ranks the filters
    specific to degradation a, its negation those of b."""
    name, label, color, marker, script = 'faig', 'FAIG', 'tab:red', 'o', 'faig'
    description = 'FAIG: rank the filters of the {net} target model for two degradations (default {pair}).'
    models = ('baseline', 'target')
    image_roles = ('gt', )

    setting_specs = (
        *PATH_SETTINGS,
        Setting('precision', str, 'fp32', 'bf16: autocast (CPU AMX / CUDA); approximate, see docs/benchmarks.md',
                choices=PRECISIONS),
        Setting('nodes_per_pass', int, 1, 'path nodes evaluated in one batched pass (torch.func); for GPUs, where '
                'one node leaves the device idle. Same scores up to float rounding', low=1,
                keyword='internal_batch_size'),
    )
    presets = {'fast': {'help': f'the recommended fast mode: {FAST_MODE["help"]} (overrides --total_step etc.)',
                        'settings': FAST_MODE['settings']}}

    def __init__(self, n_steps=100, method='riemann_left', precision='fp32', internal_batch_size=1,
                 image_reduce='sum'):
        super().__init__(quadrature=method, total_step=n_steps, precision=precision,
                         nodes_per_pass=internal_batch_size, image_reduce=image_reduce)

    @classmethod
    def network_defaults(cls, net):
        """Per-image scores summed or averaged over the images, as the original script of ``net`` did."""
        return {'image_reduce': NETWORKS[net].faig_image_reduce} if net in NETWORKS else {}

    def config(self):
        return {'method': self.name, **{k: v for k, v in self.settings.items() if k != 'image_reduce'}}

    def setup(self, context):
        from faig.attribution.path import ParameterPath
        super().setup(context)
        self.path = ParameterPath(context.net, context.baseline, context.target, context.device,
                                  channels_last=context.channels_last)

    def attribute(self, images, progress=False, return_convergence_delta=True):
        """Per-filter s(x) of each degraded input of one ground truth, and (with
        ``return_convergence_delta``) the completeness of the path integral per input."""
        import numpy as np

        from faig.attribution.faig import faig_image
        s = self.settings
        degs = self.context.degradations
        scores, completeness = faig_image(self.context.space, self.path, {d: images[d] for d in degs}, images['gt'],
                                          s['total_step'], s['quadrature'], progress=progress,
                                          precision=s['precision'], nodes_per_pass=s['nodes_per_pass'])
        result = {'scores': scores}
        if return_convergence_delta:
            result['completeness'] = {d: np.array(completeness[d], dtype=np.float64) for d in degs}
        return result

    def combine(self, results):
        first, second = self.context.degradations
        total = None
        for result in results:  # per image s(x_a) - s(x_b), summed in image order (the original's order)
            diff = result['scores'][first] - result['scores'][second]
            total = diff if total is None else total + diff
        if self.settings['image_reduce'] == 'mean':
            total = total / len(results)
        return {first: total, second: -total}

    def image_record(self, name, result):
        return {'image': name, **{
            f'completeness_{d}': dict(zip(('sum_attribution', 'loss_difference', 'error'), map(float, c)))
            for d, c in result['completeness'].items()}}

    def summary(self, records):
        errors = [abs(r[k]['error']) / max(abs(r[k]['loss_difference']), 1e-12)
                  for r in records for k in r if k.startswith('completeness_')]
        return {'max_relative_completeness_error': max(errors)} if errors else {}

    def extra_files(self, names, results):
        """``per_image_scores.npz``: {image: s(x_a) - s(x_b)} (per-image robustness checks, faig.reporting)."""
        from faig.attribution.ranking import npz_bytes
        first, second = self.context.degradations
        return {ResultsLayout.PER_IMAGE_SCORES: npz_bytes({n: r['scores'][first] - r['scores'][second]
                                                           for n, r in zip(names, results)})}

    def report_lines(self, meta):
        if 'max_relative_completeness_error' not in meta:
            return []
        return ['completeness: max relative error |sum attribution - (L(baseline) - L(target))| / |...| = '
                f'{meta["max_relative_completeness_error"]:.3g}']


@register
class IG(AttributionMethod):
    """The paper's IG baseline: input-space integrated gradients on the target model only, from the
    clean LR image to each degraded one (faig.attribution.ig)."""
    name, label, color, marker, script = 'ig', 'IG', 'tab:blue', 's', 'ig'
    description = 'IG baseline: rank the filters of the {net} target model by input-space IG.'
    models = ('target', )
    image_roles = ('clean', )
    layout_role = 'clean'
    unrecorded = ('scale', )  # as the IG runs recorded before the one pipeline: their run keys stay valid

    setting_specs = PATH_SETTINGS

    def __init__(self, n_steps=100, method='riemann_left'):
        super().__init__(quadrature=method, total_step=n_steps)

    @classmethod
    def network_defaults(cls, net):
        """The quadrature rule of the original IG script of ``net``."""
        return {'method': NETWORKS[net].ig_method} if net in NETWORKS else {}

    def setup(self, context):
        import torch
        super().setup(context)
        self.net = context.net.to(context.device).eval()
        if context.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)

    def attribute(self, images, progress=False):
        from faig.attribution.ig import ig_image
        from faig.attribution.path import in_layout
        s, cl = self.settings, self.context.channels_last
        clean = in_layout(images['clean'], cl)
        return {'scores': {d: ig_image(self.context.space, self.net, clean, in_layout(images[d], cl), s['total_step'],
                                       s['quadrature'], progress=progress) for d in self.context.degradations}}


@register
class AbsoluteFilterChange(AttributionMethod):
    """|θ−θ̄|: relative weight change per filter (no images); the same ranking for both degradations."""
    name, label, color, marker, script = 'abs_filter_change', '|θ−θ̄|', 'tab:green', '^', 'absolute_filter_change'
    description = ('|theta - theta_bar|: rank filters by relative weight change (the same ranking is written for '
                   'both degradations).')
    models = ('baseline', 'target')
    image_roles = None

    def attribute_models(self, context):
        from faig.attribution.weights import absolute_filter_change
        scores = absolute_filter_change(context.space, context.baseline, context.target)
        return {d: scores for d in context.degradations}


@register
class RandomRanking(AttributionMethod):
    """Random baseline: one reproducible random permutation of the filters per degradation."""
    name, label, color, marker, script = 'random', 'random', 'tab:gray', 'x', 'random_neurons'
    description = 'Random baseline: one random permutation of the filters per degradation, reproducible with --seed.'
    models = ()
    image_roles = None

    setting_specs = (
        Setting('total_neuron_nums', int, None, 'number of filters (default: those of --network_g, else of the {net} '
                'preset at --scale)', low=1),
        Setting('seed', int, 0, 'random seed (0 <= seed < 2**32)', low=0, high=SEED_LIMIT - 1),
    )

    def __init__(self, seed=0, total_neuron_nums=None):
        super().__init__(seed=seed, total_neuron_nums=total_neuron_nums)

    def rankings(self, degradations):
        from faig.attribution.weights import random_rankings
        return random_rankings(self.settings['total_neuron_nums'], self.settings['seed'], degradations)


PAPER_METHODS = tuple(METHODS)  # in the order of the paper's tables; the first is the method under test

