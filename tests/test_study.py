"""`faig study`: the whole study of a user's own pair of networks on a folder of photos outside the repository
(odd sizes, a JPEG, a DataParallel-saved target), in one command; and its refusals."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from basicsr.archs.edsr_arch import EDSR
from basicsr.archs.swinir_arch import SwinIR

from faig.cli.study import main
from faig.data.image_io import read_image
from faig.scores import FilterScores

from conftest import REPO, smooth_image

EDSR_OPT = {'type': 'EDSR', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 2, 'upscale': 2}
SWINIR_OPT = {'type': 'SwinIR', 'upscale': 2, 'img_size': 16, 'window_size': 4, 'depths': [1], 'embed_dim': 12,
              'num_heads': [2], 'mlp_ratio': 2, 'upsampler': 'pixelshuffledirect'}
ARCHS = {'EDSR': EDSR, 'SwinIR': SwinIR}


def make_pair(folder, opt, prefix_target=False):
    """A baseline and a target 'fine-tuned' from it (small random changes), as checkpoints."""
    torch.manual_seed(0)
    kwargs = {k: v for k, v in opt.items() if k != 'type'}
    base = ARCHS[opt['type']](**kwargs).state_dict()
    target = {k: v + 0.02 * torch.randn_like(v) if v.is_floating_point() else v for k, v in base.items()}
    if prefix_target:  # saved from a DataParallel / DDP wrapper
        target = {f'module.{k}': v for k, v in target.items()}
    paths = osp.join(folder, 'baseline.pth'), osp.join(folder, 'target.pth')
    torch.save({'params': base}, paths[0])
    torch.save({'params': target}, paths[1])
    return paths


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / 'my photos'
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i, (h, w) in enumerate([(61, 75), (50, 47), (44, 53)]):  # odd sizes
        ext = 'jpg' if i == 1 else 'png'
        cv2.imwrite(str(folder / f'photo{i}.{ext}'), smooth_image(rng, h, w))
    return folder


def study(tmp_path, photos, opt, out, *extra):
    base, target = make_pair(str(tmp_path), opt, prefix_target=True)
    return main(['--network_g', json.dumps(opt), '--baseline', base, '--target', target, '--images', str(photos),
                 '--out', str(out), '--steps', '4', '--crop', '16', '--proportions', '1', '5', '--device', 'cpu',
                 *extra])


@pytest.mark.parametrize('opt,multiple', [(EDSR_OPT, 1), (SWINIR_OPT, 4)])
def test_the_study_of_a_users_pair_writes_every_section(tmp_path, photos, opt, multiple, capsys):
    out = tmp_path / 'study out'
    assert study(tmp_path, photos, opt, out) == 0
    said = capsys.readouterr().out
    assert f'LR sides multiples of {multiple}, x2' in said  # what the network accepts, in one line
    report = (out / 'report.md').read_text()
    for section in ('## Findings', '## PSNR (dB)', '## Masking the top filters of each method', '## Modulation',
                    '![proportion curves](figures/proportion_curves.png)', '![masking](figures/masking.png)',
                    '![filter distribution](figures/filter_distribution.png)'):
        assert section in report
    for finding in ('1. Masking 1% FAIG filters', '2. FAIG beats IG', '3a.', '3b.', '4. Modulating'):
        assert finding in report
    for figure in ('proportion_curves', 'masking', 'filter_distribution'):
        assert (out / 'figures' / f'{figure}.png').stat().st_size > 1000
    # the data: GT crops divisible by multiple x scale, every set lossless PNG (the JPEG photo too)
    for name in ('photo0', 'photo1', 'photo2'):
        gt = read_image(str(out / 'data' / 'GT' / f'{name}.png'), float32=False)
        assert gt.shape[0] % (2 * multiple) == 0 and gt.shape[1] % (2 * multiple) == 0
        for folder in ('Blur2_LRbicx2', 'LRbicx2_noise0.1', 'Linear_LRbicx2'):
            lr = read_image(str(out / 'data' / folder / f'{name}.png'), float32=False)
            assert lr.shape[:2] == (gt.shape[0] // 2, gt.shape[1] // 2)
    # the rankings are the original's index files, loadable, with the record of the checkpoint read
    faig = FilterScores.load(str(out / 'rankings' / 'faig'))
    assert len(faig.ranking('blur', 'noise')) == faig.num_filters
    record = json.loads((out / 'study.json').read_text())
    assert {f['id'] for f in record['findings']} >= {'1', '2', '3a', '3b', '4_blur', '4_noise'}
    assert record['geometry'] == {'multiple': multiple, 'scale': 2}
    assert set(record['psnr']) == {'baseline', 'target'}
    assert record['checkpoints'] == {'baseline': {'key': 'params', 'stripped_prefix': None},
                                     'target': {'key': 'params', 'stripped_prefix': 'module.'}}


def test_a_second_run_of_other_settings_is_refused_and_the_inputs_are_untouched(tmp_path, photos):
    out = tmp_path / 'out'
    before = {p: (photos / p).read_bytes() for p in os.listdir(photos)}
    assert study(tmp_path, photos, EDSR_OPT, out) == 0
    report = (out / 'report.md').read_bytes()
    with pytest.raises(SystemExit) as exc:
        study(tmp_path, photos, EDSR_OPT, out, '--seed', '3')
    assert exc.value.code == 2
    assert (out / 'report.md').read_bytes() == report
    assert {p: (photos / p).read_bytes() for p in os.listdir(photos)} == before


@pytest.mark.parametrize('extra,message', [
    (['--deg_a', 'sharpen'], "--deg_a: unknown degradation 'sharpen'"),
    (['--deg_b', 'blur'], '--deg_b: the same degradation'),
    (['--lr_blur', '.'], 'your own LR folders come as a set of three'),
    (['--blur_sigma', '-1'], '--blur_sigma:'),
])
def test_bad_flags_are_one_line(tmp_path, photos, extra, message, capsys):
    with pytest.raises(SystemExit) as exc:
        study(tmp_path, photos, EDSR_OPT, tmp_path / 'out', *extra)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: ') and message in err[0]
    assert not (tmp_path / 'out').exists()


def test_out_inside_the_photos_is_refused(tmp_path, photos, capsys):
    with pytest.raises(SystemExit):
        study(tmp_path, photos, EDSR_OPT, photos / 'study')
    assert 'overlap' in capsys.readouterr().err
    assert not (photos / 'study').exists()


def test_faig_study_help_lists_every_flag():
    res = subprocess.run([sys.executable, '-m', 'faig', 'study', '--help'], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0
    import re
    with open(osp.join(REPO, 'faig', 'cli', 'study.py')) as f:
        literal = set(re.findall(r"""add_argument\(\s*['"](--[\w-]+)['"]""", f.read()))
    assert {'--network_g', '--baseline', '--target', '--images', '--out', '--lr_clean', '--full'} <= literal
    for flag in (*literal, '--blur_sigma', '--noise_sigma', '--lr_blur', '--lr_noise', '--jpeg_quality'):
        assert re.search(rf'(?<![\w-]){re.escape(flag)}(?![\w-])', res.stdout), flag


def test_the_study_under_torchrun_shares_out_the_attribution(tmp_path, photos, monkeypatch):
    """Two processes (gloo on loopback) write the rankings of one, and the study once."""
    import socket
    monkeypatch.setenv('FAIG_LAYOUT_CACHE', str(tmp_path / 'layout.json'))  # one layout for both runs
    base, target = make_pair(str(tmp_path), EDSR_OPT)
    flags = ['--network_g', json.dumps(EDSR_OPT), '--baseline', base, '--target', target, '--images', str(photos),
             '--steps', '2', '--crop', '16', '--proportions', '1', '--device', 'cpu']
    assert main([*flags, '--out', str(tmp_path / 'one')]) == 0
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    res = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--nnodes', '1',
                          '--master_addr', '127.0.0.1', '--master_port', str(port), '-m', 'faig', 'study', *flags,
                          '--out', str(tmp_path / 'two')], cwd=REPO, capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count('report -> ') == 1  # the first rank alone goes on after the rankings
    for method in ('faig', 'ig'):
        for deg in ('blur', 'noise'):
            index = osp.join('rankings', method, f'{deg}_index.txt')
            assert (tmp_path / 'one' / index).read_bytes() == (tmp_path / 'two' / index).read_bytes()
        assert json.loads((tmp_path / 'two' / 'rankings' / method / 'meta.json').read_text())['ranks'] == 2
    assert (tmp_path / 'two' / 'report.md').is_file()


def test_a_study_stopped_in_the_attribution_keeps_the_rankings_it_finished(tmp_path, photos, monkeypatch):
    import faig.study
    from faig.study import StudySettings, run_study
    base, target = make_pair(str(tmp_path), EDSR_OPT)
    ranked = faig.study.rank_dataset

    def stopped_at_ig(method, job, ranks):
        if method.name == 'ig':
            raise KeyboardInterrupt
        return ranked(method, job, ranks)

    def settings():
        return StudySettings(network=EDSR_OPT, baseline=base, target=target, images=str(photos),
                             out=str(tmp_path / 'out'), steps=2, crop=16, proportions=(1, ))
    monkeypatch.setattr(faig.study, 'rank_dataset', stopped_at_ig)
    with pytest.raises(KeyboardInterrupt):
        run_study(settings(), progress=False)
    monkeypatch.setattr(faig.study, 'rank_dataset', ranked)
    run = run_study(settings(), progress=False)
    assert 'faig' not in run.timings and {'ig', 'comparison'} <= set(run.timings)  # FAIG's ranking was kept
    assert (tmp_path / 'out' / 'report.md').is_file()
