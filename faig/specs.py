"""What the tools know about networks and degradations, in one place (no torch import).

A network spec holds the BasicSR options of a paper network and the few things the
original scripts did differently per network; a degradation spec names an input
degradation, its test folder and the function a filter that removes it performs.
Registering a new network or degradation here is all the command lines need.
"""
import os.path as osp
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field

from faig.files import fit_name


@dataclass(frozen=True)
class NetworkSpec:
    name: str  # the name in analysis/tools/<name>/ and in results/Interpret/*/<name>
    arch: dict  # BasicSR network options without the scale
    scale_key: str  # the arch's keyword for the upscale factor
    flag_prefix: str  # prefix of the original's --<prefix>_neuron_folder flags
    ig_method: str = 'riemann_left'  # the original IG script's quadrature
    faig_image_reduce: str = 'sum'  # 'sum' or 'mean' of per-image FAIG scores (original scripts differ)
    paper_locates_filters: bool = False  # the paper states its finding on filter locations for this network
    num_filters_x2: int = 0  # filters at x2 (random_neurons' default --total_neuron_nums)
    arch_module: str = None  # the module that registers its arch type, imported alone for a fast start

    @property
    def arch_type(self):
        return self.arch.get('type')

    def options(self, scale):
        """BasicSR ``network_g`` options at ``scale``."""
        opt = deepcopy(self.arch)
        opt[self.scale_key] = scale
        return opt


# Checks of a degradation parameter: what the value must be (for the message) and the test.
PARAM_CHECKS = {
    'a positive odd integer': lambda v: _is_int(v) and v > 0 and v % 2 == 1,
    'a positive number': lambda v: _is_number(v) and v > 0,
    'zero or a positive number': lambda v: _is_number(v) and v >= 0,
    'an integer in [0, 100]': lambda v: _is_int(v) and 0 <= v <= 100,
}


def _is_number(value):
    import math
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value):
    return _is_number(value) and float(value).is_integer()


@dataclass(frozen=True)
class DegradationParam:
    """One parameter of a degradation's applier: its default, what it must be, and its generate_lr flag."""
    name: str
    default: object
    check: str  # a key of PARAM_CHECKS
    flag: str = None  # generate_lr.py's flag (default --<degradation>_<name>)
    help: str = ''

    def problem(self, value):
        """``'must be <check>, got <value>'`` for a bad value, else None."""
        if PARAM_CHECKS[self.check](value):
            return None
        return f'must be {self.check}, got {value!r}'

    @property
    def integer(self):
        return isinstance(self.default, int) and not isinstance(self.default, bool)


@dataclass(frozen=True)
class DegradationSpec:
    name: str  # 'blur': key of index files (<name>_index.txt) and of result tables
    folder: str  # default LR folder of the test set
    adjective: str  # 'blurry' (the input)
    function: str  # 'deblurring' (what a filter specific to it does)
    short: str  # 'deblur' (the original's folder names: mask<short>filter, Modulation-<short>-filter)
    # How to apply it (generate_lr.py, the training dataset); a spec without an applier only names results.
    # stage: where it acts in HR -> LR: 'hr' before the downsampling (blur), 'lr' after it (noise, JPEG).
    stage: str = None
    # applier: f(img, rng, **params) -> img on HWC BGR float images in [0, 1]; a callable, or 'module:function'
    # (imported when first applied, so that this module stays free of torch/basicsr imports).
    applier: object = None
    params: tuple = ()  # DegradationParam, in the order random choices are drawn for them
    folder_pattern: str = None  # LR folder at other scales/parameters, e.g. 'LRbicx{scale}_jpeg{quality:g}'

    @property
    def mask_kind(self):
        return f'mask{self.short}filter'

    @property
    def modulation_kind(self):
        return f'Modulation-{self.short}-filter'

    @property
    def input_title(self):
        return f'{self.adjective} input'

    @property
    def appliable(self):
        return self.applier is not None and self.stage in ('hr', 'lr')

    @property
    def defaults(self):
        """{parameter: default value}."""
        return {p.name: p.default for p in self.params}

    def param(self, name):
        return next((p for p in self.params if p.name == name), None)

    def check_params(self, params):
        """The first problem of ``params`` (applier keywords) as ``'<param>: <problem>'``, or None."""
        for name, value in params.items():
            spec = self.param(name)
            if spec is None:
                return f'{name}: not a parameter of {self.name} (its parameters: ' \
                       f'{", ".join(p.name for p in self.params) or "none"})'
            problem = spec.problem(value)
            if problem:
                return f'{name}: {problem}'
        return None

    def lr_folder(self, scale=2, **params):
        """Name of its LR test folder at ``scale`` with ``params`` (defaults for the rest)."""
        if self.folder_pattern is None:
            return self.folder
        return self.folder_pattern.format(scale=scale, **{**self.defaults, **params})

    def apply(self, img, rng, **params):
        """Apply it to ``img`` (HWC float in [0, 1]); ``rng``: a numpy Generator or np.random (for noise)."""
        if not self.appliable:
            from faig.errors import InputError
            raise InputError(f'{self.name}: degradation without an applier (register one in faig/specs.py)')
        func = self.applier
        if isinstance(func, str):
            import importlib
            module, _, attr = func.partition(':')
            func = getattr(importlib.import_module(module), attr)
        return func(img, rng, **{**self.defaults, **params})


def appliable_degradation(name, where):
    """The registered spec of ``name`` that can be applied; else InputError ``'<where>: <problem>'``."""
    from faig.errors import InputError
    known = ', '.join(sorted(n for n, spec in DEGRADATIONS.items() if spec.appliable))
    if name not in DEGRADATIONS:
        raise InputError(f'{where}: unknown degradation {name!r}; registered: {known}')
    if not DEGRADATIONS[name].appliable:
        raise InputError(f'{where}: degradation {name!r} has no applier; these have: {known}')
    return DEGRADATIONS[name]


NETWORKS = {}
DEGRADATIONS = {}


def register_network(spec):
    NETWORKS[spec.name] = spec
    return spec


def register_degradation(spec):
    DEGRADATIONS[spec.name] = spec
    return spec


register_network(NetworkSpec(
    'srresnet', {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 64, 'num_block': 16}, 'upscale',
    flag_prefix='srresnet', ig_method='riemann_left', faig_image_reduce='sum', paper_locates_filters=True,
    num_filters_x2=151936,
    arch_module='basicsr.archs.srresnet_arch'))
register_network(NetworkSpec(
    'srcnn_style', {'type': 'srcnn_style_net'}, 'scale',
    flag_prefix='srcnn', ig_method='riemann_closed_sum', faig_image_reduce='mean', num_filters_x2=156224,
    arch_module='faig.archs.srcnn_style_arch'))
DEFAULT_NETWORK = 'srresnet'  # the per-network tools' --net default

register_degradation(DegradationSpec(
    'blur', 'Blur2_LRbicx2', 'blurry', 'deblurring', 'deblur', stage='hr', applier='faig.data.degradations:apply_blur',
    params=(DegradationParam('kernel_size', 21, 'a positive odd integer', '--kernel_size', 'blur kernel size'),
            DegradationParam('sigma', 2.0, 'a positive number', '--kernel_sigma', 'blur sigma')),
    folder_pattern='Blur{sigma:g}_LRbicx{scale}'))
register_degradation(DegradationSpec(
    'noise', 'LRbicx2_noise0.1', 'noisy', 'denoising', 'denoise', stage='lr',
    applier='faig.data.degradations:apply_noise',
    params=(DegradationParam('sigma', 0.1, 'zero or a positive number', '--noise_sigma',
                             'noise sigma on the [0, 1] scale'), ),
    folder_pattern='LRbicx{scale}_noise{sigma:g}'))
register_degradation(DegradationSpec(
    'jpeg', 'LRbicx2_jpeg30', 'JPEG-compressed', 'JPEG-artifact removal', 'dejpeg', stage='lr',
    applier='faig.data.degradations:apply_jpeg',
    params=(DegradationParam('quality', 30, 'an integer in [0, 100]', help='JPEG quality (OpenCV encoder)'), ),
    folder_pattern='LRbicx{scale}_jpeg{quality:g}'))
# The original's scripts name flags after these two (--blur_folder, --noisy_neuron_txt, --save_blur_folder, ...):
# the tools keep those flags, made from the specs of this pair.
ORIGINAL_PAIR = ('blur', 'noise')
DEFAULT_PAIR = ORIGINAL_PAIR
CLEAN_FOLDER = 'Linear_LRbicx2'  # clean (bilinear) LR: IG's input-space baseline


def network(name):
    from faig.errors import InputError
    if name not in NETWORKS:
        raise InputError(f'--net {name}: unknown network; known: {", ".join(sorted(NETWORKS))}')
    return NETWORKS[name]


def generic_network(name, arch, num_filters=0):
    """Spec of a network known only from its ``--network_g`` options (any BasicSR arch), named ``name``
    (``python -m faig`` names it by its ``type``, lower-cased): the NetworkSpec defaults (per-image FAIG
    scores summed, left-Riemann IG), ``name`` as flag prefix, and ``num_filters`` (the network's own
    filter count, at its own scale) as random_neurons' default --total_neuron_nums. Register it with
    :func:`register_network` for the tools to find it."""
    arch = dict(arch)
    scale_key = next((k for k in ('upscale', 'scale', 'upscale_factor') if k in arch), 'upscale')
    arch.pop(scale_key, None)
    return NetworkSpec(name, arch, scale_key, flag_prefix=name, num_filters_x2=int(num_filters))


def degradation(name):
    """The registered spec, or a generic one for a name registered nowhere (folder = the name)."""
    if name in DEGRADATIONS:
        return DEGRADATIONS[name]
    return DegradationSpec(name, name, name, f'{name}-removing', name)


def pair(deg_a, deg_b):
    from faig.errors import InputError
    if deg_a == deg_b:
        raise InputError(f'--deg_a/--deg_b: the two degradations must differ (both {deg_a!r})')
    return degradation(deg_a), degradation(deg_b)


RESULTS = 'results'  # the bundled pairs' results (reproduce.py); another pair's go to results/staged/<its folder>
_results = [RESULTS]


def results_folder():
    """The results folder the tools of this process write to (``results``, or the one a study set)."""
    return _results[-1]


@contextmanager
def results_in(folder):
    """Every ``ResultsLayout`` made inside points under ``folder`` (``<folder>/Interpret``, ``<folder>/report``):
    reproduce.py runs the study of a staged pair there, so the bundled pairs' results stay as they were."""
    _results.append(folder)
    try:
        yield folder
    finally:
        _results.pop()


def study_results_folder(models_dir):
    """The results folder of a study of the pairs in ``models_dir`` (relative to the repository): ``results`` for
    the bundled pairs, else ``results/staged/<models_dir>``, one folder per models folder (a folder outside the
    repository is named by its last part and a hash of its absolute path)."""
    from faig.paths import BUNDLED_MODELS
    if osp.normpath(models_dir) == osp.normpath(BUNDLED_MODELS):
        return RESULTS
    parts = osp.normpath(models_dir).split(osp.sep)
    if osp.isabs(models_dir) or '..' in parts:
        import hashlib
        digest = hashlib.sha1(osp.abspath(models_dir).encode()).hexdigest()[:8]
        parts = ['outside', f'{parts[-1]}-{digest}']
    return '/'.join([RESULTS, 'staged', *parts])


@dataclass(frozen=True)
class ResultsLayout:
    """Every path a tool writes under ``results/Interpret`` (the original's layout), and the names of the files
    that one tool writes and another reads, in one place."""
    net: str
    dataset: str
    root: str = field(default_factory=lambda: f'{results_folder()}/Interpret')
    overrides: dict = field(default_factory=dict)  # e.g. {'neuron_search': <--srresnet_neuron_folder>}

    # file names shared by a writer and its readers (class constants: no layout object needed to use them)
    PER_IMAGE_SCORES = 'per_image_scores.npz'  # in a FAIG ranking folder: {image: s(x_a) - s(x_b)}
    COMPARISON_CSV = 'comparison.csv'  # in the metrics folder, with per-image rows
    COMPARISON_MD = 'comparison.md'
    MODULATION_RECORD = 'differences.json'  # in a modulation folder: lambdas and output differences
    CONTACT_SHEET = 'contact_sheet.png'  # beside it
    TEASER_IMAGE = 'astronaut'  # the test image of the report's masking figure

    def figure(self, kind, image=None):
        """A figure of the figures folder: 'proportion_curves' and 'masking' (of ``image``) are per data set."""
        names = {'proportion_curves': f'proportion_curves_{self.dataset}.png',
                 'masking': f'masking_{self.dataset}_{image or self.TEASER_IMAGE}.png',
                 'filter_distribution': 'filter_distribution.png'}
        return f'{self.figures()}/{fit_name(names[kind])}'

    def psnr_record(self, kind):
        """``results/report/<net>_<kind>_psnr.json``: inference's PSNR of the ``kind`` model (reproduce -> report)."""
        return f'{osp.dirname(self.root) or "."}/report/{self.net}_{kind}_psnr.json'

    def _base(self, kind, default):
        return self.overrides.get(kind) or f'{self.root}/{default}/{self.net}'

    def rankings(self, method):
        """Ranking folder: {deg}_index.txt, {deg}_scores.npy, meta.json."""
        return f'{self._base("neuron_search", "neuron-search")}/{self.dataset}/{method}'

    def masking(self):
        return f'{self._base("masking", "masking")}/{self.dataset}'

    def metrics(self):
        return f'{self._base("metrics", "metrics")}/{self.dataset}'

    def figures(self):
        return self.overrides.get('figures') or f'{self.root}/figures/{self.net}'

    def modulation(self, method='faig'):
        return f'{self.root}/modulation/{self.net}/{self.dataset}/{method}'

    def gradient(self):
        return f'{self.root}/gradient/{self.net}/{self.dataset}'

    def model_outputs(self, kind):
        """Outputs of the ``kind`` ('target', 'baseline') model: the original's ``<prefix>-<kind>model-sr``."""
        prefix = NETWORKS[self.net].flag_prefix if self.net in NETWORKS else self.net  # e.g. a --network_g arch
        return f'{self.root}/{prefix}-{kind}model-sr'

    def target_outputs(self):
        """Target-model outputs (shared by inference and the comparison; stamped, see faig.store)."""
        return self.overrides.get('target_outputs') or self.model_outputs('target')
