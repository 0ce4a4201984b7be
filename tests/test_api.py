"""The Python API (faig.api, faig.scores, faig.masking): the same numbers as the command-line pipeline,
sums over images, the caller's networks and tensors untouched, exact restore after masking, files."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

import faig
from faig import FAIG, IG, AbsoluteFilterChange, FilterScores, RandomFilters, masked, modulated
from faig.attribution.ranking import read_index
from faig.errors import InputError
from faig.evaluation.masking import modulate_filters, substitute_filters
from faig.networks import build_network

from conftest import save_model_pair, write_test_set
from test_attribution import TINY_NETS

NET = TINY_NETS['srresnet']


def net_pair(opt=NET, seed=0):
    """(baseline network, target network): the target a perturbed copy of the baseline."""
    torch.manual_seed(seed)
    baseline = build_network(opt).eval()
    target = build_network(opt).eval()
    with torch.no_grad():
        for p, q in zip(target.parameters(), baseline.parameters()):
            p.copy_(q + 0.05 * torch.randn_like(q))
    return baseline, target


def batch(n=3, size=(6, 5), seed=1):
    g = torch.Generator().manual_seed(seed)
    return {'blur': torch.rand(n, 3, *size, generator=g), 'noise': torch.rand(n, 3, *size, generator=g),
            'gt': torch.rand(n, 3, 2 * size[0], 2 * size[1], generator=g),
            'clean': torch.rand(n, 3, *size, generator=g)}


def state_bytes(net):
    return {k: (v.dtype, tuple(v.shape), v.detach().cpu().contiguous().numpy().tobytes())
            for k, v in net.state_dict().items()}


def test_exports():
    names = {'FAIG', 'IG', 'AbsoluteFilterChange', 'RandomFilters', 'FilterScores', 'masked', 'modulated'}
    assert names <= set(dir(faig))


def test_a_batch_gives_exactly_the_sum_of_its_single_images():
    baseline, target = net_pair()
    x = batch(3)
    method = FAIG(target, baseline=baseline)
    whole = method.attribute({'blur': x['blur'], 'noise': x['noise']}, gt=x['gt'], n_steps=3)
    singles = [method.attribute({'blur': x['blur'][i], 'noise': x['noise'][i]}, gt=x['gt'][i], n_steps=3)
               for i in range(3)]  # (C, H, W): one image
    for deg in ('blur', 'noise'):
        np.testing.assert_array_equal(whole[deg], singles[0][deg] + singles[1][deg] + singles[2][deg])
    np.testing.assert_array_equal(
        whole.discriminative('blur', 'noise'),
        sum((s.discriminative('blur', 'noise') for s in singles[1:]), singles[0].discriminative('blur', 'noise')))
    # an iterable of image sets (a DataLoader's batches of 2 and 1) gives the same
    loader = torch.utils.data.DataLoader(torch.utils.data.StackDataset(
        blur=x['blur'], noise=x['noise'], gt=x['gt']), batch_size=2)
    from_loader = method.attribute(loader, n_steps=3)
    for deg in ('blur', 'noise'):
        np.testing.assert_array_equal(from_loader[deg], whole[deg])
    np.testing.assert_array_equal(from_loader.ranking('blur', 'noise'), whole.ranking('blur', 'noise'))
    assert whole.convergence_delta['blur'].shape == (3, )


def run_pipeline(tmp_path, core_method, degradations=('blur', 'noise')):
    from faig.attribution.pipeline import AttributionJob, rank_dataset
    folders = {'gt': str(tmp_path / 'data' / 'GTmod12'), 'blur': str(tmp_path / 'data' / 'Blur2_LRbicx2'),
               'noise': str(tmp_path / 'data' / 'LRbicx2_noise0.1'), 'clean': str(tmp_path / 'data' / 'Linear_LRbicx2')}
    job = AttributionJob(str(tmp_path / core_method.name), degradations, folders, NET, None,
                         {'baseline': str(tmp_path / 'models' / 'baseline_model.pth'),
                          'target': str(tmp_path / 'models' / 'target_model.pth')}, layout='contiguous', device='cpu')
    return rank_dataset(core_method, job)


def file_images(tmp_path):
    from faig.attribution.runner import load_image_set
    from faig.data.image_io import pair_by_name
    root = tmp_path / 'data'
    pairs = pair_by_name({'gt': str(root / 'GTmod12'), 'blur': str(root / 'Blur2_LRbicx2'),
                          'noise': str(root / 'LRbicx2_noise0.1'), 'clean': str(root / 'Linear_LRbicx2')})
    return [load_image_set(p, 2, 'cpu') for p in pairs]


def test_rankings_are_those_of_the_command_line_pipeline(tmp_path):
    """Each class wraps the pipeline's method: the same index files, byte for byte."""
    from faig.attribution import methods
    baseline, target = net_pair()
    write_test_set(tmp_path / 'data', [(6, 5), (5, 7)], folders=('Blur2_LRbicx2', 'LRbicx2_noise0.1', 'Linear_LRbicx2'))
    save_model_pair(tmp_path / 'models', baseline.state_dict(), target.state_dict())
    images = file_images(tmp_path)
    api = {
        'faig': FAIG(target, baseline=baseline).attribute(images, n_steps=3),  # sets of gt, clean, blur, noise
        'ig': IG(target).attribute(images, n_steps=3),
        'abs_filter_change': AbsoluteFilterChange(target, baseline).attribute(),
        'random': RandomFilters(target, seed=4).attribute(),
    }
    cores = {'faig': methods.FAIG(n_steps=3), 'ig': methods.IG(n_steps=3),
             'abs_filter_change': methods.AbsoluteFilterChange(),
             'random': methods.RandomRanking(4, api['faig'].num_filters)}
    for name, core in cores.items():
        result = run_pipeline(tmp_path, core)
        api[name].save(str(tmp_path / f'api_{name}'))
        for deg in ('blur', 'noise'):
            assert (tmp_path / f'api_{name}' / f'{deg}_index.txt').read_bytes() == \
                (tmp_path / name / f'{deg}_index.txt').read_bytes()
            np.testing.assert_array_equal(api[name].ranking(deg), result.rankings[deg])
            if result.scores is not None:
                np.testing.assert_array_equal(np.load(tmp_path / f'api_{name}' / f'{deg}_scores.npy'),
                                              result.scores[deg])
        loaded = FilterScores.load(str(tmp_path / name), target)  # a folder of the tools, read back
        np.testing.assert_array_equal(loaded.ranking('blur'), api[name].ranking('blur'))
        assert loaded.locate(loaded.ranking('blur')[0]) == api[name].locate(api[name].ranking('blur')[0])


def test_the_callers_networks_and_tensors_are_never_changed():
    baseline, target = net_pair()
    target.train()
    baseline_dict = baseline.state_dict()  # aliases the baseline network's tensors
    before = {'target': state_bytes(target), 'baseline': state_bytes(baseline)}
    x = batch(2)
    inputs = {'blur': x['blur'], 'noise': x['noise']}
    kept = {k: v.clone() for k, v in x.items()}
    FAIG(target, baseline=baseline_dict).attribute(inputs, gt=x['gt'], n_steps=2)
    FAIG(target, baseline=baseline).attribute(inputs, gt=x['gt'], n_steps=2, internal_batch_size=2)
    IG(target).attribute(inputs, clean=x['clean'], n_steps=2)
    AbsoluteFilterChange(target, baseline_dict).attribute(inputs)
    RandomFilters(target).attribute(inputs)
    assert state_bytes(target) == before['target'] and state_bytes(baseline) == before['baseline']
    assert target.training and all(p.grad is None for p in target.parameters())
    for k, v in x.items():
        assert torch.equal(v, kept[k])
    # the attribution holds copies: changing the caller's network afterwards does not reach a method made before
    method = FAIG(target, baseline=baseline_dict)
    reference = method.attribute(inputs, gt=x['gt'], n_steps=2)
    with torch.no_grad():
        for v in baseline_dict.values():
            v.add_(1.0)
    np.testing.assert_array_equal(method.attribute(inputs, gt=x['gt'], n_steps=2)['blur'], reference['blur'])


def test_a_target_equal_to_its_baseline_is_refused():
    baseline, _ = net_pair()
    with pytest.raises(InputError, match='identical'):
        FAIG(baseline, baseline=baseline.state_dict())


def test_masked_restores_the_network_exactly_even_on_an_exception():
    baseline, target = net_pair()
    before = state_bytes(target)
    params = list(target.parameters())
    scores = AbsoluteFilterChange(target, baseline).attribute()
    chosen = scores.top(10, 'blur')
    x = batch(1)['blur']
    with torch.no_grad():
        expected = build_network(NET).eval()
        expected.load_state_dict(substitute_filters(baseline.state_dict(), target.state_dict(), chosen, scores.space))
        with masked(target, baseline, chosen) as net:
            assert net is target
            assert torch.equal(target(x), expected(x))
            assert state_bytes(target) != before
        assert state_bytes(target) == before
        assert all(a is b for a, b in zip(target.parameters(), params))  # the same Parameter objects
        with pytest.raises(RuntimeError, match='inside'):
            with masked(target, baseline.state_dict(), chosen):
                raise RuntimeError('inside')
        assert state_bytes(target) == before
        modulated_net = build_network(NET).eval()
        modulated_net.load_state_dict(modulate_filters(baseline.state_dict(), target.state_dict(), chosen, 1.5,
                                                       scores.space))
        with modulated(target, baseline, chosen, 1.5):
            assert torch.equal(target(x), modulated_net(x))
        assert state_bytes(target) == before


def test_save_and_load_give_back_the_rankings_and_the_filters(tmp_path):
    baseline, target = net_pair()
    x = batch(2)
    scores = FAIG(target, baseline=baseline).attribute({'blur': x['blur'], 'noise': x['noise']}, gt=x['gt'],
                                                      n_steps=2)
    folder = str(tmp_path / 'ranking')
    scores.save(folder)
    with pytest.raises(InputError, match='holds ranking files'):
        scores.save(folder)
    np.testing.assert_array_equal(read_index(osp.join(folder, 'blur_index.txt')), scores.ranking('blur', 'noise'))
    meta = json.load(open(osp.join(folder, 'meta.json')))
    assert meta['method'] == 'faig' and meta['total_step'] == 2 and len(meta['images']) == 2
    for loaded in (FilterScores.load(folder), FilterScores.load(folder, target)):
        for deg, other in (('blur', 'noise'), ('noise', 'blur')):
            np.testing.assert_array_equal(loaded.ranking(deg), scores.ranking(deg, other))
            np.testing.assert_array_equal(loaded.discriminative(deg, other), scores.discriminative(deg, other))
        top = scores.top(5, 'blur', 'noise')
        np.testing.assert_array_equal(loaded.top(5, 'blur'), top)
        assert [loaded.locate(i) for i in top] == [scores.locate(i) for i in top]
        assert loaded.per_layer_counts(top) == scores.per_layer_counts(top)


def test_locate_top_and_layer_counts():
    baseline, target = net_pair()
    scores = AbsoluteFilterChange(target, baseline).attribute()
    ranking = scores.ranking('blur')
    name, out_ch, in_ch = scores.locate(ranking[0])
    weight = dict(target.named_parameters())[name]
    assert 0 <= out_ch < weight.shape[0] and 0 <= in_ch < weight.shape[1]
    top = scores.top(10, 'blur')
    assert len(top) == int(scores.num_filters * 10 / 100)
    counts = scores.per_layer_counts(top)
    assert sum(counts.values()) == len(top) and list(counts) == [e.name for e in scores.space.entries]
    restricted = AbsoluteFilterChange(target, baseline, layers='body.*').attribute()
    assert all(name.startswith('body.') for name in restricted.per_layer_counts([]))


def test_inputs_that_do_not_fit_are_refused_in_one_sentence():
    baseline, target = net_pair()
    x = batch(2)
    method = FAIG(target, baseline=baseline)
    with pytest.raises(ValueError, match="without 'gt'"):
        method.attribute({'blur': x['blur'], 'noise': x['noise']}, n_steps=2)
    with pytest.raises(ValueError, match='one N'):
        method.attribute({'blur': x['blur'], 'noise': x['noise'][:1]}, gt=x['gt'], n_steps=2)
    with pytest.raises(TypeError, match='dict of tensors'):
        method.attribute([(x['blur'], x['gt'])], n_steps=2)
    with pytest.raises(TypeError, match='nn.Module'):
        FAIG(target.state_dict(), baseline=baseline)
    with pytest.raises(ValueError, match="compare 'blur' with"):
        method.attribute(x, n_steps=2, degradations=('blur', 'noise', 'clean')).ranking('blur')
