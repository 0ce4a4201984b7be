"""The filter space: every filter of every conv / linear layer of a network, indexed.

A *filter* is what connects one input channel to one output channel of a layer: the kernel slice
``weight[out, in]`` of a convolution. Index files (rankings) hold filter indices; the rule, for every
kind, is

    filter (out, in) of layer L  ->  index = offset(L) + out * in_per_group + in

where layers are taken in state-dict order, ``offset(L)`` is the number of filters of the layers before
L, ``out`` runs over the layer's output channels and ``in`` over the inputs one output channel sees
(``in_channels // groups``). Per kind (how the filter sits in the stored weight):

- ``conv`` (Conv1d/2d/3d, grouped and depthwise too): weight ``(out, in/groups, *k)``; filter
  (out, in) = ``weight[out, in]``, any number of kernel dims.
- ``conv_transpose`` (ConvTranspose1d/2d/3d): weight ``(in, out/groups, *k)``; filter (out, in) with
  ``out = g * out_per_group + j`` and ``in`` local to group ``g`` is ``weight[g * in_per_group + in, j]``
  (for groups=1 simply ``weight[in, out]``). Files always use the (out, in) order above.
- ``linear`` (nn.Linear): weight ``(out, in)``; each filter is the single scalar ``weight[out, in]``
  (kernel size 1).

Without module information (``FilterSpace(state_dict)``) a layer's kind cannot be known: every 4-D
float tensor is taken as a Conv2d weight ``(out, in, k, k)``, as the original did. For MSRResNet, the
SRCNN-style net, EDSR, RRDBNet (conv weights and biases only) both ways give the same index files,
and those files are the original's. With module information (:meth:`FilterSpace.of_network`,
:func:`space_for_network`), Linear, Conv1d/3d and ConvTranspose layers are filters too, and a tensor
that is not the ``weight`` of a Conv/ConvTranspose/Linear module -- biases, norms, SwinIR's
``relative_position_bias_table`` / ``absolute_pos_embed``, deformable-conv or re-parametrised
(weight_norm) weights, buffers -- is *not* a filter, whatever its shape.

``layers`` restricts the space to some layers (see :func:`parse_layers`); a restricted space indexes
its own filters from 0 (local indices), in the same order. :meth:`FilterSpace.describe` says which
space an index file refers to, :meth:`FilterSpace.verify` checks a rebuilt space against it.
"""
import fnmatch
import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from faig.errors import InputError

KINDS = ('conv', 'conv_transpose', 'linear')
DESCRIPTION_VERSION = 1


class NoFiltersError(InputError, ValueError):
    """A state dict / network with no filter at all (a ValueError too, as before)."""


@dataclass(frozen=True)
class FilterEntry:
    """One layer of the filter space.

    ``out_channels`` x ``in_channels`` is the layer's filter grid (``in_channels`` = inputs per group);
    ``shape`` the weight's own shape; ``kernel`` its kernel dims (``()`` for linear)."""
    name: str
    shape: tuple
    offset: int
    kind: str = 'conv'
    groups: int = 1
    module: str = ''

    @property
    def kernel(self):
        return () if self.kind == 'linear' else tuple(self.shape[2:])

    @property
    def kernel_numel(self):
        return int(np.prod(self.kernel, dtype=np.int64)) if self.kernel else 1

    @property
    def out_channels(self):
        if self.kind == 'conv_transpose':
            return self.shape[1] * self.groups
        return self.shape[0]

    @property
    def in_channels(self):
        if self.kind == 'conv_transpose':
            return self.shape[0] // self.groups
        return self.shape[1]

    @property
    def count(self):
        return self.out_channels * self.in_channels

    def to_filters(self, tensor):
        """A tensor of the weight's shape viewed as ``(out, in, kernel_numel)`` in filter order."""
        if self.kind != 'conv_transpose':
            return tensor.reshape(self.out_channels, self.in_channels, self.kernel_numel)
        g, ipg, opg = self.groups, self.in_channels, self.shape[1]
        return tensor.reshape(g, ipg, opg, self.kernel_numel).transpose(1, 2).reshape(
            self.out_channels, ipg, self.kernel_numel)

    def from_filters(self, filters):
        """Inverse of :meth:`to_filters`: ``(out, in, kernel_numel)`` (or ``(out, in)``) back to the weight's shape."""
        if self.kind != 'conv_transpose':
            return filters.reshape(self.shape)
        g, ipg, opg = self.groups, self.in_channels, self.shape[1]
        return filters.reshape(g, opg, ipg, self.kernel_numel).transpose(1, 2).reshape(self.shape)

    def broadcast(self, values):
        """Per-filter values (``count`` of them, filter order) as a tensor that broadcasts against the weight
        (each element gets its filter's value)."""
        values = values.reshape(self.out_channels, self.in_channels)
        if self.kind != 'conv_transpose':
            return values.view(self.out_channels, self.in_channels, *([1] * (len(self.shape) - 2)))
        return self.from_filters(values.unsqueeze(-1).expand(-1, -1, self.kernel_numel))

    def weight_mask(self, mask):
        """An ``(out, in)`` filter mask expanded to a boolean mask of the weight's own shape (transposed for
        ConvTranspose): ``weight[mask]`` are exactly the chosen filters' values."""
        mask = mask.reshape(self.out_channels, self.in_channels)
        return self.from_filters(mask.unsqueeze(-1).expand(-1, -1, self.kernel_numel)).contiguous()

    def key(self):
        """What fixes this layer's indexing (for :meth:`FilterSpace.describe`'s digest)."""
        return [self.name, self.kind, list(self.shape), self.groups if self.kind == 'conv_transpose' else 1]


ConvEntry = FilterEntry  # the name before Linear / ConvTranspose layers were filters


def parse_layers(layers):
    """``layers`` as a tuple of patterns, or None (every layer).

    Accepted: None, a string ``'body.*,!conv_last.weight'`` (comma-separated, as ``--layers`` gives it),
    or a list/tuple of such strings. A pattern is an fnmatch pattern (case-sensitive) tested against a
    layer's parameter name (``body.0.conv1.weight``) and its module name (``body.0.conv1``); a leading
    ``!`` makes it an exclusion. Selected = layers matching any inclusion (every layer when there is
    none) and no exclusion."""
    if layers is None:
        return None
    items = [layers] if isinstance(layers, str) else list(layers)
    patterns = []
    for item in items:
        if not isinstance(item, str):
            raise InputError(f'--layers: {item!r} is not a pattern (give strings such as "body.*,!conv_last*")')
        for part in item.split(','):
            part = part.strip()
            if not part:
                continue
            if part == '!':
                raise InputError('--layers: "!" without a pattern')
            patterns.append(part)
    return tuple(patterns) or None


def _matches(entry, pattern):
    return fnmatch.fnmatchcase(entry.name, pattern) or fnmatch.fnmatchcase(entry.module, pattern)


def select_layers(entries, patterns):
    """The entries ``patterns`` (see :func:`parse_layers`) select; a pattern matching no layer, or a
    selection left empty, is an InputError naming it."""
    if not patterns:
        return list(entries)
    for pattern in patterns:
        bare = pattern[1:] if pattern.startswith('!') else pattern
        if not any(_matches(e, bare) for e in entries):
            sample = ', '.join(e.name for e in entries[:6]) + (', ...' if len(entries) > 6 else '')
            raise InputError(f'--layers: pattern {pattern!r} matches no filter layer (layers: {sample})')
    include = [p for p in patterns if not p.startswith('!')]
    exclude = [p[1:] for p in patterns if p.startswith('!')]
    chosen = [e for e in entries
              if (not include or any(_matches(e, p) for p in include)) and not any(_matches(e, p) for p in exclude)]
    if not chosen:
        raise InputError(f'--layers: {",".join(patterns)!r} leaves no filter layer selected')
    return chosen


def _module_kind(module):
    conv = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
    transposed = (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)
    if isinstance(module, transposed):
        return 'conv_transpose', (module.in_channels, module.out_channels // module.groups, *module.kernel_size)
    if isinstance(module, conv):
        return 'conv', (module.out_channels, module.in_channels // module.groups, *module.kernel_size)
    if isinstance(module, torch.nn.Linear):
        return 'linear', (module.out_features, module.in_features)
    return None, None


def _module_map(modules):
    if isinstance(modules, torch.nn.Module):
        return dict(modules.named_modules(remove_duplicate=False))
    return dict(modules)  # a name -> module mapping, or named_modules() pairs


class FilterSpace:
    """Index <-> (parameter name, out, in) for the filters of a state dict (see the module docstring).

    Args:
        state_dict: name -> tensor (only names, shapes and dtypes are read).
        modules: the network (an ``nn.Module``), or its ``named_modules()`` pairs / a name -> module dict.
            None: every 4-D float tensor is a Conv2d weight (the original's rule).
        layers: restrict to some layers (:func:`parse_layers`); indices are then local to the selection.
    """

    def __init__(self, state_dict, modules=None, layers=None):
        self.module_info = modules is not None
        self.layers = parse_layers(layers)
        candidates = self._entries(state_dict, _module_map(modules) if modules is not None else None)
        if not candidates:
            what = 'convolution or linear weights' if self.module_info else '4-D convolution weights'
            raise NoFiltersError(f'no {what} in the state dict: nothing to attribute')
        self.entries = []
        offset = 0
        for e in select_layers(candidates, self.layers):
            entry = FilterEntry(e.name, e.shape, offset, e.kind, e.groups, e.module)
            self.entries.append(entry)
            offset += entry.count
        self.num_filters = offset
        self._offsets = np.array([e.offset for e in self.entries])
        self._by_name = {e.name: e for e in self.entries}

    @staticmethod
    def _entries(state_dict, modules):
        entries = []
        for name, value in state_dict.items():
            owner, _, leaf = name.rpartition('.')
            if modules is None:
                if torch.is_tensor(value) and value.ndim == 4 and value.is_floating_point():
                    entries.append(FilterEntry(name, tuple(value.shape), 0, 'conv', 1, owner))
                continue
            if owner not in modules:
                raise InputError(f'{name}: no module {owner!r} in the network (state dict and network do not match)')
            kind, expected = _module_kind(modules[owner])
            if kind is None or leaf != 'weight':
                continue  # not a filter: biases, norms, position tables, buffers, other modules' weights
            if not (torch.is_tensor(value) and value.is_floating_point() and tuple(value.shape) == expected):
                shape = tuple(value.shape) if torch.is_tensor(value) else type(value).__name__
                raise InputError(f'{name}: {type(modules[owner]).__name__} weight of shape {shape}, '
                                 f'expected a float tensor of shape {expected}')
            groups = getattr(modules[owner], 'groups', 1)
            entries.append(FilterEntry(name, tuple(value.shape), 0, kind, groups, owner))
        return entries

    @classmethod
    def of_network(cls, net, layers=None):
        """The space of a network, knowing each layer's kind (Linear, Conv1d/3d, ConvTranspose are filters)."""
        return cls(net.state_dict(), net, layers)

    @property
    def names(self):
        return [e.name for e in self.entries]

    def __len__(self):
        return self.num_filters

    def entry(self, name):
        if name not in self._by_name:
            raise InputError(f'{name}: not a filter layer of this space')
        return self._by_name[name]

    def locate(self, index):
        """Filter index -> (parameter name, out index, in index), in the (out, in) order of every kind."""
        index = int(index)
        if not 0 <= index < self.num_filters:
            raise IndexError(f'filter index {index} out of range [0, {self.num_filters})')
        entry = self.entries[int(np.searchsorted(self._offsets, index, side='right')) - 1]
        out_idx, in_idx = divmod(index - entry.offset, entry.in_channels)
        return entry.name, out_idx, in_idx

    def index(self, name, out_idx, in_idx):
        """(parameter name, out index, in index) -> filter index."""
        entry = self._by_name[name]
        if not (0 <= out_idx < entry.out_channels and 0 <= in_idx < entry.in_channels):
            raise IndexError(f'({out_idx}, {in_idx}) outside {name} of shape {entry.shape}')
        return entry.offset + out_idx * entry.in_channels + in_idx

    def layer_of(self, indices):
        """Layer number (position in ``entries``) of each filter index (vectorised)."""
        return np.searchsorted(self._offsets, np.asarray(indices), side='right') - 1

    def per_filter(self, tensors, reduce='sum_abs'):
        """Concatenate one value per filter from a dict name -> tensor of the weight's shape.

        ``reduce``: 'sum_abs' (sum of |.| over the kernel) or 'sum' (signed sum).
        """
        parts = []
        for entry in self.entries:
            t = tensors[entry.name]
            if entry.kind == 'conv_transpose':
                t = entry.to_filters(t)
            t = t.reshape(entry.count, *entry.kernel)
            if reduce == 'sum_abs':
                t = t.abs()
            # kernel dims one after the other (rows first, then columns: the original's order of summation)
            for _ in entry.kernel:
                t = t.sum(dim=1)
            parts.append(t)
        return torch.cat(parts)

    def masks(self, indices):
        """Boolean ``(out, in)`` masks per parameter name for the given filter indices (filter order, every kind)."""
        indices = np.asarray(indices, dtype=np.int64)
        result = OrderedDict()
        layers = self.layer_of(indices)
        for layer, entry in enumerate(self.entries):
            local = indices[layers == layer] - entry.offset
            mask = torch.zeros(entry.count, dtype=torch.bool)
            mask[torch.from_numpy(local)] = True
            result[entry.name] = mask.view(entry.out_channels, entry.in_channels)
        return result

    def weight_mask(self, name, mask):
        """An ``(out, in)`` mask of layer ``name`` as a boolean mask of its weight's own shape."""
        return self.entry(name).weight_mask(mask)

    def weight_masks(self, indices):
        """Boolean masks of each weight's own shape selecting the given filters' values: what masking,
        modulation and retraining apply, without knowing the layer kinds."""
        return OrderedDict((name, self._by_name[name].weight_mask(mask)) for name, mask in self.masks(indices).items())

    def describe(self):
        """A JSON-able record of this space (for a ranking's meta.json): ``version``, ``layers`` (the patterns,
        or None), ``module_info``, ``kinds`` ({kind: number of layers}), ``num_layers``, ``num_filters`` and
        ``digest`` (16 hex digits over each layer's name, kind, shape and -- for conv_transpose -- groups).
        Spaces with equal digests index filters identically."""
        kinds = {}
        for e in self.entries:
            kinds[e.kind] = kinds.get(e.kind, 0) + 1
        text = json.dumps([e.key() for e in self.entries], separators=(',', ':'))
        return {'version': DESCRIPTION_VERSION, 'layers': list(self.layers) if self.layers else None,
                'module_info': self.module_info, 'kinds': kinds, 'num_layers': len(self.entries),
                'num_filters': int(self.num_filters), 'digest': hashlib.sha256(text.encode()).hexdigest()[:16]}

    def verify(self, description, source='meta.json'):
        """InputError unless ``description`` (a :meth:`describe` record) is this space (same digest)."""
        mine = self.describe()
        if not isinstance(description, Mapping) or 'digest' not in description:
            raise InputError(f'{source}: no filter-space record to check')
        if description.get('digest') != mine['digest'] or description.get('num_filters') != mine['num_filters']:
            raise InputError(f'{source}: made for another filter space ({description.get("num_filters")} filters, '
                             f'layers {description.get("layers")}, digest {description.get("digest")}); this network '
                             f'gives {mine["num_filters"]} filters (layers {mine["layers"]}, digest {mine["digest"]})')


def space_for_network(net_or_state, layers=None):
    """The filter space the tools use: of a network (module-aware: every kind above), or of a bare state
    dict (the 4-D rule). ``layers``: :func:`parse_layers` (e.g. the ``--layers`` string)."""
    if isinstance(net_or_state, torch.nn.Module):
        return FilterSpace.of_network(net_or_state, layers)
    return FilterSpace(net_or_state, layers=layers)


def count_changed(space, baseline, target, indices=None):
    """How many filters of ``space`` (or of ``indices``) differ between the two state dicts (any kernel value)."""
    masks = space.masks(indices) if indices is not None else None
    total = 0
    for e in space.entries:
        changed = e.to_filters(baseline[e.name].to(target[e.name].device) != target[e.name]).any(-1)
        if masks is not None:
            changed = changed & masks[e.name].to(changed.device)
        total += int(changed.sum())
    return total


def require_weight_change(space, baseline, target, baseline_path='baseline', target_path='target', indices=None,
                          which=None):
    """Refuse a model pair with no change on the filters considered (all of them, or ``indices``): every
    attribution would be zero and the ranking the index order, or every masked / modulated model the
    target itself, which would then be reported as if it were a finding."""
    if count_changed(space, baseline, target, indices) == 0:
        if indices is not None:
            raise InputError(f'{target_path}: {which or "the chosen filters"} ({len(indices)} filters) are identical '
                             f'to those of the baseline {baseline_path}: moving them changes nothing')
        raise InputError(f'{target_path}: its {space.num_filters} filters are identical to those of the baseline '
                         f'{baseline_path} (no weight change to attribute); give the fine-tuned target model '
                         '(a checkpoint whose params_ema never moved is the baseline again)')
