"""The analysis/tools scripts end to end on tiny nets and images: outputs, pairing, resume, errors."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch

from faig.attribution.ranking import rank, read_index
from faig.data.image_io import read_image
from faig.errors import InputError
from faig.inference import image_to_tensor
from faig.store import PartialStore

from conftest import write_images
from test_attribution import TINY_NETS, literal_faig, literal_ig, make_pair

NET = TINY_NETS['srresnet']
NET_ARG = json.dumps(NET)


@pytest.fixture
def setup(tmp_path):
    baseline, target = make_pair(NET, dtype=torch.float32)
    torch.save({'params_ema': baseline, 'params': target}, tmp_path / 'baseline.pth')
    torch.save({'params_ema': target}, tmp_path / 'target.pth')
    names_shapes = [(8, 10), (6, 6)]
    gt = write_images(str(tmp_path / 'GT'), [(2 * h, 2 * w) for h, w in names_shapes], seed=1)
    for folder, seed in (('Blur2_LRbicx2', 2), ('LRbicx2_noise0.1', 3), ('Linear_LRbicx2', 4)):
        write_images(str(tmp_path / folder), names_shapes, seed=seed)
    return tmp_path, baseline, target


@pytest.fixture
def tool(in_process):
    """``tool(net, name, *args)``: analysis/tools/<net>/<name>.py run in the test process."""
    return lambda net, name, *args: in_process([f'analysis/tools/{net}/{name}.py', *args])


def faig_args(root, out, *extra):
    return ('--network_g', NET_ARG, '--baseline_model_path', str(root / 'baseline.pth'), '--target_model_path',
            str(root / 'target.pth'), '--gt_folder', str(root / 'GT'), '--blur_folder',
            str(root / 'Blur2_LRbicx2'), '--noise_folder', str(root / 'LRbicx2_noise0.1'), '--total_step', '3',
            '--record_filters_folder', str(out), *extra)


def load(path):
    return image_to_tensor(read_image(str(path)))


def test_faig_script_matches_literal_reference(setup, tool):
    root, baseline, target = setup
    res = tool('srresnet', 'faig', *faig_args(root, root / 'out'))
    assert res.returncode == 0, res.stderr[-3000:]
    expected = 0
    for name in ('img0.png', 'img1.png'):
        gt, blur, noise = (load(root / f / name) for f in ('GT', 'Blur2_LRbicx2', 'LRbicx2_noise0.1'))
        expected = expected + (literal_faig(NET, baseline, target, blur, gt, 3) -
                               literal_faig(NET, baseline, target, noise, gt, 3))
    blur_scores = np.load(root / 'out' / 'blur_scores.npy')
    np.testing.assert_allclose(blur_scores, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
    np.testing.assert_array_equal(np.load(root / 'out' / 'noise_scores.npy'), -blur_scores)
    blur_index = read_index(str(root / 'out' / 'blur_index.txt'), len(expected))
    np.testing.assert_array_equal(blur_index, rank(blur_scores))
    np.testing.assert_array_equal(read_index(str(root / 'out' / 'noise_index.txt')), rank(-blur_scores))
    meta = json.load(open(root / 'out' / 'meta.json'))
    assert meta['total_step'] == 3 and len(meta['images']) == 2
    seconds = meta['layout_seconds']  # --layout auto: measured on this machine
    assert meta['channels_last'] == (seconds['channels_last'] < 0.9 * seconds['contiguous'])
    assert not (root / 'out' / '.partial').exists()
    res = tool('srresnet', 'faig', *faig_args(root, root / 'contiguous', '--layout', 'contiguous'))
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.load(open(root / 'contiguous' / 'meta.json'))['channels_last'] is False
    contiguous = np.load(root / 'contiguous' / 'blur_scores.npy')
    np.testing.assert_allclose(contiguous, blur_scores, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_faig_resume_reuses_partial_results(setup, monkeypatch):
    root, _, _ = setup
    from faig.attribution.methods import FAIG
    from faig.attribution.pipeline import AttributionJob, rank_dataset
    folders = {'gt': str(root / 'GT'), 'blur': str(root / 'Blur2_LRbicx2'),
               'noise': str(root / 'LRbicx2_noise0.1')}
    job = AttributionJob(str(root / 'r'), ('blur', 'noise'), folders, NET, 'srresnet',
                         {'baseline': str(root / 'baseline.pth'), 'target': str(root / 'target.pth')},
                         layout='contiguous', device='cpu')
    seen = []
    original = FAIG.attribute

    def stop_after_first(self, images, **kwargs):
        if seen:
            raise KeyboardInterrupt  # a run killed after its first image
        seen.append(1)
        return original(self, images, **kwargs)

    monkeypatch.setattr(FAIG, 'attribute', stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        rank_dataset(FAIG(n_steps=2), job)
    assert len(os.listdir(root / 'r' / '.partial')) == 2  # config + the finished image

    def once(self, images, **kwargs):
        seen.append(2)
        return original(self, images, **kwargs)

    monkeypatch.setattr(FAIG, 'attribute', once)
    with pytest.raises(InputError, match='--resume'):
        rank_dataset(FAIG(n_steps=2), job)  # partial results are never dropped silently
    # the same models and images, moved elsewhere: the same run (paths are not part of its settings)
    import shutil
    moved = root / 'moved'
    for name in ('GT', 'Blur2_LRbicx2', 'LRbicx2_noise0.1'):
        shutil.copytree(root / name, moved / name)
    for name in ('baseline.pth', 'target.pth'):
        shutil.copy(root / name, moved / name)
    job.folders = {role: str(moved / osp.basename(f)) for role, f in folders.items()}
    job.model_paths = {'baseline': str(moved / 'baseline.pth'), 'target': str(moved / 'target.pth')}
    job.resume = True
    resumed = rank_dataset(FAIG(n_steps=2), job)
    assert seen == [1, 2]  # only the missing image was computed
    monkeypatch.setattr(FAIG, 'attribute', original)
    job.resume, job.out = False, str(root / 'whole')
    whole = rank_dataset(FAIG(n_steps=2), job)
    np.testing.assert_array_equal(resumed.scores['blur'], whole.scores['blur'])
    with pytest.raises(InputError, match='other settings'):
        PartialStore(str(root / 'r2'), {'steps': 2}, False).put('x', {'a': np.zeros(1)}) or \
            PartialStore(str(root / 'r2'), {'steps': 3}, True)


def test_pairing_by_name_not_position(setup, tool):
    root, _, _ = setup
    # an extra image in one folder: an error listing the name
    write_images(str(root / 'Blur2_LRbicx2'), [(6, 6)], seed=9, prefix='extra')
    res = tool('srresnet', 'faig', *faig_args(root, root / 'out'))
    assert res.returncode == 2 and 'extra0.png' in res.stderr and res.stderr.count('\n') == 1
    assert not (root / 'out' / 'blur_index.txt').exists()


def test_mismatched_checkpoints_and_wrong_arch(setup, tool):
    root, baseline, target = setup
    torch.save({'params_ema': {k: v for k, v in list(baseline.items())[:-1]}}, root / 'short.pth')
    res = tool('srresnet', 'faig', *faig_args(root, root / 'out', '--baseline_model_path', str(root / 'short.pth')))
    assert res.returncode == 2 and 'different keys' in res.stderr
    res = tool('srresnet', 'faig', *faig_args(root, root / 'out', '--network_g', '{"type": "NoSuchArch"}'))
    assert res.returncode == 2 and 'NoSuchArch' in res.stderr


def test_ig_abs_random_scripts(setup, tool):
    root, baseline, target = setup
    common = ('--network_g', NET_ARG, '--target_model_path', str(root / 'target.pth'), '--bic_folder',
              str(root / 'Linear_LRbicx2'), '--blur_folder', str(root / 'Blur2_LRbicx2'), '--noise_folder',
              str(root / 'LRbicx2_noise0.1'), '--total_step', '3', '--record_filters_folder', str(root / 'ig'))
    res = tool('srresnet', 'ig', *common)
    assert res.returncode == 0, res.stderr[-3000:]
    expected = 0
    for name in ('img0.png', 'img1.png'):
        clean, blur = load(root / 'Linear_LRbicx2' / name), load(root / 'Blur2_LRbicx2' / name)
        expected = expected + literal_ig(NET, target, clean, blur, 3, closed=False)
    np.testing.assert_allclose(np.load(root / 'ig' / 'blur_scores.npy'), expected, rtol=1e-4)
    assert set(json.load(open(root / 'ig' / 'meta.json'))['layout_seconds']) == {'contiguous', 'channels_last'}

    res = tool('srresnet', 'absolute_filter_change', '--baseline_model_path', str(root / 'baseline.pth'),
               '--target_model_path', str(root / 'target.pth'), '--record_filters_folder', str(root / 'abs'))
    assert res.returncode == 0, res.stderr[-3000:]
    np.testing.assert_array_equal(read_index(str(root / 'abs' / 'blur_index.txt')),
                                  read_index(str(root / 'abs' / 'noise_index.txt')))

    outs = []
    for run in ('r1', 'r2'):
        res = tool('srcnn_style', 'random_neurons', '--seed', '7', '--record_filters_folder', str(root / run))
        assert res.returncode == 0, res.stderr[-3000:]
        outs.append(read_index(str(root / run / 'blur_index.txt'), 156224))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert len(outs[0]) == 156224


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cpu_and_cuda_agree(setup, tool):
    root, _, _ = setup
    for device in ('cpu', 'cuda'):
        res = tool('srresnet', 'faig', *faig_args(root, root / device, '--device', device))
        assert res.returncode == 0, res.stderr[-3000:]
    np.testing.assert_allclose(np.load(root / 'cuda' / 'blur_scores.npy'), np.load(root / 'cpu' / 'blur_scores.npy'),
                               rtol=1e-3, atol=1e-6)


def test_module_prefixed_checkpoint_is_read_and_the_key_recorded(setup):
    """A target saved from a DataParallel / DDP wrapper (every name ``module.``-prefixed, under ``params``)
    gives the scores of the plain checkpoint; meta.json says which entry was read and what was stripped."""
    root, _, target = setup
    from faig.attribution.methods import FAIG
    from faig.attribution.pipeline import AttributionJob, rank_dataset
    torch.save({'params': {f'module.{k}': v for k, v in target.items()}}, root / 'wrapped.pth')
    folders = {'gt': str(root / 'GT'), 'blur': str(root / 'Blur2_LRbicx2'), 'noise': str(root / 'LRbicx2_noise0.1')}
    results = {}
    for name in ('target', 'wrapped'):
        job = AttributionJob(str(root / f'r_{name}'), ('blur', 'noise'), folders, NET, 'srresnet',
                             {'baseline': str(root / 'baseline.pth'), 'target': str(root / f'{name}.pth')},
                             layout='contiguous', device='cpu')
        results[name] = rank_dataset(FAIG(n_steps=2), job)
    np.testing.assert_array_equal(results['wrapped'].scores['blur'], results['target'].scores['blur'])
    meta = json.load(open(root / 'r_wrapped' / 'meta.json'))
    assert meta['checkpoints'] == {'baseline': {'key': 'params_ema', 'stripped_prefix': None},
                                   'target': {'key': 'params', 'stripped_prefix': 'module.'}}
    assert results['wrapped'].meta['run_key'] == results['target'].meta['run_key']  # the same weights, the same run


def test_only_a_prefix_on_every_name_is_a_wrappers(tmp_path):
    from faig.networks import load_checkpoint
    tensors = {'module.weight': torch.ones(1), 'head.weight': torch.zeros(1)}  # a layer that is called "module"
    torch.save(tensors, tmp_path / 'plain.pth')
    params, record = load_checkpoint(str(tmp_path / 'plain.pth'))
    assert set(params) == set(tensors) and record == {'key': None, 'stripped_prefix': None}
    torch.save({'params_ema': {f'module.{k}': v for k, v in tensors.items()}}, tmp_path / 'ddp.pth')
    params, record = load_checkpoint(str(tmp_path / 'ddp.pth'))
    assert set(params) == set(tensors) and record == {'key': 'params_ema', 'stripped_prefix': 'module.'}
