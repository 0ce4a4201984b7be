"""BasicSR's SRModel with two opt-in speed options for the training step.

    model_type: FastSRModel
    train:
      autocast_bf16: true    # forward/backward under bf16 autocast (AMX / AVX512-BF16 CPUs, recent GPUs)
      channels_last: true    # NHWC memory for the networks and the LR batch

Both only change how the training step is computed: validation runs in fp32 as in SRModel,
and checkpoints are saved in the ordinary (contiguous) layout, so their weights load and hash
exactly like SRModel's. Whether an option keeps the PSNR on a given machine is measured, not
assumed (experiments/pretrained/README.md, "Training speed options").
"""
import contextlib

import torch

from faig import compat

compat.apply()  # before the first basicsr import

from basicsr.models.sr_model import SRModel  # noqa: E402
from basicsr.utils import get_root_logger  # noqa: E402
from basicsr.utils.registry import MODEL_REGISTRY  # noqa: E402


@MODEL_REGISTRY.register()
class FastSRModel(SRModel):
    """SRModel whose training step can run under bf16 autocast and in channels-last memory."""

    def init_training_settings(self):
        train_opt = self.opt['train']
        self.autocast_bf16 = bool(train_opt.get('autocast_bf16', False))
        self.channels_last = bool(train_opt.get('channels_last', False))
        super().init_training_settings()
        if self.channels_last:
            for net in self._networks():
                net.to(memory_format=torch.channels_last)
        if self.autocast_bf16 or self.channels_last:
            get_root_logger().info(f'Training step: bf16 autocast {self.autocast_bf16}, '
                                   f'channels-last {self.channels_last}')

    def _networks(self):
        return [self.net_g] + ([self.net_g_ema] if hasattr(self, 'net_g_ema') else [])

    def _step_context(self):
        if not getattr(self, 'autocast_bf16', False):
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def feed_data(self, data):
        super().feed_data(data)
        if getattr(self, 'channels_last', False) and self.is_train and self.lq.dim() == 4:
            self.lq = self.lq.contiguous(memory_format=torch.channels_last)

    def optimize_parameters(self, current_iter):
        # losses of autocast regions run in fp32 (l1/mse are on autocast's fp32 list); the optimizer
        # and the EMA update act on the fp32 master weights in place
        with self._step_context():
            super().optimize_parameters(current_iter)

    def save_network(self, net, net_label, current_iter, param_key='params'):
        """Save in the contiguous layout, so that a checkpoint is the same file whatever the speed options."""
        if not getattr(self, 'channels_last', False):
            return super().save_network(net, net_label, current_iter, param_key)
        nets = net if isinstance(net, list) else [net]
        for n in nets:
            n.to(memory_format=torch.contiguous_format)
        try:
            return super().save_network(net, net_label, current_iter, param_key)
        finally:
            for n in nets:
                n.to(memory_format=torch.channels_last)
