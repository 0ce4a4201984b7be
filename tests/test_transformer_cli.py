"""A transformer SR net (tiny SwinIR, from basicsr) through the command lines: FAIG ranks its Linear
filters too, ``--layers`` restricts the space and is recorded, and the comparison masks with the
space the ranking was made in (restoring the target exactly)."""
import json
import os

import numpy as np
import torch

from conftest import REPO, save_model_pair, write_test_set

TINY_SWINIR = {'type': 'SwinIR', 'upscale': 2, 'img_size': 16, 'window_size': 4, 'embed_dim': 12, 'depths': [1],
               'num_heads': [2], 'mlp_ratio': 2, 'upsampler': 'pixelshuffledirect'}
NET_ARG = json.dumps(TINY_SWINIR)


def make_models(root):
    from faig.networks import build_network
    torch.manual_seed(0)
    baseline = build_network(TINY_SWINIR).state_dict()
    target = {k: v + 0.02 * torch.randn_like(v) if v.is_floating_point() else v for k, v in baseline.items()}
    save_model_pair(root / 'experiments' / 'swinir', baseline, target)
    return baseline, target


def test_swinir_linear_filters_ranked_and_masked(tmp_path, in_process):
    from faig.attribution.filters import space_for_network
    from faig.networks import build_network
    baseline, target = make_models(tmp_path)
    data = tmp_path / 'datasets' / 'Tiny'
    write_test_set(data, [(8, 8), (8, 8)])
    search = 'results/Interpret/neuron-search/swinir/Tiny'
    images = ['--gt_folder', str(data / 'GTmod12'), '--blur_folder', str(data / 'Blur2_LRbicx2'), '--noise_folder',
              str(data / 'LRbicx2_noise0.1'), '--layout', 'contiguous', '--total_step', '2']

    def run(*args):
        res = in_process(['-m', 'faig', *args], cwd=tmp_path)
        assert res.returncode == 0, res.stderr[-3000:]
        return res

    run('faig', '--network_g', NET_ARG, *images, '--record_filters_folder', f'{search}/faig')
    space = space_for_network(build_network(TINY_SWINIR))
    linear = [e for e in space.entries if e.kind == 'linear']
    assert linear and space.num_filters > sum(e.count for e in space.entries if e.kind == 'conv')
    scores = np.load(tmp_path / search / 'faig' / 'blur_scores.npy')
    assert len(scores) == space.num_filters
    for e in linear[:3]:  # the Linear layers' weights changed: their filters are attributed
        assert np.any(scores[e.offset:e.offset + e.count] != 0)
    meta = json.loads((tmp_path / search / 'faig' / 'meta.json').read_text())
    assert meta['filter_space']['num_filters'] == space.num_filters and meta['filter_space']['kinds']['linear']

    # only the attention projections: a smaller space, recorded and rebuilt by the comparison
    some_search = 'results/Interpret/neuron-search/swinir/some/Tiny'
    run('faig', '--network_g', NET_ARG, *images, '--layers', '*attn.qkv*,*attn.proj*', '--record_filters_folder',
        f'{some_search}/faig')
    some = json.loads((tmp_path / some_search / 'faig' / 'meta.json').read_text())
    assert some['layers'] == ['*attn.qkv*', '*attn.proj*']
    restricted = space_for_network(build_network(TINY_SWINIR), some['layers'])
    assert some['filter_space']['digest'] == restricted.describe()['digest']
    assert len(np.load(tmp_path / some_search / 'faig' / 'blur_scores.npy')) == restricted.num_filters
    assert all(e.kind == 'linear' for e in restricted.entries)

    res = in_process([os.path.join(REPO, 'analysis/tools/srresnet/comparison.py'), '--network_g', NET_ARG,
                      '--dataset', 'Tiny', '--methods', 'faig', '--proportions', '10',
                      '--srresnet_neuron_folder', 'results/Interpret/neuron-search/swinir/some',
                      '--baseline_model_path', 'experiments/swinir/baseline_model.pth',
                      '--target_model_path', 'experiments/swinir/target_model.pth'], cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    n = int(restricted.num_filters * 10 / 100)
    assert (tmp_path / f'results/Interpret/masking/swinir/Tiny/faig/{n}kernels').is_dir()

    # the filter distribution reads only a checkpoint: the ranking's recorded network gives the Linear filters
    res = in_process([os.path.join(REPO, 'analysis/scripts/vis_filters_distribution.py'), '--dataset', 'Tiny',
                      '--target_model_path', 'experiments/swinir/target_model.pth',
                      '--blurry_neuron_txt', f'{search}/faig/blur_index.txt',
                      '--noisy_neuron_txt', f'{search}/faig/noise_index.txt', '--save_path', 'out/dist.png'],
                     cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / 'out' / 'dist.png').is_file() and f'of {space.num_filters}' not in res.stderr

    bad = in_process(['-m', 'faig', 'faig', '--network_g', NET_ARG, *images, '--layers', 'nothing.like.this*',
                      '--record_filters_folder', f'{search}/bad'], cwd=tmp_path)
    errors = [line for line in bad.stderr.splitlines() if line.startswith('error: ')]  # (SwinIR itself warns)
    assert bad.returncode == 2 and len(errors) == 1 and 'nothing.like.this*' in errors[0]
    assert not (tmp_path / search / 'bad' / 'blur_index.txt').exists()
