"""The filter space: every k x k kernel slice ``weight[out, in]`` of every conv layer, indexed.

Walking the state dict in its order, each 4-D weight contributes ``out * in`` filters and
filter index = running offset + ``out_idx * in_ch + in_idx``. For MSRResNet and the
SRCNN-style net this is exactly the original project's indexing (all their weights are conv
weights), so index files are interchangeable. Biases and other tensors are not filters.
"""
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ConvEntry:
    name: str
    shape: tuple
    offset: int

    @property
    def out_channels(self):
        return self.shape[0]

    @property
    def in_channels(self):
        return self.shape[1]

    @property
    def count(self):
        return self.shape[0] * self.shape[1]


class FilterSpace:
    """Index <-> (parameter name, out, in) for the conv filters of a state dict."""

    def __init__(self, state_dict):
        self.entries = []
        offset = 0
        for name, value in state_dict.items():
            if torch.is_tensor(value) and value.ndim == 4 and value.is_floating_point():
                entry = ConvEntry(name, tuple(value.shape), offset)
                self.entries.append(entry)
                offset += entry.count
        if not self.entries:
            raise ValueError('no 4-D convolution weights in the state dict: nothing to attribute')
        self.num_filters = offset
        self._offsets = np.array([e.offset for e in self.entries])
        self._by_name = {e.name: e for e in self.entries}

    @property
    def names(self):
        return [e.name for e in self.entries]

    def __len__(self):
        return self.num_filters

    def locate(self, index):
        """Filter index -> (parameter name, out index, in index)."""
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
            t = tensors[entry.name].reshape(entry.count, entry.shape[2], entry.shape[3])
            if reduce == 'sum_abs':
                t = t.abs()
            # rows first, then columns: the original's order of summation
            parts.append(t.sum(dim=1).sum(dim=1))
        return torch.cat(parts)

    def masks(self, indices):
        """Boolean ``(out, in)`` masks per parameter name for the given filter indices."""
        indices = np.asarray(indices, dtype=np.int64)
        result = OrderedDict()
        layers = self.layer_of(indices)
        for layer, entry in enumerate(self.entries):
            local = indices[layers == layer] - entry.offset
            mask = torch.zeros(entry.count, dtype=torch.bool)
            mask[torch.from_numpy(local)] = True
            result[entry.name] = mask.view(entry.out_channels, entry.in_channels)
        return result


def count_changed(space, baseline, target, indices=None):
    """How many filters of ``space`` (or of ``indices``) differ between the two state dicts (any kernel value)."""
    masks = space.masks(indices) if indices is not None else None
    total = 0
    for e in space.entries:
        changed = (baseline[e.name].to(target[e.name].device) != target[e.name]).flatten(2).any(-1)
        if masks is not None:
            changed = changed & masks[e.name].to(changed.device)
        total += int(changed.sum())
    return total


def require_weight_change(space, baseline, target, baseline_path='baseline', target_path='target', indices=None,
                          which=None):
    """Refuse a model pair with no change on the filters considered (all of them, or ``indices``): every
    attribution would be zero and the ranking the index order, or every masked / modulated model the
    target itself, which would then be reported as if it were a finding."""
    from faig.errors import InputError
    if count_changed(space, baseline, target, indices) == 0:
        if indices is not None:
            raise InputError(f'{target_path}: {which or "the chosen filters"} ({len(indices)} filters) are identical '
                             f'to those of the baseline {baseline_path}: moving them changes nothing')
        raise InputError(f'{target_path}: its {space.num_filters} filters are identical to those of the baseline '
                         f'{baseline_path} (no weight change to attribute); give the fine-tuned target model '
                         '(a checkpoint whose params_ema never moved is the baseline again)')
