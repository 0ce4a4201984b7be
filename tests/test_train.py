"""A real train.py run (subprocess, tiny net and data), its checkpoint, and a resumed run on CPU;
bad option files (typos, wrong values) refused in one line before anything is written (train.py's command line in
process where a process adds nothing: faig.cli.train.train with its argv)."""
import glob
import json
import os
import os.path as osp
import shutil

import pytest
import torch
import yaml

from faig.errors import InputError
from faig.store import sha1_file

from conftest import REPO, load_script, run_script, write_images


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


@pytest.fixture
def train_here(workdir, capsys, monkeypatch):
    """train.py's command line run in this process up to BasicSR's pipeline, which a refused run never reaches:
    its exit status and output, as run_script gives them (without a process that imports torch and BasicSR)."""
    import subprocess

    from faig import training_pipeline
    from faig.cli.train import train

    def through_the_checks(*args):
        raise AssertionError('the checks let the run through to BasicSR')
    monkeypatch.setattr(training_pipeline, 'run_pipeline', through_the_checks)
    monkeypatch.chdir(workdir)

    def run(argv):
        with pytest.raises(SystemExit) as stop:
            train(str(workdir), argv)
        out = capsys.readouterr()
        return subprocess.CompletedProcess(argv, stop.value.code, out.out, out.err)
    return run


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


def test_unknown_arch_is_one_line_and_writes_nothing(workdir, train_here):
    opt_path = write_options(workdir, tiny_options(str(workdir / 'gt'), 2, arch='NoSuchNet'))
    res = train_here(['-opt', opt_path])
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and opt_path in lines[0] and 'NoSuchNet' in lines[0]
    assert not (workdir / 'experiments').exists()


def test_missing_gt_folder_is_one_line(workdir, train_here):
    opt_path = write_options(workdir, tiny_options(str(workdir / 'no_such_gt'), 2))
    res = train_here(['-opt', opt_path])
    assert res.returncode == 2
    assert res.stderr.strip().count('\n') == 0 and 'no_such_gt' in res.stderr


# Option files with typos and wrong values: one line, exit 2, nothing written (see faig/training.py)

def _set(opt, dotted, value):
    """Set ``a.b.c`` in a nested dict."""
    *parents, last = dotted.split('.')
    for key in parents:
        opt = opt[key]
    opt[last] = value


def _rename(opt, dotted, new_name):
    *parents, last = dotted.split('.')
    for key in parents:
        opt = opt[key]
    opt[new_name] = opt.pop(last)


BAD_OPTIONS = [
    # (what to change, expected message after "error: <yml>: ")
    (lambda o: _rename(o, 'train.total_iter', 'totl_iter'),
     "unknown option 'train.totl_iter' (did you mean 'total_iter'?)"),
    (lambda o: _set(o, 'path.pretrain_netwrk_g', 'made_by_make_exp_dirs'),  # basicsr would mkdir it
     "unknown option 'path.pretrain_netwrk_g' (did you mean 'pretrain_network_g'?)"),
    (lambda o: _rename(o, 'network_g.num_block', 'num_blocks'),
     "unknown option 'network_g.num_blocks' (did you mean 'num_block'?)"),
    (lambda o: _rename(o, 'datasets.train.use_flip', 'use_flp'),
     "unknown option 'datasets.train.use_flp' (did you mean 'use_flip'?)"),
    (lambda o: _rename(o, 'logger.print_freq', 'print_frq'),
     "unknown option 'logger.print_frq' (did you mean 'print_freq'?)"),
    (lambda o: _rename(o, 'manual_seed', 'manul_seed'), "unknown option 'manul_seed' (did you mean 'manual_seed'?)"),
    (lambda o: _set(o, 'train.total_iter', 'abc'), "train.total_iter: must be an integer >= 1, got 'abc'"),
    (lambda o: _set(o, 'scale', 0), 'scale: must be an integer >= 1, got 0'),
    (lambda o: _set(o, 'train.optim_g.lr', '2e-4'),
     "train.optim_g.lr: must be a number > 0, got '2e-4' (YAML reads 2e-4 as text; write !!float 2e-4)"),
]


@pytest.mark.parametrize('change,message', BAD_OPTIONS, ids=[m.split(':')[0][:40] for _, m in BAD_OPTIONS])
def test_bad_option_is_one_line_and_writes_nothing(workdir, train_here, change, message):
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['logger']['use_tb_logger'] = True  # a run that got past the check would make tb_logger/
    change(opt)
    opt_path = write_options(workdir, opt)
    before = sorted(p.relative_to(workdir) for p in workdir.rglob('*'))
    res = train_here(['-opt', opt_path])
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.strip() == f'error: {opt_path}: {message}'
    assert not (workdir / 'experiments').exists() and not (workdir / 'tb_logger').exists()
    assert sorted(p.relative_to(workdir) for p in workdir.rglob('*')) == before


@pytest.mark.parametrize('change,message', [
    (lambda o: _set(o, 'val', {'val_freq': 1, 'save_img': False,
                               'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_bordr': 2}}}),
     "unknown option 'val.metrics.psnr.crop_bordr' (did you mean 'crop_border'?)"),
    (lambda o: _rename(o, 'train.scheduler.milestones', 'milestone'),
     "unknown option 'train.scheduler.milestone' (did you mean 'milestones'?)"),
    (lambda o: _rename(o, 'train.pixel_opt.loss_weight', 'los_weight'),
     "unknown option 'train.pixel_opt.los_weight' (did you mean 'loss_weight'?)"),
    (lambda o: _set(o, 'logger.wandb', {'projct': None}),
     "unknown option 'logger.wandb.projct' (did you mean 'project'?)"),
    (lambda o: _set(o, 'datasets.train.kernel_size', 20),
     'datasets.train.kernel_size: must be a positive odd integer, got 20'),
    (lambda o: _set(o, 'datasets.train.noise_prob', 1.5),
     'datasets.train.noise_prob: must be a probability in [0, 1], got 1.5'),
    (lambda o: _set(o, 'datasets.test', o['datasets']['train']),
     "datasets.test: unknown dataset phase 'test'; use 'train', 'val' or 'val_<n>'"),
    (lambda o: _set(o, 'network_g.upscale', 4), 'network_g.upscale: 4 differs from scale: 2'),
    (lambda o: _set(o, 'logger.save_checkpoint_freq', 0), 'logger.save_checkpoint_freq: must be a number > 0, got 0'),
    (lambda o: _set(o, 'logger.use_tb_logger', 'yes'), "logger.use_tb_logger: must be true or false, got 'yes'"),
    (lambda o: _set(o, 'name', 'a/b'), "name: must be a non-empty name without slashes"),
    (lambda o: _set(o, 'datasets.train.gt_size', 33), 'datasets.train.gt_size: 33 is not divisible by scale 2'),
    (lambda o: _set(o, 'train.optim_g.type', 'SGD'), "train.optim_g.type: basicsr 1.4.2 supports only Adam, got 'SGD'"),
    (lambda o: o.pop('num_gpu'), "missing option 'num_gpu'"),
    (lambda o: _set(o, 'train.scheduler', {'type': 'CosineAnnealingRestartLR', 'periods': [1], 'eta_min': 1e-7}),
     'train.scheduler.periods: they sum to 1, less than train.total_iter 2'),
])
def test_check_options_messages(workdir, change, message):
    """The same check in-process (fast): more typos and wrong values."""
    from faig.training import check_options
    opt = tiny_options(str(workdir / 'gt'), 2)
    change(opt)
    opt_path = write_options(workdir, opt)
    with pytest.raises(InputError) as info:
        check_options(opt_path)
    assert str(info.value).startswith(f'{opt_path}: {message}')
    assert '\n' not in str(info.value)


def test_every_project_option_file_passes_check_options(monkeypatch):
    """options/**/*.yml: keys and values always; with the files they name for the CPU ones
    (a target's pretrained baseline is made by a training run: until then it is refused, as
    train_pipeline would crash on it after making the experiment folder)."""
    from faig.training import check_options
    monkeypatch.chdir(REPO)
    files = sorted(glob.glob(osp.join('options', '**', '*.yml'), recursive=True))
    assert len(files) >= 8
    for path in files:
        check_options(path, check_files=False)
    have_data = osp.isdir('datasets/SampleTrain/HR_sub') and osp.isdir('datasets/SampleSet/GTmod12')
    for path in glob.glob(osp.join('options', 'cpu', '*.yml')) + glob.glob(osp.join('options', 'gpu', '*.yml')):
        if have_data:  # the sample data made by scripts/prepare_sample_data.py and generate_lr.py
            on_cpu = ['datasets:train:prefetch_mode=~'] if 'gpu' in path and not torch.cuda.is_available() else []
            with open(path) as f:
                opt = yaml.safe_load(f)
            pretrain = opt['path'].get('pretrain_network_g')
            ranking = opt['train'].get('finetuned_neuron_index_file')  # ReTrainModel: made by reproduce.py
            try:
                check_options(path, auto_resume=True, force_yml=on_cpu)
            except InputError as exc:  # only a baseline not trained yet (and no run of this config to resume)
                if ranking and not osp.isfile(ranking):
                    assert str(exc) == f'{path}: train.finetuned_neuron_index_file not found: {ranking}'
                    continue
                assert pretrain and not osp.isfile(pretrain), str(exc)
                assert str(exc) == f'{path}: path.pretrain_network_g not found: {pretrain}'
        else:  # a fresh clone: the files they name are checked, and missing
            with pytest.raises(InputError, match='not found: datasets/Sample'):
                check_options(path, auto_resume=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CUDA prefetcher works here')
def test_cuda_prefetch_without_a_gpu_is_one_line_and_writes_nothing(workdir):
    """basicsr's CUDAPrefetcher crashes with a CUDA traceback after making experiments/<name>."""
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['datasets']['train'].update(prefetch_mode='cuda', pin_memory=True)
    opt_path = write_options(workdir, opt)
    res = run_script(['train.py', '-opt', opt_path], cwd=workdir)
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.strip() == (f'error: {opt_path}: datasets.train.prefetch_mode: cuda but no CUDA GPU is available; '
                                  'use ~ on the CPU (--force_yml datasets:train:prefetch_mode=~)')
    assert not (workdir / 'experiments').exists()
    res = run_script(['train.py', '-opt', opt_path, '--force_yml', 'datasets:train:prefetch_mode=~'], cwd=workdir)
    assert res.returncode == 0, res.stderr[-2000:]
    assert osp.isfile(workdir / 'experiments' / 'tiny' / 'models' / 'net_g_latest.pth')


def test_tiny_options_pass(workdir):
    from faig.training import check_options
    check_options(write_options(workdir, tiny_options(str(workdir / 'gt'), 2)))


def test_force_yml_overrides_are_checked(workdir):
    from faig.training import check_options
    opt_path = write_options(workdir, tiny_options(str(workdir / 'gt'), 2))
    assert check_options(opt_path, force_yml=['train:total_iter=7'])['train']['total_iter'] == 7
    with pytest.raises(InputError, match="unknown option 'train.totl_iter'"):
        check_options(opt_path, force_yml=['train:totl_iter=7'])
    with pytest.raises(InputError, match="^--force_yml: 'trian:x=1': .* has no section 'trian'$"):
        check_options(opt_path, force_yml=['trian:x=1'])
    with pytest.raises(InputError, match='^--force_yml: expected section:key=value'):
        check_options(opt_path, force_yml=['train'])
    # BasicSR's --force_yml reads -5 as text: the message is about the number, not about YAML
    with pytest.raises(InputError, match=r'train\.total_iter: must be an integer >= 1, got -5$'):
        check_options(opt_path, force_yml=['train:total_iter=-5'])


def test_train_command_line_errors_are_one_line(workdir, train_here):
    res = train_here([])
    assert res.returncode == 2 and res.stderr.strip().count('\n') == 0 and '-opt' in res.stderr
    res = train_here(['-opt', str(workdir / 'missing.yml')])
    assert res.returncode == 2 and res.stderr.strip() == f'error: {workdir / "missing.yml"}: option file not found'
    assert not (workdir / 'experiments').exists()


# ---- the training set, pretrained checkpoints and resume states: checked before anything is written ----

def tiny_net(arch='MSRResNet', **kwargs):
    from basicsr.utils.registry import ARCH_REGISTRY
    opt = {'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1, 'upscale': 2} if arch == 'MSRResNet' \
        else {'scale': 2, 'channels': (4, 4)}
    return ARCH_REGISTRY.get(arch)(**{**opt, **kwargs})


def save_checkpoint(path, net, keys=('params', 'params_ema')):
    torch.save({key: net.state_dict() for key in keys}, path)
    return str(path)


def assert_refused(workdir, res, *fragments):
    """Exit status 2, one ``error:`` line holding ``fragments``, and no experiments/ or tb_logger/."""
    assert res.returncode == 2, res.stderr[-3000:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), res.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not (workdir / 'experiments').exists() and not (workdir / 'tb_logger').exists()
    return lines[0]


def refused_train(train_here, workdir, opt, *fragments, args=()):
    opt['logger']['use_tb_logger'] = True  # a run that got past the check would make tb_logger/
    opt_path = write_options(workdir, opt)
    res = train_here(['-opt', opt_path, *args])
    return assert_refused(workdir, res, f'error: {opt_path}: ', *fragments)


def test_batch_larger_than_the_training_set_is_refused(workdir, train_here):
    """3 images x dataset_enlarge_ratio 2 = 6 samples: a batch of 7 gave 0 iterations, exit 0 and untrained
    weights saved as net_g_latest.pth; from the file or from --force_yml."""
    from faig.training import check_options
    opt = tiny_options(str(workdir / 'gt'), 2)
    message = ('datasets.train.batch_size_per_gpu: 7 is larger than the training set: 3 image(s) x '
               'dataset_enlarge_ratio 2 = 6 sample(s) per epoch, so 0 iterations per epoch')
    opt['datasets']['train']['batch_size_per_gpu'] = 7
    refused_train(train_here, workdir, opt, message)
    opt['datasets']['train']['batch_size_per_gpu'] = 2
    refused_train(train_here, workdir, opt, message, args=['--force_yml', 'datasets:train:batch_size_per_gpu=7'])
    opt['datasets']['train']['batch_size_per_gpu'] = 6  # one full batch per epoch
    check_options(write_options(workdir, opt, 'six.yml'))


def test_gt_size_larger_than_a_training_image_is_refused(workdir, train_here):
    """gt_size 50 > the 48-pixel height of img1.png: a traceback of about 200 lines in the first batch,
    after the experiment folder was made."""
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['datasets']['train']['gt_size'] = 50
    refused_train(train_here, workdir, opt, 'datasets.train.gt_size: 50 is larger than the training image '
                  f'{workdir / "gt" / "img1.png"} (height 48, width 80)')


def test_training_images_of_a_paired_set_are_checked(workdir):
    from faig.training import check_options
    write_images(str(workdir / 'lq'), [(32, 32), (24, 40), (36, 32)])
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['datasets']['train'] = {
        'name': 'paired', 'type': 'PairedImageDataset', 'dataroot_gt': str(workdir / 'gt'),
        'dataroot_lq': str(workdir / 'lq'), 'io_backend': {'type': 'disk'}, 'gt_size': 48, 'use_hflip': True,
        'use_rot': False, 'num_worker_per_gpu': 0, 'batch_size_per_gpu': 3, 'dataset_enlarge_ratio': 1}
    opt_path = write_options(workdir, opt)
    check_options(opt_path)
    with pytest.raises(InputError, match='gt_size: 64 is larger than the training image .*img1.png '
                       r'\(height 48, width 80\)'):
        check_options(opt_path, force_yml=['datasets:train:gt_size=64'])
    with pytest.raises(InputError, match=r'batch_size_per_gpu: 4 is larger than the training set: 3 image\(s\)'):
        check_options(opt_path, force_yml=['datasets:train:batch_size_per_gpu=4'])
    write_images(str(workdir / 'lq'), [(30, 32)], prefix='img2')  # replaces nothing: img20.png, an extra LQ
    with pytest.raises(InputError, match='different number of images'):
        check_options(opt_path)
    os.remove(workdir / 'lq' / 'img20.png')
    write_images(str(workdir / 'lq'), [(32, 32), (24, 40), (30, 32)])  # img2.png no longer half its GT
    with pytest.raises(InputError, match=r'lq/img2.png: height 30, width 32 times scale 2 does not match its GT '
                       r'.*gt/img2.png \(height 72, width 64\)'):
        check_options(opt_path)
    (workdir / 'gt' / 'img2.png').write_bytes(b'')
    with pytest.raises(InputError, match=r'datasets.train: .*gt/img2.png: empty file \(0 bytes\)$'):
        check_options(opt_path)


def test_training_images_of_an_lmdb_are_counted_and_sized_from_its_meta_info(workdir):
    from basicsr.utils.lmdb_util import make_lmdb_from_imgs

    from faig.training import check_options
    names = sorted(os.listdir(workdir / 'gt'))
    lmdb = str(workdir / 'gt.lmdb')
    make_lmdb_from_imgs(str(workdir / 'gt'), lmdb, names, [n.split('.')[0] for n in names], map_size=10 ** 7)
    opt = tiny_options(lmdb, 2)
    opt['datasets']['train']['io_backend'] = {'type': 'lmdb'}
    opt_path = write_options(workdir, opt)
    check_options(opt_path)
    with pytest.raises(InputError, match=r'gt_size: 50 is larger than the training image .*gt.lmdb \(lmdb key img1\) '
                       r'\(height 48, width 80\)'):
        check_options(opt_path, force_yml=['datasets:train:gt_size=50'])
    with pytest.raises(InputError, match=r'batch_size_per_gpu: 7 is larger than the training set: 3 image\(s\)'):
        check_options(opt_path, force_yml=['datasets:train:batch_size_per_gpu=7'])

def test_pretrained_model_of_another_arch_is_refused(workdir, train_here):
    """An srcnn_style_net checkpoint for an MSRResNet config: basicsr's size/key mismatch traceback came
    after the experiment folder was made."""
    ckpt = save_checkpoint(workdir / 'srcnn.pth', tiny_net('srcnn_style_net'))
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['path']['pretrain_network_g'] = ckpt
    refused_train(train_here, workdir, opt,
                  f'path.pretrain_network_g: {ckpt} (params) does not fit network_g MSRResNet '
                  '(num_block=1, num_feat=8, num_in_ch=3, num_out_ch=3, upscale=2): missing conv_first.weight '
                  '(the checkpoint has features.0.weight, features.0.bias, features.2.weight, ...')


def test_truncated_pretrained_model_is_refused(workdir, train_here):
    ckpt = save_checkpoint(workdir / 'net.pth', tiny_net())
    data = (workdir / 'net.pth').read_bytes()
    (workdir / 'net.pth').write_bytes(data[:len(data) // 2])
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['path']['pretrain_network_g'] = ckpt
    refused_train(train_here, workdir, opt, f'path.pretrain_network_g: {ckpt}: not a loadable checkpoint (')
    (workdir / 'net.pth').write_bytes(b'')
    refused_train(train_here, workdir, opt, f'path.pretrain_network_g: {ckpt}: empty file (0 bytes), not a checkpoint')


def test_param_key_that_is_not_in_the_pretrained_model_is_refused(workdir, train_here):
    """basicsr silently loaded 'params' for a typo'd param_key_g."""
    ckpt = save_checkpoint(workdir / 'net.pth', tiny_net())
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['path'].update(pretrain_network_g=ckpt, param_key_g='parms_ema')
    refused_train(train_here, workdir, opt,
                  f"path.param_key_g: 'parms_ema' is not in {ckpt} (its keys: params, params_ema)")


def test_pretrained_model_checks_in_process(workdir):
    from faig.training import check_options
    opt = tiny_options(str(workdir / 'gt'), 2)
    net = tiny_net()
    opt['path']['pretrain_network_g'] = save_checkpoint(workdir / 'net.pth', net)

    def check(*force_yml):
        return check_options(write_options(workdir, opt), force_yml=list(force_yml))

    check()
    check('path:param_key_g=params_ema')
    # basicsr's fallback to 'params' for a key that is not there is refused
    opt['path']['pretrain_network_g'] = save_checkpoint(workdir / 'only_params.pth', net, keys=('params', ))
    with pytest.raises(InputError, match=r"path.param_key_g: 'params_ema' is not in .*only_params.pth "
                       r'\(its keys: params\)$'):
        check('path:param_key_g=params_ema')
    # an exported model (params_ema only) with the default param_key_g: 'params'
    opt['path']['pretrain_network_g'] = save_checkpoint(workdir / 'ema.pth', net, keys=('params_ema', ))
    with pytest.raises(InputError, match=r"ema.pth has no 'params' \(the default of path.param_key_g\); its keys: "
                       'params_ema; set path.param_key_g$'):
        check()
    check('path:param_key_g=params_ema')
    # a plain state dict loads with param_key_g: ~ (without EMA, which loads params_ema/params)
    torch.save(net.state_dict(), workdir / 'plain.pth')
    opt['path']['pretrain_network_g'] = str(workdir / 'plain.pth')
    with pytest.raises(InputError, match=r'a plain state dict: set path.param_key_g: ~\)$'):
        check()
    with pytest.raises(InputError, match='has neither params_ema nor params, which the EMA copy of network_g loads'):
        check('path:param_key_g=~')
    check('path:param_key_g=~', 'train:ema_decay=0')
    # the network of another size: strict_load_g false still needs the common shapes to match
    opt['path']['pretrain_network_g'] = save_checkpoint(workdir / 'net4.pth', tiny_net(num_feat=4))
    for strict in ('true', 'false'):
        with pytest.raises(InputError, match=r'net4.pth \(params\) does not fit network_g MSRResNet .*: size mismatch '
                           r'for conv_first.weight: \[4, 3, 3, 3\] in the checkpoint, \[8, 3, 3, 3\] in the network$'):
            check(f'path:strict_load_g={strict}')
    # strict_load_g false: a checkpoint with fewer blocks fits; strict, the first missing key is named
    opt['path']['pretrain_network_g'] = save_checkpoint(workdir / 'one.pth', tiny_net())
    with pytest.raises(InputError, match='missing body.1.conv1.weight'):
        check('network_g:num_block=2')
    check('network_g:num_block=2', 'path:strict_load_g=false')
    # a NaN weight
    state = tiny_net().state_dict()
    state['conv_last.bias'][0] = float('nan')
    torch.save({'params': state, 'params_ema': state}, workdir / 'nan.pth')
    opt['path']['pretrain_network_g'] = str(workdir / 'nan.pth')
    with pytest.raises(InputError, match=r'path.pretrain_network_g: .*nan.pth: 1 non-finite value\(s\) '
                       r'\(NaN/inf\) in conv_last.bias$'):
        check()


def test_broken_resume_state_given_in_the_options_is_refused(workdir, train_here):
    (workdir / '4.state').write_bytes(b'')
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['path']['resume_state'] = str(workdir / '4.state')
    refused_train(train_here, workdir, opt,
                  f'path.resume_state: cannot resume: the training state {workdir / "4.state"} '
                  'is empty (0 bytes)')


def train_tiny(workdir, total_iter, *args):
    res = run_script(['train.py', '-opt', write_options(workdir, tiny_options(str(workdir / 'gt'), total_iter)),
                      *args], cwd=workdir)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def test_auto_resume_skips_broken_states_and_resumes_from_the_newest_intact_one(workdir):
    """The newest .state truncated (a run killed while saving), the one before it without its
    net_g_<iter>.pth: both are set aside with a notice each, and training resumes from 2.state."""
    from faig.training import check_options
    train_tiny(workdir, 6)
    experiment = workdir / 'experiments' / 'tiny'
    states, models = experiment / 'training_states', experiment / 'models'
    assert sorted(os.listdir(states)) == ['2.state', '4.state', '6.state']
    data = (states / '6.state').read_bytes()
    (states / '6.state').write_bytes(data[:len(data) // 3])
    os.remove(models / 'net_g_4.pth')
    res = train_tiny(workdir, 8, '--auto_resume')
    notices = [line for line in res.stderr.splitlines() if line.startswith('notice: ')]
    assert len(notices) == 2, res.stderr[-3000:]
    assert notices[0].startswith(f'notice: {states / "6.state"}: cannot resume from it (the training state ')
    assert notices[0].endswith('); renamed to 6.state.corrupt')
    assert notices[1] == (f'notice: {states / "4.state"}: cannot resume from it (its network file '
                          f'{models / "net_g_4.pth"} is missing); renamed to 4.state.corrupt')
    log = res.stdout + res.stderr
    assert 'Resuming training from epoch' in log and 'iter: 2.' in log
    assert sorted(os.listdir(states)) == ['2.state', '4.state', '4.state.corrupt', '6.state', '6.state.corrupt',
                                          '8.state']
    assert (models / 'net_g_8.pth').is_file()
    assert not any(name.startswith('tiny_archived') for name in os.listdir(workdir / 'experiments'))

    # the check follows the resume: the pretrained model is not loaded (basicsr ignores it), the resumed one is
    opt = tiny_options(str(workdir / 'gt'), 10)
    opt['path']['pretrain_network_g'] = str(workdir / 'no_such.pth')
    opt_path = write_options(workdir, opt)
    check_options(opt_path, auto_resume=True, root_path=str(workdir))
    with pytest.raises(InputError, match='path.pretrain_network_g not found: .*no_such.pth$'):
        check_options(opt_path, root_path=str(workdir))
    with pytest.raises(InputError, match=f'--auto_resume: {models / "net_g_8.pth"} \\(params\\) does not fit '
                       'network_g MSRResNet .*num_feat=4.*: size mismatch for conv_first.weight'):
        check_options(opt_path, auto_resume=True, root_path=str(workdir), force_yml=['network_g:num_feat=4'])


def test_resume_state_whose_network_file_is_corrupt_is_set_aside(tmp_path, capsys):
    """faig.compat.load_resume_state in process: 4.state loads but its net_g_4.pth is truncated."""
    from faig import compat
    states, models = tmp_path / 'training_states', tmp_path / 'models'
    states.mkdir()
    models.mkdir()
    for it in (2, 4):
        torch.save({'epoch': 0, 'iter': it, 'optimizers': [], 'schedulers': []}, states / f'{it}.state')
        save_checkpoint(models / f'net_g_{it}.pth', tiny_net())
    data = (models / 'net_g_4.pth').read_bytes()
    (models / 'net_g_4.pth').write_bytes(data[:100])
    opt = {'auto_resume': True, 'num_gpu': 0, 'network_g': {'type': 'MSRResNet'},
           'path': {'training_states': str(states), 'models': str(models), 'resume_state': None}}
    assert compat.load_resume_state(opt)['iter'] == 2
    assert opt['path']['resume_state'] == str(states / '2.state')
    assert opt['path']['pretrain_network_g'] == str(models / 'net_g_2.pth')
    notice = capsys.readouterr().err.strip()
    assert notice.startswith(f'notice: {states / "4.state"}: cannot resume from it (its network file '
                             f'{models / "net_g_4.pth"} cannot be loaded (')
    assert notice.endswith('renamed to 4.state.corrupt') and '\n' not in notice
    assert sorted(os.listdir(states)) == ['2.state', '4.state.corrupt']
    assert sorted(os.listdir(models)) == ['net_g_2.pth', 'net_g_4.pth.corrupt']
    assert compat.latest_training_state(str(states)) == str(states / '2.state')
    # a path.resume_state that cannot be resumed from is an error, not skipped
    (tmp_path / 'empty.state').write_bytes(b'')
    opt = {'auto_resume': False, 'num_gpu': 0, 'network_g': {'type': 'MSRResNet'},
           'path': {'training_states': str(states), 'models': str(models),
                    'resume_state': str(tmp_path / 'empty.state')}}
    with pytest.raises(InputError, match=r'empty.state: cannot resume from this training state \(path.resume_state\): '
                       r'the training state .*empty.state is empty \(0 bytes\)$'):
        compat.load_resume_state(opt)

def test_auto_resume_with_an_empty_state_starts_from_scratch(workdir):
    train_tiny(workdir, 2)
    state = workdir / 'experiments' / 'tiny' / 'training_states' / '2.state'
    state.write_bytes(b'')
    res = train_tiny(workdir, 2, '--auto_resume')
    notices = [line for line in res.stderr.splitlines() if line.startswith('notice: ')]
    assert notices == [
        f'notice: {state}: cannot resume from it (the training state {state} is empty (0 bytes)); '
        'renamed to 2.state.corrupt',
        f'notice: {state.parent}: no intact training state left; training starts from scratch'], res.stderr[-3000:]
    assert 'Resuming training' not in res.stdout + res.stderr
    archived = [name for name in os.listdir(workdir / 'experiments') if name.startswith('tiny_archived')]
    assert len(archived) == 1  # basicsr keeps the old run's folder, with the state set aside
    assert (workdir / 'experiments' / archived[0] / 'training_states' / '2.state.corrupt').is_file()
    assert (workdir / 'experiments' / 'tiny' / 'models' / 'net_g_2.pth').is_file()


def test_continued_period_exports_its_last_weights(tmp_path):
    """A finished period whose length is no multiple of the checkpoint interval (3,600 with checkpoints
    every 250) is exported from net_g_latest.pth, not from the last interval checkpoint (3,500)."""
    script = load_script('train_cpu_models', tmp_path)
    models = tmp_path / 'experiments' / 'run' / 'models'
    models.mkdir(parents=True)
    assert script.newest_checkpoint('run', 3600) == (None, 0)
    for it in (250, 3250, 3500):
        (models / f'net_g_{it}.pth').write_bytes(b'')
    assert script.newest_checkpoint('run', 3600) == (str(models / 'net_g_3500.pth'), 3500)  # stopped early
    (models / 'net_g_latest.pth').write_bytes(b'')
    assert script.newest_checkpoint('run', 3600) == (str(models / 'net_g_latest.pth'), 3600)


def test_period_resumed_in_a_later_session_keeps_both_logs_and_counts_only_training_time(tmp_path):
    script = load_script('train_cpu_models', tmp_path)
    run = tmp_path / 'experiments' / 'run'
    run.mkdir(parents=True)
    first = run / 'train_run_20261124_140000.log'
    first.write_text('2026-11-24 14:00:00,1 INFO: start\n  # psnr: 28.1\n2026-11-24 15:00:00,2 INFO: iter 1000\n')
    second = run / 'train_run_20261125_090000.log'  # resumed the next morning
    second.write_text('2026-11-25 09:00:00,1 INFO: resume\n2026-11-25 09:30:00,5 INFO: End of training\n')
    os.utime(first, (1, 1))
    os.utime(second, (2, 2))
    assert script.log_span_seconds('run') == 3600 + 1800  # not the 19.5 h from first to last stamp
    script.copy_training_log('run', str(tmp_path / 'kept.log'))
    assert (tmp_path / 'kept.log').read_text() == first.read_text() + second.read_text()
    assert script.log_span_seconds('other') is None


def test_a_stopped_period_resumes_only_with_the_settings_it_started_with(tmp_path):
    script = load_script('train_cpu_models', tmp_path)
    period = ['train:total_iter=5600', 'datasets:train:gt_size=128']
    script.check_same_period('run', [], starting=False)  # --export_now of nothing: records nothing
    assert not (tmp_path / 'experiments' / 'run_period.json').exists()
    script.check_same_period('run', period)
    (tmp_path / 'experiments' / 'run').mkdir()  # BasicSR made the run's folder: the period is under way
    script.check_same_period('run', period)  # the same command resumes it
    with pytest.raises(InputError, match=r'run_period.json: the unfinished period in experiments/run started with '
                       r'train:total_iter=5600 datasets:train:gt_size=128, not train:total_iter=3000'):
        script.check_same_period('run', ['train:total_iter=3000'])
    shutil.rmtree(tmp_path / 'experiments' / 'run')  # removed: a new period with other settings
    script.check_same_period('run', ['train:total_iter=3000'])
    (tmp_path / 'experiments' / 'run').mkdir()
    with pytest.raises(InputError, match='started with train:total_iter=3000, not no overrides'):
        script.check_same_period('run', [])


def test_a_new_pair_is_exported_only_when_both_stages_have_finished(tmp_path, monkeypatch):
    """A session that ends during the target stage must not leave a new baseline beside the old target
    (FAIG's path would then join two unrelated models)."""
    import argparse
    script = load_script('train_cpu_models', tmp_path)
    (tmp_path / 'options' / 'cpu').mkdir(parents=True)
    for kind in ('baseline', 'target'):
        shutil.copy(osp.join(REPO, 'options', 'cpu', f'train_srcnn_style_{kind}.yml'), tmp_path / 'options' / 'cpu')
    pretrained = tmp_path / 'experiments' / 'pretrained' / 'srcnn_style'
    calls = []

    def stage(config, force_yml=()):  # what run_stage does, with a session that ends in the target stage
        name = script.experiment_name(config)
        latest = script.latest_weights(name)
        if osp.isfile(latest):
            return latest, None
        calls.append((name, list(force_yml)))
        if 'target' in name and len(calls) == 2:
            raise SystemExit(-15)
        os.makedirs(osp.dirname(latest), exist_ok=True)
        torch.save({'params_ema': {'w': torch.full((1, ), float(len(calls)))}}, latest)
        return latest, 1.0

    monkeypatch.setattr(script, 'run_stage', stage)
    args = argparse.Namespace(net='srcnn_style', config_dir='options/cpu', force_yml=['logger:save_checkpoint_freq=50'])
    log_path = str(pretrained / 'training_log.json')
    with pytest.raises(SystemExit):
        script.train_pair(args, str(pretrained), log_path)
    assert not pretrained.exists()  # nothing exported, nothing recorded
    script.train_pair(args, str(pretrained), log_path)  # the next session: the baseline is done, the target resumes
    assert [name for name, _ in calls] == ['cpu_train_srcnn_style_baseline', 'cpu_train_srcnn_style_target',
                                           'cpu_train_srcnn_style_target']
    assert all(overrides == ['logger:save_checkpoint_freq=50'] for _, overrides in calls)
    assert torch.load(pretrained / 'baseline_model.pth')['params_ema']['w'].item() == 1
    assert torch.load(pretrained / 'target_model.pth')['params_ema']['w'].item() == 3
    log = json.loads((pretrained / 'training_log.json').read_text())
    assert [entry['force_yml'] for kind in ('baseline', 'target') for entry in log[kind]] == [
        ['logger:save_checkpoint_freq=50']] * 2
    script.train_pair(args, str(pretrained), log_path)  # nothing left to train: exported again, not recorded again
    assert len(calls) == 3 and len(json.loads((pretrained / 'training_log.json').read_text())['baseline']) == 1
    with pytest.raises(InputError, match=r"--force_yml: 'loger:x=1': loger is not a section of "
                       r'options/cpu/train_srcnn_style_baseline.yml'):
        script.train_pair(argparse.Namespace(net='srcnn_style', config_dir='options/cpu', force_yml=['loger:x=1']),
                          str(pretrained), log_path)


# ---- periods that go on across sessions (--continue, --pair_dir) ----------------------------------------

def staged_weights(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({'params_ema': {'w': torch.full((2,), float(value))}}, path)
    return str(path)


def test_start_point_of_each_stage(tmp_path):
    trainer = load_script('train_cpu_models', tmp_path)
    bundled = staged_weights(tmp_path / 'experiments/pretrained/srresnet/baseline_model.pth', 1)
    staged = tmp_path / 'experiments/pretrained/next/srresnet'
    # a staged pair without weights: its baseline starts from the bundled one; it has no target to continue
    assert trainer.start_point('baseline', 'srresnet', str(staged)) == bundled
    with pytest.raises(InputError, match='experiments/pretrained/next/srresnet/baseline_model.pth: not found'):
        trainer.start_point('target', 'srresnet', str(staged))
    own_baseline = staged_weights(staged / 'baseline_model.pth', 2)
    assert trainer.start_point('baseline', 'srresnet', str(staged)) == own_baseline
    assert trainer.start_point('target', 'srresnet', str(staged)) == own_baseline  # the first fine-tuning period
    own_target = staged_weights(staged / 'target_model.pth', 3)
    assert trainer.start_point('target', 'srresnet', str(staged)) == own_target
    with pytest.raises(InputError, match='its target was fine-tuned from its baseline'):
        trainer.start_point('baseline', 'srresnet', str(staged))


def test_a_stopped_period_keeps_its_start_and_settings(tmp_path):
    trainer = load_script('train_cpu_models', tmp_path)
    start = staged_weights(tmp_path / 'experiments/pretrained/next/srresnet/baseline_model.pth', 1)
    first_sha1 = sha1_file(start)
    period = trainer.check_same_period('run', ['train:total_iter=10'], start=start)
    assert period['started_from'] == {'path': 'experiments/pretrained/next/srresnet/baseline_model.pth',
                                      'sha1': first_sha1}
    with open(tmp_path / 'experiments' / 'run_period.json') as f:
        assert json.load(f) == period
    (tmp_path / 'experiments' / 'run').mkdir()  # BasicSR made the run's folder: the period is under way
    staged_weights(tmp_path / 'experiments/pretrained/next/srresnet/baseline_model.pth', 5)  # replaced by an export
    resumed = trainer.check_same_period('run', ['train:total_iter=10'], start=start)
    assert resumed['started_from']['sha1'] == first_sha1 != sha1_file(start)
    with pytest.raises(InputError, match='started with train:total_iter=10, not train:total_iter=20'):
        trainer.check_same_period('run', ['train:total_iter=20'], start=start)
    # once the run's folder is removed, the next call starts a new period from the weights there now
    (tmp_path / 'experiments' / 'run').rmdir()
    assert trainer.check_same_period('run', ['train:total_iter=20'], start=start)['started_from']['sha1'] == \
        sha1_file(start)


def test_export_keeps_only_the_ema_staged_weights(tmp_path):
    trainer = load_script('train_cpu_models', tmp_path)
    checkpoint = tmp_path / 'net_g_250.pth'
    torch.save({'params': {'w': torch.zeros(2)}, 'params_ema': {'w': torch.ones(2)}}, checkpoint)
    out = tmp_path / 'out' / 'baseline_model.pth'
    trainer.export(str(checkpoint), str(out))
    saved = torch.load(out, weights_only=True)
    assert list(saved) == ['params_ema'] and torch.equal(saved['params_ema']['w'], torch.ones(2))


def test_export_now_records_a_period_once(tmp_path):
    trainer = load_script('train_cpu_models', tmp_path)
    """--continue baseline --export_now on a stopped staged period: the pair gets the newest EMA weights and
    one training_log.json entry naming where the period started; the same command again adds none."""
    import argparse
    (tmp_path / 'options' / 'cpu').mkdir(parents=True)
    config = 'options/cpu/train_srresnet_baseline_continue.yml'
    shutil.copy(osp.join(REPO, config), tmp_path / config)
    name = trainer.experiment_name(str(tmp_path / config))
    start = staged_weights(tmp_path / 'experiments/pretrained/srresnet/baseline_model.pth', 1)
    trainer.check_same_period(name, [], start=start)  # what a run that started this period kept
    models = tmp_path / 'experiments' / name / 'models'
    models.mkdir(parents=True)
    for iteration, value in ((250, 2.0), (500, 3.0)):
        torch.save({'params': {'w': torch.zeros(2)}, 'params_ema': {'w': torch.full((2,), value)}},
                   models / f'net_g_{iteration}.pth')
    (tmp_path / 'experiments' / name / 'train_x.log').write_text('2026-11-25 03:00:00,1 INFO: a\n'
                                                                 '2026-11-25 03:10:00,1 INFO: b\n')
    pair = tmp_path / 'experiments/pretrained/next/srresnet'
    args = argparse.Namespace(net='srresnet', config_dir='options/cpu', continue_kind='baseline', iterations=None,
                              force_yml=None, export_now=True)
    log_path = str(pair / 'training_log.json')
    for _ in range(2):
        trainer.continue_stage(args, str(pair), log_path)
        with open(log_path) as f:
            entries = json.load(f)['baseline_continued']
        assert len(entries) == 1
    entry = entries[0]
    assert entry['iterations'] == 500 and entry['wall_seconds'] == 600.0
    assert entry['started_from'] == {'path': 'experiments/pretrained/srresnet/baseline_model.pth',
                                     'sha1': sha1_file(start)}
    assert entry['sha1'] == sha1_file(pair / 'baseline_model.pth')
    assert torch.equal(torch.load(pair / 'baseline_model.pth', weights_only=True)['params_ema']['w'],
                       torch.full((2,), 3.0))
    assert (pair / 'logs' / 'baseline_continue_1.log').read_text().count('INFO') == 2


def test_a_period_record_is_data_never_code(tmp_path, monkeypatch):
    """started_from.path of experiments/<name>_period.json went to train.py as --force_yml text, which BasicSR's
    parser eval()s when it starts with '[': a record holding a Python expression ran it. The start now reaches
    train.py as a value in a copy of the option file; a record that is not one is refused in one line."""
    import argparse
    import subprocess

    import yaml
    trainer = load_script('train_cpu_models', tmp_path)
    (tmp_path / 'options' / 'cpu').mkdir(parents=True)
    config = 'options/cpu/train_srresnet_target_continue.yml'
    shutil.copy(osp.join(REPO, config), tmp_path / config)
    name = trainer.experiment_name(str(tmp_path / config))
    staged_weights(tmp_path / 'experiments/pretrained/srresnet/target_model.pth', 1)
    (tmp_path / 'experiments' / name).mkdir()  # a period under way, whose record was edited
    crafted = "[__import__('os').makedirs('evaluated')]"
    record = tmp_path / 'experiments' / f'{name}_period.json'
    record.write_text(json.dumps({'force_yml': [], 'started_from': {'path': crafted, 'sha1': 'x'}}))
    seen = {}

    def fake_train(command, cwd):
        seen['command'] = command
        seen['opt'] = yaml.safe_load(open(command[command.index('-opt') + 1]))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, 'run', fake_train)
    args = argparse.Namespace(net='srresnet', config_dir='options/cpu', continue_kind='target', iterations=None,
                              force_yml=None, export_now=False)
    pair = tmp_path / 'experiments/pretrained/srresnet'
    with pytest.raises(SystemExit):  # the fake run leaves nothing to export
        trainer.continue_stage(args, str(pair), str(pair / 'training_log.json'))
    assert seen['opt']['path']['pretrain_network_g'] == crafted  # a text, as recorded
    assert not any('pretrain_network_g' in part for part in seen['command'])
    record.write_text(json.dumps({'force_yml': [], 'started_from': {'path': ['not', 'a', 'path'], 'sha1': 'x'}}))
    with pytest.raises(InputError, match=r'_period.json: not a period record \(force_yml: a list of texts, '
                                         r'started_from.path: a path\)'):
        trainer.continue_stage(args, str(pair), str(pair / 'training_log.json'))


def test_missing_sample_data_says_how_to_make_it(workdir, monkeypatch):
    """A fresh checkout has no datasets/: a training command names the script that makes the sample data, and only
    for the sample-data folders (another missing folder gets the plain message)."""
    from faig.paths import SAMPLE_TEST_ROOT, SAMPLE_TRAIN_HR
    from faig.training import check_options
    monkeypatch.chdir(workdir)
    opt = tiny_options(SAMPLE_TRAIN_HR, 2)
    with pytest.raises(InputError) as exc:
        check_options(write_options(workdir, opt), auto_resume=True)
    assert str(exc.value).endswith(f'datasets.train.dataroot_gt not found: {SAMPLE_TRAIN_HR}; make the sample data '
                                   'with `python scripts/prepare_sample_data.py`')
    opt['datasets']['train']['dataroot_gt'] = str(workdir / 'gt')
    opt['datasets']['val'] = {'name': 'v', 'type': 'PairedImageDataset', 'dataroot_gt': str(workdir / 'gt'),
                              'dataroot_lq': f'{SAMPLE_TEST_ROOT}/Linear_LRbicx2', 'io_backend': {'type': 'disk'}}
    with pytest.raises(InputError) as exc:
        check_options(write_options(workdir, opt), auto_resume=True)
    assert str(exc.value).endswith(f'--ori_folder {SAMPLE_TEST_ROOT}/GTmod12`') and 'generate_lr.py' in str(exc.value)
    opt['datasets']['val']['dataroot_lq'] = 'datasets/Elsewhere/LR'
    with pytest.raises(InputError) as exc:
        check_options(write_options(workdir, opt), auto_resume=True)
    assert str(exc.value).endswith('datasets.val.dataroot_lq not found: datasets/Elsewhere/LR')


# ---- values are data: --force_yml, booleans, experiment names, one writer, faults ----------------------------

def test_force_yml_values_are_read_as_yaml_and_never_evaluated(workdir):
    """BasicSR's parser eval()s a value starting with '[' (a path like '[v2] base.pth' crashed, a crafted one ran
    code) and stores 'no' as the truthy text "no"; values are read as YAML reads them."""
    from faig.training import check_options
    opt_path = write_options(workdir, tiny_options(str(workdir / 'gt'), 2))
    marker = workdir / 'evaluated'
    with pytest.raises(InputError):  # a list of one text, not a call: refused as a path
        check_options(opt_path, force_yml=[f"path:pretrain_network_g=[open({str(marker)!r}, 'w')]"])
    assert not marker.exists()
    opt = check_options(opt_path, force_yml=['datasets:train:use_rot=no', 'datasets:train:use_flip=off',
                                             'train:scheduler:milestones=[1, 2]', 'path:resume_state=~'])
    train = opt['datasets']['train']
    assert train['use_rot'] is False and train['use_flip'] is False and opt['train']['scheduler']['milestones'] == [1, 2]
    with pytest.raises(InputError, match=r"^--force_yml: 'path:pretrain_network_g=\[v2\] models/base.pth': not valid "
                                         r'YAML \(.*\); quote a text value: path:pretrain_network_g="..."$'):
        check_options(opt_path, force_yml=['path:pretrain_network_g=[v2] models/base.pth'])
    # quoted, an ordinary path of that name works
    os.makedirs(workdir / '[v2] models')
    save_checkpoint(workdir / '[v2] models' / 'base.pth', tiny_net())
    opt = check_options(opt_path, force_yml=[f'path:pretrain_network_g="{workdir}/[v2] models/base.pth"'])
    assert opt['path']['pretrain_network_g'] == f'{workdir}/[v2] models/base.pth'
    with pytest.raises(InputError, match=r"^--force_yml: 'name=': no value \(write ~ for none\)$"):
        check_options(opt_path, force_yml=['name='])


@pytest.mark.parametrize('where,value', [('datasets.train.use_rot', 'no'), ('train.autocast_bf16', 'no'),
                                         ('path.strict_load_g', 'false'), ('val.save_img', 1),
                                         ('datasets.train.pin_memory', 'off')])
def test_boolean_options_must_be_true_or_false(workdir, where, value):
    """A quoted "no" (or 1) where a boolean belongs is truthy in Python: the option meant off was on."""
    from faig.training import check_options
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['model_type'] = 'FastSRModel'  # reads train.autocast_bf16 and train.channels_last
    opt['val'] = {'val_freq': 1, 'save_img': False}
    _set(opt, where, value)
    with pytest.raises(InputError) as info:
        check_options(write_options(workdir, opt))
    assert f'{where}: must be true or false, got {value!r}' in str(info.value)


@pytest.mark.parametrize('name', ['pretrained', 'README.md', 'retrain_study', '..', '.', '.hidden', 'a/b', ' x', 'notes',
                                  'kept.json'])
def test_experiment_names_that_would_move_other_files_are_refused(workdir, name):
    """name: pretrained moved the bundled models aside (basicsr renames an existing experiments/<name> before a
    fresh run) with exit status 0; '..' reached outside experiments/. A folder that is not a run's (no models/ or
    training_states/) or a file under experiments/ is refused too."""
    from faig.training import check_options
    experiments = workdir / 'experiments'
    (experiments / 'pretrained' / 'srresnet').mkdir(parents=True)
    (experiments / 'pretrained' / 'srresnet' / 'target_model.pth').write_bytes(b'bundled')
    (experiments / 'README.md').write_text('tracked')
    (experiments / 'notes').mkdir()
    (experiments / 'kept.json').write_text('{}')
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['name'] = name
    opt_path = write_options(workdir, opt)
    before = sorted(str(p.relative_to(workdir)) for p in workdir.rglob('*'))
    with pytest.raises(InputError, match=r'tiny.yml: name: '):
        check_options(opt_path, root_path=str(workdir))
    assert sorted(str(p.relative_to(workdir)) for p in workdir.rglob('*')) == before


def test_name_pretrained_leaves_the_bundled_models_in_place(workdir, train_here):
    (workdir / 'experiments' / 'pretrained').mkdir(parents=True)
    (workdir / 'experiments' / 'pretrained' / 'README.md').write_text('bundled')
    opt = tiny_options(str(workdir / 'gt'), 2)
    opt['name'] = 'pretrained'
    res = train_here(['-opt', write_options(workdir, opt)])
    assert res.returncode == 2 and res.stderr.strip().count('\n') == 0, res.stderr[-2000:]
    assert "name: 'pretrained' is reserved" in res.stderr
    assert os.listdir(workdir / 'experiments') == ['pretrained']
    assert (workdir / 'experiments' / 'pretrained' / 'README.md').read_text() == 'bundled'


def test_one_train_py_per_experiment(workdir):
    """Two --auto_resume runs of one experiment wrote the same checkpoints; the second is refused in one line."""
    from faig.cli.train import experiment_lock
    opt_path = write_options(workdir, tiny_options(str(workdir / 'gt'), 2))
    with experiment_lock(str(workdir), 'tiny'):
        res = run_script(['train.py', '-opt', opt_path, '--auto_resume'], cwd=workdir)
    assert res.returncode == 2 and res.stderr.strip().count('\n') == 0, res.stderr[-2000:]
    assert res.stderr.startswith('error: experiments/tiny: in use by another run (pid ')
    assert not (workdir / 'experiments' / 'tiny').exists()


def test_a_full_disk_stops_training_with_one_line_and_no_truncated_checkpoint(workdir):
    """The checkpoint does not fit (a file size limit standing in for a full disk): basicsr logged a warning,
    went on and ended with exit status 0 beside a truncated net_g_2.pth. Now: exit 2, the error line last, and
    no checkpoint file that is not whole."""
    import resource
    import subprocess
    import sys

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (30000, 30000))  # the log fits, a checkpoint (~40 kB) does not
    opt_path = write_options(workdir, tiny_options(str(workdir / 'gt'), 2))
    res = subprocess.run([sys.executable, 'train.py', '-opt', opt_path], cwd=workdir, capture_output=True, text=True,
                         preexec_fn=small_disk, env=dict(os.environ, OMP_NUM_THREADS='1'))
    last = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2, res.stderr[-2000:]
    assert last.startswith('error: ') and 'net_g_2.pth: cannot write (File too large); training stopped' in last
    models = workdir / 'experiments' / 'tiny' / 'models'
    assert os.listdir(models) == []  # neither a truncated file nor a temporary one


def test_an_experiments_path_that_cannot_be_written_is_one_line(workdir, train_here):
    (workdir / 'experiments').write_text('a file where the folder belongs')
    res = train_here(['-opt', write_options(workdir, tiny_options(str(workdir / 'gt'), 2))])
    assert res.returncode == 2 and res.stderr.strip().count('\n') == 0, res.stderr[-2000:]
    assert 'experiments is a file (the experiment folder)' in res.stderr


def test_force_yml_booleans_reach_the_training_as_booleans(workdir):
    """train.py's own options parser (not BasicSR's): `use_rot=no` is False in the run's logged options."""
    res = run_script(['train.py', '-opt', write_options(workdir, tiny_options(str(workdir / 'gt'), 1)),
                      '--force_yml', 'datasets:train:use_rot=no', 'name=no_rot'], cwd=workdir)
    assert res.returncode == 0, res.stderr[-2000:]
    log = (res.stdout + res.stderr)
    assert 'use_rot: False' in log and 'use_rot: no' not in log
    assert (workdir / 'experiments' / 'no_rot' / 'models' / 'net_g_latest.pth').is_file()


def test_an_lmdb_whose_meta_info_lies_is_refused(workdir):
    """meta_info.txt listing a key the database lacks, or another size than the stored image: basicsr crashed
    mid-training; the sizes were taken from it on trust."""
    from basicsr.utils.lmdb_util import make_lmdb_from_imgs

    from faig.training import check_options
    names = sorted(os.listdir(workdir / 'gt'))
    lmdb = workdir / 'gt.lmdb'
    make_lmdb_from_imgs(str(workdir / 'gt'), str(lmdb), names, [n.split('.')[0] for n in names], map_size=10 ** 7)
    opt = tiny_options(str(lmdb), 2)
    opt['datasets']['train']['io_backend'] = {'type': 'lmdb'}
    opt_path = write_options(workdir, opt)
    meta = (lmdb / 'meta_info.txt').read_text()
    (lmdb / 'meta_info.txt').write_text(meta.replace('img1.png (48,80,3)', 'img1.png (64,64,3)'))
    with pytest.raises(InputError, match=r"meta_info.txt gives 'img1' height 64, width 64, but the stored image is "
                                         r'height 48, width 80$'):
        check_options(opt_path)
    (lmdb / 'meta_info.txt').write_text(meta + 'img9.png (64,64,3) 1\n')
    with pytest.raises(InputError, match=r"meta_info.txt lists 'img9', which the lmdb does not hold$"):
        check_options(opt_path)
