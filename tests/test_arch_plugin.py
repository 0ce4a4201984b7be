"""A new network in one file: an arch registered in BasicSR's ARCH_REGISTRY from a file outside the package
(``FAIG_PLUGINS``) is found by its type in ``--network_g`` by FAIG, the comparison and the modulation, with
no other change."""
import json
import os

import numpy as np
import torch

from conftest import REPO, registries_kept, save_model_pair, write_test_set

PLUGIN = '''
"""A plain two-layer x2 SR net, registered like any BasicSR arch."""
from torch import nn
from basicsr.utils.registry import ARCH_REGISTRY


@ARCH_REGISTRY.register()
class TinyPluginNet(nn.Module):
    def __init__(self, num_feat=6):
        super().__init__()
        self.head = nn.Conv2d(3, num_feat, 3, padding=1)
        self.tail = nn.Conv2d(num_feat, 12, 3, padding=1)
        self.up = nn.PixelShuffle(2)

    def forward(self, x):
        return self.up(self.tail(nn.functional.relu(self.head(x))))
'''
NET_ARG = json.dumps({'type': 'TinyPluginNet'})


def test_an_arch_in_one_file_runs_through_faig_comparison_and_modulation(tmp_path, in_process):
    plugin = tmp_path / 'tiny_plugin_arch.py'
    plugin.write_text(PLUGIN)
    env = {'FAIG_PLUGINS': str(plugin)}
    from faig.registration import import_plugin
    from faig.networks import build_network
    with registries_kept():  # the models are made with the plugin; each command line below loads it anew
        import_plugin(str(plugin))
        torch.manual_seed(0)
        baseline = build_network({'type': 'TinyPluginNet'}).state_dict()
    target = {k: v + 0.05 * torch.randn_like(v) for k, v in baseline.items()}
    save_model_pair(tmp_path / 'experiments' / 'tiny', baseline, target)
    data = tmp_path / 'datasets' / 'Tiny'
    write_test_set(data, [(8, 8), (8, 8)])
    model_args = ['--baseline_model_path', 'experiments/tiny/baseline_model.pth',
                  '--target_model_path', 'experiments/tiny/target_model.pth']

    def run(args):
        res = in_process(args, cwd=tmp_path, env=env)
        assert res.returncode == 0, res.stderr[-3000:]
        return res

    search = 'results/Interpret/neuron-search/tinypluginnet'  # outputs are named after the arch type
    run(['-m', 'faig', 'faig', '--network_g', NET_ARG, *model_args, '--gt_folder', str(data / 'GTmod12'),
         '--blur_folder', str(data / 'Blur2_LRbicx2'), '--noise_folder', str(data / 'LRbicx2_noise0.1'),
         '--total_step', '2', '--layout', 'contiguous', '--record_filters_folder', f'{search}/Tiny/faig'])
    filters = 3 * 6 + 6 * 12  # the two convs' weight[out, in] slices
    blur = np.loadtxt(tmp_path / search / 'Tiny' / 'faig' / 'blur_index.txt', dtype=int)
    assert sorted(blur.tolist()) == list(range(filters))

    run([os.path.join(REPO, 'analysis/tools/srresnet/comparison.py'), '--network_g', NET_ARG, '--dataset', 'Tiny',
         '--methods', 'faig', '--proportions', '10', '--srresnet_neuron_folder', search, *model_args])
    assert (tmp_path / f'results/Interpret/masking/tinypluginnet/Tiny/faig/{filters // 10}kernels').is_dir()

    res = run([os.path.join(REPO, 'analysis/scripts/filter_modulation.py'), '--network_g', NET_ARG, '--dataset',
               'Tiny', '--degradation', 'blur', '--neuron_txt', f'{search}/Tiny/faig/blur_index.txt',
               '--proportion', '10', '--lambdas', '0', '1', *model_args])
    records = list(tmp_path.glob('results/Interpret/modulation/**/differences.json'))
    assert len(records) == 1, res.stdout
    record = json.loads(records[0].read_text())
    assert record['lambdas'] == [0, 1] and record['output_difference'][1] == 0.0  # λ = 1 is the target itself
    assert record['output_difference'][0] > 0

    # without the plugin the type is unknown: one line naming it
    bad = in_process(['-m', 'faig', 'faig', '--network_g', NET_ARG, *model_args, '--gt_folder',
                      str(data / 'GTmod12'), '--blur_folder', str(data / 'Blur2_LRbicx2'), '--noise_folder',
                      str(data / 'LRbicx2_noise0.1'), '--total_step', '2', '--record_filters_folder', 'out'],
                     cwd=tmp_path)
    errors = [line for line in bad.stderr.splitlines() if line.startswith('error: ')]
    assert bad.returncode == 2 and len(errors) == 1 and "'TinyPluginNet' is not a registered arch" in errors[0]
    assert not (tmp_path / 'out').exists()
