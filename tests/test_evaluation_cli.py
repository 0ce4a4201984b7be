"""comparison.py, mask_neurons.py, modulation and distribution scripts end to end on a tiny net."""
import csv
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch

from conftest import LR_FOLDERS, REPO, save_model_pair, write_images, write_test_set
from test_attribution import TINY_NETS, make_pair

NET_ARG = json.dumps(TINY_NETS['srresnet'])


@pytest.fixture
def script(in_process):
    """``script(path, cwd, *args)``: a script of the repository run in the test process, which must succeed."""

    def run(path, cwd, *args):
        res = in_process([osp.join(REPO, path), *args], cwd=cwd)
        assert res.returncode == 0, res.stderr[-3000:]
        return res
    return run


def test_comparison_end_to_end(tmp_path, script):
    baseline, target = make_pair(TINY_NETS['srresnet'], dtype=torch.float32)
    save_model_pair(tmp_path / 'experiments' / 'srresnet', baseline, target)
    data = tmp_path / 'datasets' / 'Tiny'
    write_test_set(data, [(8, 10), (6, 6)], LR_FOLDERS)
    search = 'results/Interpret/neuron-search/srresnet/Tiny'
    common = ['--network_g', NET_ARG]
    script('analysis/tools/srresnet/faig.py', tmp_path, *common, '--gt_folder', str(data / 'GTmod12'), '--blur_folder',
           str(data / 'Blur2_LRbicx2'), '--noise_folder', str(data / 'LRbicx2_noise0.1'), '--total_step', '2',
           '--record_filters_folder', f'{search}/faig')
    script('analysis/tools/srresnet/ig.py', tmp_path, *common, '--bic_folder', str(data / 'Linear_LRbicx2'),
           '--blur_folder', str(data / 'Blur2_LRbicx2'), '--noise_folder', str(data / 'LRbicx2_noise0.1'),
           '--total_step', '2', '--record_filters_folder', f'{search}/ig')
    script('analysis/tools/srresnet/absolute_filter_change.py', tmp_path, '--record_filters_folder',
           f'{search}/abs_filter_change')
    num_filters = sum(v.shape[0] * v.shape[1] for v in target.values() if v.ndim == 4)
    script('analysis/tools/srresnet/random_neurons.py', tmp_path, '--total_neuron_nums', str(num_filters),
           '--record_filters_folder', f'{search}/random')
    res = script('analysis/tools/srresnet/comparison.py', tmp_path, *common, '--dataset', 'Tiny', '--proportions', '10',
                 '50')
    assert 'higher is better' in res.stdout and 'lower is better' in res.stdout
    metrics = tmp_path / 'results/Interpret/metrics/srresnet/Tiny'
    rows = list(csv.DictReader(open(metrics / 'comparison.csv')))
    assert len(rows) == 4 * 2 * 2 * 2 * 3  # method, proportion, masked, input x (mean, img0, img1)
    for row in rows:
        if row['image'] == 'mean':
            same = [float(r['output_difference']) for r in rows if r['image'] != 'mean' and all(
                r[k] == row[k] for k in ('method', 'proportion_percent', 'masked_filters', 'input'))]
            assert float(row['output_difference']) == pytest.approx(np.mean(same), abs=2e-6)
    values = np.loadtxt(metrics / 'faig_maskdeblurfilter_blur.txt')
    assert values.shape == (2, ) and np.all(values >= 0)
    n10 = int(num_filters * 10 / 100)
    masked = tmp_path / f'results/Interpret/masking/srresnet/Tiny/faig/{n10}kernels/maskdeblurfilter/Blur2_LRbicx2'
    assert sorted(os.listdir(masked)) == ['.source.json', 'img0.png', 'img1.png']
    for png in ('proportion_curves_Tiny.png', 'masking_Tiny_img0.png'):
        assert (tmp_path / 'results/Interpret/figures/srresnet' / png).stat().st_size > 10000
    # masking all filters of the same ranking twice: cached outputs are reused and give the same numbers
    again = script('analysis/tools/srresnet/comparison.py', tmp_path, *common, '--dataset', 'Tiny', '--proportions',
                   '10', '50')
    np.testing.assert_array_equal(np.loadtxt(metrics / 'faig_maskdeblurfilter_blur.txt'), values)
    assert again.stdout.count('\n') > 10

    # modulation: lambda=1 output difference is 0 (it is the target); distribution figure
    res = script('analysis/scripts/filter_modulation.py', tmp_path, '--network_g', NET_ARG, '--dataset', 'Tiny',
                 '--proportion', '20', '--lambdas', '0', '1')
    line_one = [line for line in res.stdout.splitlines() if line.strip().startswith('1.00')][0]
    assert float(line_one.split()[1]) == 0.0
    res = script('analysis/scripts/vis_filters_distribution.py', tmp_path, '--dataset', 'Tiny', '--proportion', '5')
    assert 'mean layer depth' in res.stdout
    assert (tmp_path / 'results/Interpret/figures/srresnet/filter_distribution.png').is_file()


def test_comparison_cache_never_mixes_models(tmp_path):
    """Rerun after the target model changed = a run without any cache (a shared stamp once broke this)."""
    import shutil
    from conftest import write_images
    from faig.attribution.filters import FilterSpace
    from faig.attribution.ranking import write_rankings
    from faig.attribution.weights import random_rankings
    from faig.evaluation.comparison import Comparison, Setup
    data = tmp_path / 'data'
    for folder, seed in (('Blur2_LRbicx2', 2), ('LRbicx2_noise0.1', 3)):
        write_images(str(data / folder), [(8, 10), (6, 6)], seed=seed)
    opt = TINY_NETS['srresnet']
    baseline, target = make_pair(opt, dtype=torch.float32)
    space = FilterSpace(target)
    write_rankings(str(tmp_path / 'search' / 'random'), random_rankings(space.num_filters, 0))

    def run(target):
        setup = Setup(opt, baseline, target, str(data), str(tmp_path / 'search'), str(tmp_path / 'mask'),
                      str(tmp_path / 'metrics'), str(tmp_path / 'target_out'), methods=('random', ),
                      proportions=(10, 50))
        return Comparison(setup).run(progress=False)

    first = run(target)
    _, other_target = make_pair(opt, seed=5, dtype=torch.float32)
    cached = run(other_target)
    shutil.rmtree(tmp_path / 'mask')
    shutil.rmtree(tmp_path / 'target_out')
    assert cached == run(other_target) != first

    # another tool (inference with another model) overwrites the shared target-output folder:
    # the comparison must notice from the contents and restore again
    from faig.inference import restore_cached
    from faig.networks import build_network
    other = build_network(opt).eval()
    other.load_state_dict(target)
    for folder in ('Blur2_LRbicx2', 'LRbicx2_noise0.1'):
        inputs = {f'img{i}': str(data / folder / f'img{i}.png') for i in range(2)}
        restore_cached(other, inputs, str(tmp_path / 'target_out' / folder))
    assert run(other_target) == cached
    # a hand-edited output is not fresh either
    png = tmp_path / 'target_out' / 'Blur2_LRbicx2' / 'img0.png'
    import cv2
    img = cv2.imread(str(png))
    cv2.imwrite(str(png), 255 - img)
    assert run(other_target) == cached


def test_cached_outputs_are_of_the_network_options_too(tmp_path):
    """Two EDSRs with the same weights but another img_range (not in the state dict) compute other images:
    the second is not served the first one's cached outputs."""
    from conftest import write_images
    from faig.inference import restore, restore_cached
    from faig.networks import build_network
    from faig.data.image_io import read_image
    from faig.store import network_digest
    write_images(str(tmp_path / 'lr'), [(8, 10)], seed=2)
    inputs = {'img0': str(tmp_path / 'lr' / 'img0.png')}
    nets = [build_network({**TINY_NETS['edsr'], 'img_range': r}).eval() for r in (255., 1.)]
    nets[1].load_state_dict(nets[0].state_dict())
    assert network_digest(nets[0]) != network_digest(nets[1])
    twin = build_network({**TINY_NETS['edsr'], 'img_range': 255.}).eval()
    twin.load_state_dict(nets[0].state_dict())
    assert network_digest(twin) == network_digest(nets[0])
    first = restore_cached(nets[0], inputs, str(tmp_path / 'out'), progress=False)['img0']
    second = restore_cached(nets[1], inputs, str(tmp_path / 'out'), progress=False)['img0']
    expected = restore(nets[1], read_image(inputs['img0']))
    assert np.array_equal(second, expected) and not np.array_equal(first, second)


def test_a_new_network_and_a_new_degradation_need_only_their_specs(tmp_path, monkeypatch):
    """A network registered in faig.specs (here a tiny EDSR) and a degradation named only by flags (haze, registered nowhere)
    run through every tool in-process, with no scripts of their own (python -m faig)."""
    from faig.cli.main import main
    from faig.specs import NETWORKS, NetworkSpec
    arch = {k: v for k, v in TINY_NETS['edsr'].items() if k != 'upscale'}
    # what faig.specs.register_network does, undone after the test
    monkeypatch.setitem(NETWORKS, 'tiny_edsr', NetworkSpec('tiny_edsr', arch, 'upscale', flag_prefix='tiny_edsr'))
    baseline, target = make_pair(TINY_NETS['edsr'], dtype=torch.float32)
    monkeypatch.chdir(tmp_path)
    os.makedirs('experiments/tiny_edsr')
    torch.save({'params_ema': baseline}, 'experiments/tiny_edsr/baseline_model.pth')
    torch.save({'params_ema': target}, 'experiments/tiny_edsr/target_model.pth')
    data = 'datasets/Tiny'
    write_images(f'{data}/GTmod12', [(16, 20), (12, 12)], seed=1)
    for folder, seed in (('LRbicx2_haze', 2), ('LRbicx2_noise0.1', 3), ('Linear_LRbicx2', 4)):
        write_images(f'{data}/{folder}', [(8, 10), (6, 6)], seed=seed)
    pair = ['--deg_a', 'haze', '--deg_b', 'noise']
    search = 'results/Interpret/neuron-search/tiny_edsr/Tiny'
    inputs = ['--deg_a_folder', f'{data}/LRbicx2_haze', '--noise_folder', f'{data}/LRbicx2_noise0.1']
    assert main(['faig', '--net', 'tiny_edsr', *pair, *inputs, '--gt_folder', f'{data}/GTmod12', '--total_step', '2',
                 '--record_filters_folder', f'{search}/faig']) == 0
    assert main(['ig', '--net', 'tiny_edsr', *pair, *inputs, '--bic_folder', f'{data}/Linear_LRbicx2',
                 '--total_step', '2', '--record_filters_folder', f'{search}/ig']) == 0
    assert main(['absolute_filter_change', '--net', 'tiny_edsr', *pair, '--record_filters_folder',
                 f'{search}/abs_filter_change']) == 0
    num_filters = sum(v.shape[0] * v.shape[1] for v in target.values() if v.ndim == 4)
    assert main(['random_neurons', '--net', 'tiny_edsr', *pair, '--total_neuron_nums', str(num_filters),
                 '--record_filters_folder', f'{search}/random']) == 0
    assert main(['comparison', '--net', 'tiny_edsr', *pair, '--deg_a_folder_name', 'LRbicx2_haze', '--dataset',
                 'Tiny', '--proportions', '10']) == 0
    rows = list(csv.DictReader(open('results/Interpret/metrics/tiny_edsr/Tiny/comparison.csv')))
    assert {r['masked_filters'] for r in rows} == {'haze', 'noise'} and len(rows) == 4 * 1 * 2 * 2 * 3
    assert os.path.isfile('results/Interpret/metrics/tiny_edsr/Tiny/faig_maskhazefilter_haze.txt')
    ranking = np.loadtxt(f'{search}/faig/haze_index.txt', dtype=int)
    assert sorted(ranking) == list(range(num_filters))
