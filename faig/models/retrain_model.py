"""Retrain only chosen filters of a network (the paper's second finding; the original's ``ReTrainModel``).

    model_type: ReTrainModel
    path:
      pretrain_network_g: experiments/pretrained/srresnet/baseline_model.pth   # start from the baseline
    train:
      finetuned_neuron_index_file: results/.../faig/blur_index.txt   # a ranking (one filter index per line)
      neuron_ratio: 0.01                                             # its top 1 % (the original's keys)
      # or: finetuned_filters: [12, 345, ...]                         # an explicit list of filter indices

Filters are the k x k slices ``weight[out, in]`` of the conv weights (and the scalars of Linear layers,
the slices of ConvTranspose / Conv1d / Conv3d ones), indexed by
:func:`faig.attribution.filters.space_for_network` of the network (``train.filter_layers``: the
``--layers`` patterns of a ranking made on part of the network), so the index files of any network work (the original
supported only the SRCNN-style net, through hard-coded layer offsets, and dropped every selected
filter of its first layer: docs/differences_from_original.md).

Everything not selected -- other filters, biases, every other parameter and buffer -- stays
bit-identical, in the trained network and in its EMA copy, after any number of steps and across
``--auto_resume``: parameters with no selected filter are left out of the optimizer; the gradient of
the others is masked (so Adam's moments of frozen entries stay zero), and after each step (which
weight decay and the EMA update would otherwise move) the frozen entries are put back from copies
taken when the model was built. Validation, saving and logging are SRModel's (via FastSRModel, so
the bf16 / channels-last speed options work here too).
"""
import os.path as osp

import numpy as np
import torch

from faig import compat

compat.apply()  # before the first basicsr import

from basicsr.utils import get_root_logger  # noqa: E402
from basicsr.utils.registry import MODEL_REGISTRY  # noqa: E402

from faig.models.fast_sr_model import FastSRModel  # noqa: E402


@MODEL_REGISTRY.register()
class ReTrainModel(FastSRModel):
    """SRModel that updates only the selected filters (see the module docstring)."""

    @staticmethod
    def selected_filters(train_opt, num_filters):
        """Filter indices chosen by the options: ``finetuned_filters``, or the top ``neuron_ratio`` of the
        ranking in ``finetuned_neuron_index_file`` (``int(len * ratio)`` of them, as the original counted)."""
        from faig.attribution.ranking import read_index
        from faig.errors import InputError
        explicit = train_opt.get('finetuned_filters')
        index_file = train_opt.get('finetuned_neuron_index_file')
        if (explicit is None) == (index_file is None):
            raise InputError('train: give finetuned_neuron_index_file (with neuron_ratio) or finetuned_filters')
        if explicit is not None:
            if not isinstance(explicit, (list, tuple)) or not all(isinstance(i, int) for i in explicit):
                raise InputError('train.finetuned_filters: must be a list of filter indices (integers)')
            chosen = np.asarray(explicit, dtype=np.int64)
            if len(chosen) == 0:
                raise InputError('train.finetuned_filters: no filters given')
            if chosen.min() < 0 or chosen.max() >= num_filters:
                raise InputError(f'train.finetuned_filters: indices outside [0, {num_filters}) of this network')
            if len(np.unique(chosen)) != len(chosen):
                raise InputError('train.finetuned_filters: repeated filter indices')
            return chosen
        ratio = train_opt.get('neuron_ratio')
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
            raise InputError(f'train.neuron_ratio: must be a fraction in (0, 1] (0.01 for the top 1 %), got {ratio!r}')
        ranking = read_index(str(index_file), num_filters)
        count = int(len(ranking) * float(ratio))
        if count == 0:
            raise InputError(f'train.neuron_ratio: {ratio} of the {len(ranking)} filters selects none (rounded down)')
        return ranking[:count]

    @classmethod
    def check_options(cls, opt):
        """The selection, checked before any experiment folder exists (faig.training.check_options):
        a problem as text, or None."""
        from faig.errors import InputError
        from faig.networks import build_network
        train_opt = opt.get('train') or {}
        index_file = train_opt.get('finetuned_neuron_index_file')
        if index_file is not None and not osp.isfile(str(index_file)):
            return f'train.finetuned_neuron_index_file not found: {index_file}'
        try:
            space = cls.filter_space(build_network(opt['network_g']), train_opt)
            cls.selected_filters(train_opt, space.num_filters)
        except InputError as exc:
            return str(exc)
        return None

    @staticmethod
    def filter_space(net, train_opt):
        """The filter space the index file refers to: the network's (every layer kind), restricted to
        ``train.filter_layers`` when given (the ``--layers`` the ranking was made with)."""
        from faig.attribution.filters import space_for_network
        return space_for_network(net, train_opt.get('filter_layers'))

    def init_training_settings(self):
        net = self.get_bare_model(self.net_g)
        space = self.filter_space(net, self.opt['train'])
        self.retrained_filters = self.selected_filters(self.opt['train'], space.num_filters)
        self.update_masks = {}  # parameter name -> bool mask (the weight's own shape) of the entries that may change
        weights = net.state_dict()
        for name, filter_mask in space.masks(self.retrained_filters).items():
            if filter_mask.any():
                self.update_masks[name] = space.weight_mask(name, filter_mask).to(weights[name].device)
        for name, param in net.named_parameters():
            if name in self.update_masks:
                mask = self.update_masks[name]
                param.register_hook(lambda grad, mask=mask: grad * mask.to(grad.dtype))
            else:
                param.requires_grad_(False)
        super().init_training_settings()
        self._frozen = {'net_g': self._snapshot(self.net_g)}
        if hasattr(self, 'net_g_ema'):
            self._frozen['net_g_ema'] = self._snapshot(self.net_g_ema)
        per_layer = {}
        for layer in space.layer_of(self.retrained_filters):
            name = space.entries[layer].name
            per_layer[name] = per_layer.get(name, 0) + 1
        get_root_logger().info(f'ReTrainModel: retraining {len(self.retrained_filters)} of {space.num_filters} '
                               f'filters in {len(per_layer)} layers ({per_layer}); everything else is frozen')

    def setup_optimizers(self):
        """SRModel's optimizer over the parameters that hold a selected filter (no per-parameter warnings)."""
        train_opt = self.opt['train']
        params = [p for p in self.net_g.parameters() if p.requires_grad]
        optim_type = train_opt['optim_g'].pop('type')
        self.optimizer_g = self.get_optimizer(optim_type, params, **train_opt['optim_g'])
        self.optimizers.append(self.optimizer_g)

    def _snapshot(self, net):
        net = self.get_bare_model(net)
        tensors = dict(net.named_parameters())
        tensors.update(dict(net.named_buffers()))
        return {name: t.detach().clone() for name, t in tensors.items()}

    def optimize_parameters(self, current_iter):
        super().optimize_parameters(current_iter)
        self._restore_frozen()

    @torch.no_grad()
    def _restore_frozen(self):
        """Put back every frozen entry (exactly) and clear the optimizer's state there."""
        for label, frozen in self._frozen.items():
            net = self.get_bare_model(getattr(self, label))
            tensors = dict(net.named_parameters())
            tensors.update(dict(net.named_buffers()))
            for name, value in tensors.items():
                mask = self.update_masks.get(name)
                if mask is None:
                    value.copy_(frozen[name])
                else:
                    value.copy_(torch.where(mask, value, frozen[name]))
        net = self.get_bare_model(self.net_g)
        for name, param in net.named_parameters():
            mask = self.update_masks.get(name)
            state = self.optimizer_g.state.get(param, {}) if mask is not None else {}
            for value in state.values():
                if torch.is_tensor(value) and value.shape == param.shape:
                    value.masked_fill_(~mask, 0)
