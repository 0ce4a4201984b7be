"""scripts/reproduce.py is `faig study` on the bundled pairs and sample data: it hands each pair to run_study and
the report reads what the study wrote."""
import os
import os.path as osp
import re
import sys

import pytest
import torch
from basicsr.archs.srresnet_arch import MSRResNet

from conftest import load_script, save_model_pair, write_images

TINY = {'type': 'MSRResNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1, 'upscale': 2}


def tiny_pair(folder):
    """A tiny MSRResNet baseline and a target 'fine-tuned' from it, as the bundled pairs are saved."""
    torch.manual_seed(0)
    base = MSRResNet(**{k: v for k, v in TINY.items() if k != 'type'}).state_dict()
    save_model_pair(folder, base, {k: v + 0.02 * torch.randn_like(v) for k, v in base.items()})


@pytest.mark.parametrize('flags, steps, crop, dataset, results', [
    ([], 16, 64, 'SampleSet_crop64', 'results'), (['--full'], 100, None, 'SampleSet', 'results'),
    (['--models_dir', 'next'], 16, 64, 'SampleSet_crop64', 'results/staged/next')])
def test_reproduce_runs_the_study_of_each_bundled_pair(tmp_path, monkeypatch, flags, steps, crop, dataset, results):
    import faig.reporting.report
    import faig.study
    from faig.networks import preset
    from faig.specs import NETWORKS, ResultsLayout
    reproduce = load_script('reproduce', tmp_path)
    write_images(str(tmp_path / reproduce.DATA / 'GTmod12'), [(24, 24), (24, 36)])
    models = flags[1] if '--models_dir' in flags else reproduce.BUNDLED
    for net in NETWORKS:
        for kind in ('baseline', 'target'):
            (tmp_path / models / net).mkdir(parents=True, exist_ok=True)
            (tmp_path / models / net / f'{kind}_model.pth').write_bytes(b'')
    studies, reports = [], []

    def run_study(settings, layout):
        studies.append((settings, layout))
        return faig.study.StudyRun({}, {'faig': 1.5})

    monkeypatch.setattr(faig.study, 'run_study', run_study)
    monkeypatch.setattr(faig.reporting.report, 'write_report', lambda *args: reports.append(args) or 'report.md')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'argv', ['reproduce.py', *flags])
    reproduce.main()
    assert [s.net_name for s, _ in studies] == list(NETWORKS)
    for settings, layout in studies:
        net = settings.net_name
        assert settings.network == preset(net, 2) and (settings.steps, settings.crop) == (steps, crop)
        assert settings.target == f'{models}/{net}/target_model.pth'
        assert settings.force and not settings.redo  # the study folder is reproduce's own: replaced, never refused
        assert settings.out == osp.join(results, 'study', net)  # a staged pair's study has its own folder
        assert settings.images == osp.join(reproduce.DATA, 'GTmod12')
        assert sorted(settings.lr_folders.values()) == sorted(osp.join(reproduce.DATA, f) for f in reproduce.LR_FOLDERS)
        assert all(osp.isdir(f) for f in settings.lr_folders.values())  # the LR sets were made first
        assert layout == ResultsLayout(net, dataset, f'{results}/Interpret')
    (root, nets, reported, settings), = reports
    assert (nets, reported, settings['reference']) == (list(NETWORKS), dataset, '--full' in flags)
    assert {f'{net} faig' for net in NETWORKS} <= set(settings['timings'])


def test_the_bundled_study_writes_what_the_report_reads(tmp_path, monkeypatch):
    """The study of a (tiny) srresnet pair in the bundled layout, then write_report: every section of that net."""
    from faig.data.lr_sets import default_folders, generate
    from faig.reporting.report import write_report
    from faig.specs import ResultsLayout
    from faig.study import StudySettings, run_study
    monkeypatch.chdir(tmp_path)
    tiny_pair('experiments/pretrained/srresnet')
    gt = write_images('datasets/SampleSet/GTmod12', [(48, 48), (40, 52), (44, 44)])
    # the photo of the report's masking figure
    os.rename(osp.join(gt, 'img1.png'), osp.join(gt, f'{ResultsLayout.TEASER_IMAGE}.png'))
    folders = default_folders('datasets/SampleSet', 2)
    generate(gt, folders, 2)
    settings = StudySettings(
        network=TINY, baseline='experiments/pretrained/srresnet/baseline_model.pth',
        target='experiments/pretrained/srresnet/target_model.pth', images=gt, out='results/study/srresnet', scale=2,
        lr_folders={'blur': folders['blur'], 'noise': folders['noise'], 'clean': folders['bilinear']}, steps=2,
        crop=16, proportions=(1, 5), lambdas=(0, 0.5, 1), net_name='srresnet',
        teaser_image=ResultsLayout.TEASER_IMAGE)
    layout = ResultsLayout('srresnet', 'SampleSet_crop16')
    run = run_study(settings, layout, progress=False)
    assert run.report is None and {'faig', 'ig', 'PSNR', 'comparison', 'modulation'} <= set(run.timings)
    path = write_report(str(tmp_path), ['srresnet'], 'SampleSet_crop16', {'steps': 2, 'quadrature': 'riemann_left',
                                                                          'crop': 16})
    text = open(path).read()
    for section in ('## srresnet', '| blurry |', '**blurry input, deblurring filters masked**',
                    '![masking]', '![modulation noise]', '### Findings on srresnet'):
        assert section in text, section
    links = re.findall(r'!\[[^]]*\]\(([^)]+)\)', text)
    assert len(links) == 5 and all(osp.isfile(osp.join('results', link)) for link in links), links
    assert sorted(os.listdir(layout.rankings('faig')))[:2] == ['blur_index.txt', 'blur_scores.npy']
    # a second run of the same inputs and settings reuses every result; an edited one is made again
    assert run_study(settings, layout, progress=False).timings == {}
    with open(osp.join(layout.metrics(), ResultsLayout.COMPARISON_MD), 'a') as f:
        f.write('edited\n')
    again = run_study(settings, layout, progress=False)
    assert 'comparison' in again.timings and 'faig' not in again.timings  # the rankings were still this run's
