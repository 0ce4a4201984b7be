"""What the tools know about networks and degradations, in one place (no torch import).

A network spec holds the BasicSR options of a paper network and the few things the
original scripts did differently per network; a degradation spec names an input
degradation, its test folder and the function a filter that removes it performs.
Registering a new network or degradation here is all the command lines need.
"""
from copy import deepcopy
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NetworkSpec:
    name: str  # the name in analysis/tools/<name>/ and in results/Interpret/*/<name>
    arch: dict  # BasicSR network options without the scale
    scale_key: str  # the arch's keyword for the upscale factor
    flag_prefix: str  # prefix of the original's --<prefix>_neuron_folder flags
    ig_method: str = 'riemann_left'  # the original IG script's quadrature
    faig_image_reduce: str = 'sum'  # 'sum' or 'mean' of per-image FAIG scores (original scripts differ)
    num_filters_x2: int = 0  # filters at x2 (random_neurons' default --total_neuron_nums)

    def options(self, scale):
        """BasicSR ``network_g`` options at ``scale``."""
        opt = deepcopy(self.arch)
        opt[self.scale_key] = scale
        return opt


@dataclass(frozen=True)
class RankingMethod:
    name: str  # folder of its rankings: neuron-search/<net>/<dataset>/<name>
    label: str  # in tables and figures
    color: str = None
    marker: str = 'o'


@dataclass(frozen=True)
class DegradationSpec:
    name: str  # 'blur': key of index files (<name>_index.txt) and of result tables
    folder: str  # default LR folder of the test set
    adjective: str  # 'blurry' (the input)
    function: str  # 'deblurring' (what a filter specific to it does)
    short: str  # 'deblur' (the original's folder names: mask<short>filter, Modulation-<short>-filter)

    @property
    def mask_kind(self):
        return f'mask{self.short}filter'

    @property
    def modulation_kind(self):
        return f'Modulation-{self.short}-filter'

    @property
    def input_title(self):
        return f'{self.adjective} input'


NETWORKS = {}
DEGRADATIONS = {}
RANKING_METHODS = {}  # in the order of the paper's tables; the first is the method under test


def register_network(spec):
    NETWORKS[spec.name] = spec
    return spec


def register_method(spec):
    RANKING_METHODS[spec.name] = spec
    return spec


def register_degradation(spec):
    DEGRADATIONS[spec.name] = spec
    return spec


register_network(NetworkSpec(
    'srresnet', {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 64, 'num_block': 16}, 'upscale',
    flag_prefix='srresnet', ig_method='riemann_left', faig_image_reduce='sum', num_filters_x2=151936))
register_network(NetworkSpec(
    'srcnn_style', {'type': 'srcnn_style_net'}, 'scale',
    flag_prefix='srcnn', ig_method='riemann_closed_sum', faig_image_reduce='mean', num_filters_x2=156224))

register_degradation(DegradationSpec('blur', 'Blur2_LRbicx2', 'blurry', 'deblurring', 'deblur'))
register_degradation(DegradationSpec('noise', 'LRbicx2_noise0.1', 'noisy', 'denoising', 'denoise'))
DEFAULT_PAIR = ('blur', 'noise')

register_method(RankingMethod('faig', 'FAIG', 'tab:red', 'o'))
register_method(RankingMethod('ig', 'IG', 'tab:blue', 's'))
register_method(RankingMethod('abs_filter_change', '|θ−θ̄|', 'tab:green', '^'))
register_method(RankingMethod('random', 'random', 'tab:gray', 'x'))
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


@dataclass(frozen=True)
class ResultsLayout:
    """Every path a tool writes under ``results/Interpret`` (the original's layout), in one place."""
    net: str
    dataset: str
    root: str = 'results/Interpret'
    overrides: dict = field(default_factory=dict)  # e.g. {'neuron_search': <--srresnet_neuron_folder>}

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
        """Target-model outputs (shared by inference and the comparison; stamped, see faig.stamps)."""
        return self.overrides.get('target_outputs') or self.model_outputs('target')
