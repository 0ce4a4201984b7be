"""A real train.py run (subprocess, tiny net and data), its checkpoint, and a resumed run on CPU."""
import os.path as osp
import shutil

import pytest
import torch
import yaml

from conftest import REPO, run_script, write_images


def tiny_options(data, total_iter, arch='MSRResNet'):
    return {
        'name': 'tiny', 'model_type': 'SRModel', 'scale': 2, 'num_gpu': 0, 'manual_seed': 0,
        'datasets': {'train': {
            'name': 'tiny', 'type': 'DIV2KInterpretDataset', 'dataroot_gt': data, 'io_backend': {'type': 'disk'},
            'gt_size': 32, 'use_flip': True, 'use_rot': True, 'kernel_prob': 0.5, 'kernel_size': 21,
            'sigma_list': [2], 'noise_prob': 0.5, 'noise_list': [0.1], 'use_shuffle': True,
            'num_worker_per_gpu': 0, 'batch_size_per_gpu': 2, 'dataset_enlarge_ratio': 2, 'prefetch_mode': None}},
        'network_g': {'type': arch, 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1, 'upscale': 2},
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': {'ema_decay': 0.9, 'optim_g': {'type': 'Adam', 'lr': 1e-3, 'betas': [0.9, 0.99]},
                  'scheduler': {'type': 'MultiStepLR', 'milestones': [100], 'gamma': 0.5},
                  'total_iter': total_iter, 'warmup_iter': -1,
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'}},
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 2, 'use_tb_logger': False},
        'dist_params': {'backend': 'gloo', 'port': 29500},
    }


@pytest.fixture
def workdir(tmp_path):
    """A copy of train.py in a temporary root, so experiments/ is written there."""
    shutil.copy(osp.join(REPO, 'train.py'), tmp_path / 'train.py')
    write_images(str(tmp_path / 'gt'), [(64, 64), (48, 80), (72, 64)])
    return tmp_path


def write_options(workdir, opt, name='tiny.yml'):
    path = workdir / name
    path.write_text(yaml.safe_dump(opt))
    return str(path)


def test_train_writes_checkpoint_and_resumes_on_cpu(workdir):
    data = str(workdir / 'gt')
    res = run_script(['train.py', '-opt', write_options(workdir, tiny_options(data, 2))], cwd=workdir)
    assert res.returncode == 0, res.stderr[-2000:]
    models = workdir / 'experiments' / 'tiny' / 'models'
    ckpt = torch.load(models / 'net_g_2.pth', map_location='cpu', weights_only=True)
    assert set(ckpt) == {'params', 'params_ema'}
    assert set(ckpt['params']) == set(ckpt['params_ema'])
    assert any(not torch.equal(ckpt['params'][k], ckpt['params_ema'][k]) for k in ckpt['params'])
    assert (workdir / 'experiments' / 'tiny' / 'training_states' / '2.state').is_file()

    # continue to 4 iterations from the saved state (basicsr's own resume needs CUDA)
    res = run_script(['train.py', '-opt', write_options(workdir, tiny_options(data, 4)), '--auto_resume'],
                     cwd=workdir)
    assert res.returncode == 0, res.stderr[-2000:]
    log = (res.stdout + res.stderr)
    assert 'Resuming training from epoch' in log and 'iter: 2' in log
    resumed = torch.load(models / 'net_g_4.pth', map_location='cpu', weights_only=True)
    assert any(not torch.equal(resumed['params'][k], ckpt['params'][k]) for k in ckpt['params'])
    assert not (workdir / 'experiments' / 'tiny_archived').exists()


def test_unknown_arch_is_one_line_and_writes_nothing(workdir):
    opt_path = write_options(workdir, tiny_options(str(workdir / 'gt'), 2, arch='NoSuchNet'))
    res = run_script(['train.py', '-opt', opt_path], cwd=workdir)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and opt_path in lines[0] and 'NoSuchNet' in lines[0]
    assert not (workdir / 'experiments').exists()


def test_missing_gt_folder_is_one_line(workdir):
    opt_path = write_options(workdir, tiny_options(str(workdir / 'no_such_gt'), 2))
    res = run_script(['train.py', '-opt', opt_path], cwd=workdir)
    assert res.returncode == 2
    assert res.stderr.strip().count('\n') == 0 and 'no_such_gt' in res.stderr
