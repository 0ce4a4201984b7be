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
from faig.attribution.filters import space_for_network
from faig.attribution.ranking import json_bytes, read_index
from faig.errors import InputError
from faig.files import write_bytes
from faig.networks import build_network, load_params
from faig.store import check_provenance, read_record, state_digest

compat.apply()  # before the first basicsr import

from basicsr.utils import get_root_logger  # noqa: E402
from basicsr.utils.registry import MODEL_REGISTRY  # noqa: E402

from faig.models.fast_sr_model import FastSRModel  # noqa: E402


SELECTION_RECORD = 'retrained_filters.json'  # in the experiment folder: the filters the run retrains


@MODEL_REGISTRY.register()
class ReTrainModel(FastSRModel):
    """SRModel that updates only the selected filters (see the module docstring)."""

    @staticmethod
    def selected_filters(train_opt, num_filters):
        """Filter indices chosen by the options: ``finetuned_filters``, or the top ``neuron_ratio`` of the
        ranking in ``finetuned_neuron_index_file`` (``int(len * ratio)`` of them, as the original counted)."""
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
        train_opt = opt.get('train') or {}
        index_file = train_opt.get('finetuned_neuron_index_file')
        if index_file is not None and not osp.isfile(str(index_file)):
            return f'train.finetuned_neuron_index_file not found: {index_file}'
        for key in ('allow_other_selection', 'allow_other_models'):
            if not isinstance(train_opt.get(key, False), bool):
                return f'train.{key}: must be true or false, got {train_opt[key]!r}'
        try:
            space = cls.filter_space(build_network(opt['network_g']), train_opt)
            cls.selected_filters(train_opt, space.num_filters)
            cls.check_ranking_models(opt)
        except InputError as exc:
            return str(exc)
        return None

    @staticmethod
    def check_ranking_models(opt):
        """A ranking made for other models is refused (faig.store.check_provenance: the baseline
        its meta.json records against the network training starts from) unless ``train.allow_other_models``."""
        train_opt, path_opt = opt.get('train') or {}, opt.get('path') or {}
        index_file, start = train_opt.get('finetuned_neuron_index_file'), path_opt.get('pretrain_network_g')
        if index_file is None or start is None or not osp.isfile(osp.expanduser(str(start))):
            return
        params = load_params(osp.expanduser(str(start)), path_opt.get('param_key_g', 'params'))
        try:
            check_provenance(osp.dirname(str(index_file)) or '.', {'baseline': state_digest(params)},
                             train_opt.get('allow_other_models', False))
        except InputError as exc:
            raise InputError(f'train.finetuned_neuron_index_file: '
                             f'{str(exc).replace("pass --allow_other_models", "set train.allow_other_models: true")}'
                             f' (path.pretrain_network_g is the baseline training starts from)') from None

    @classmethod
    def check_resume(cls, opt, experiment_folder):
        """A resumed run must retrain the selection it started with (the weights it resumes were changed at
        those filters: another selection would retrain the union of both); a problem as text, or None.
        ``train.allow_other_selection: true`` resumes anyway (the log then names the earlier filters too)."""
        train_opt = opt.get('train') or {}
        try:
            space = cls.filter_space(build_network(opt['network_g']), train_opt)
            chosen = cls.selected_filters(train_opt, space.num_filters)
        except InputError as exc:
            return str(exc)
        earlier = cls.recorded_selection(experiment_folder)
        if train_opt.get('allow_other_selection', False):
            return None
        record = osp.join(experiment_folder, SELECTION_RECORD)
        if earlier is None:
            return (f'--auto_resume: {record} is missing or unreadable, so the filters the resumed run retrained '
                    'are unknown; set train.allow_other_selection: true to resume anyway')
        if sorted(earlier) != sorted(int(i) for i in chosen):
            added, dropped = len(set(chosen.tolist()) - set(earlier)), len(set(earlier) - set(chosen.tolist()))
            return (f'--auto_resume: the run in {experiment_folder} retrained another selection of filters ({dropped} '
                    f'of its {len(earlier)} filters not selected now, {added} new); resuming would retrain both. Start '
                    'a run under another name, or set train.allow_other_selection: true')
        return None

    @staticmethod
    def recorded_selection(experiment_folder):
        """The filter indices a run in ``experiment_folder`` retrains (its selection record), or None."""
        record = read_record(osp.join(experiment_folder, SELECTION_RECORD), 'selection record', bad='skip')
        filters = record.get('filters') if record is not None else None
        return [int(i) for i in filters] if isinstance(filters, list) else None

    @staticmethod
    def filter_space(net, train_opt):
        """The filter space the index file refers to: the network's (every layer kind), restricted to
        ``train.filter_layers`` when given (the ``--layers`` the ranking was made with)."""
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
        self._record_selection(space)
        per_layer = {}
        for layer in space.layer_of(self.retrained_filters):
            name = space.entries[layer].name
            per_layer[name] = per_layer.get(name, 0) + 1
        get_root_logger().info(f'ReTrainModel: retraining {len(self.retrained_filters)} of {space.num_filters} '
                               f'filters in {len(per_layer)} layers ({per_layer}); everything else is frozen')

    def _record_selection(self, space):
        """Keep the selection in the experiment folder (checked when the run is resumed: check_resume); a resumed
        run of another selection, allowed by train.allow_other_selection, also lists the filters retrained before."""
        folder = self.opt['path'].get('experiments_root')
        if not folder or self.opt.get('rank', 0) != 0:
            return
        chosen = sorted(int(i) for i in self.retrained_filters)
        record = {'filters': chosen, 'num_filters': space.num_filters}
        earlier = self.recorded_selection(folder) if self.opt['path'].get('resume_state') else None
        if earlier is not None and sorted(earlier) != chosen:
            before = sorted(set(earlier) - set(chosen))
            record['retrained_before'] = before
            get_root_logger().warning(f'ReTrainModel: resumed a run that retrained another selection '
                                      f'(train.allow_other_selection): {len(before)} filters it changed are not '
                                      f'selected now: {before}')
        write_bytes(osp.join(folder, SELECTION_RECORD), json_bytes(record))

    def resume_training(self, resume_state):
        """SRModel's; a run resumed with another selection (train.allow_other_selection) may hold other parameters
        in its optimizer: its Adam state then starts afresh (the schedulers resume)."""
        try:
            super().resume_training(resume_state)
        except ValueError:  # torch: the saved parameter groups do not match the optimizer's
            if not self.opt['train'].get('allow_other_selection', False):
                raise
            for scheduler, state in zip(self.schedulers, resume_state['schedulers']):
                scheduler.load_state_dict(state)
            get_root_logger().warning('ReTrainModel: the resumed optimizer state was of other parameters (another '
                                      'selection); the optimizer starts afresh')

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
