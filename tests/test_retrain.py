"""ReTrainModel: only the selected filters move; everything else is bit-identical (net, EMA, resume)."""
import json
import os

import numpy as np
import pytest
import torch

from faig.attribution.filters import FilterSpace
from faig.networks import build_network

from conftest import REPO as REPO_ROOT, run_script
from test_attribution import TINY_NETS
from test_train import tiny_options, train_here, workdir, write_options  # noqa: F401  (workdir, train_here: fixtures)


def model_options(net_opt, pretrain, train_extra, ema=0.9, weight_decay=0.01):
    return {
        'name': 'retrain', 'model_type': 'ReTrainModel', 'scale': 2, 'num_gpu': 0, 'is_train': True, 'dist': False,
        'rank': 0, 'world_size': 1, 'network_g': dict(net_opt),
        'path': {'pretrain_network_g': pretrain, 'param_key_g': 'params', 'strict_load_g': True},
        'train': {'ema_decay': ema, 'optim_g': {'type': 'Adam', 'lr': 1e-2, 'weight_decay': weight_decay,
                                                 'betas': [0.9, 0.99]},
                  'scheduler': {'type': 'MultiStepLR', 'milestones': [1000], 'gamma': 0.5},
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'}, **train_extra},
    }


def entries(state, space, indices):
    """{filter index: its k x k kernel} of a state dict."""
    out = {}
    for i in indices:
        name, o, c = space.locate(i)
        out[int(i)] = state[name][o, c].clone()
    return out


def pretrained(tmp_path, net_opt, seed=0):
    torch.manual_seed(seed)
    net = build_network(net_opt)
    state = net.state_dict()
    ema = {k: v + 0.01 for k, v in state.items()}  # params_ema != params: the EMA copy must stay on its own values
    path = str(tmp_path / 'pretrain.pth')
    torch.save({'params': state, 'params_ema': ema}, path)
    return path, state, ema


def steps(model, n, net_opt, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = net_opt.get('num_in_ch', 3)
    for it in range(1, n + 1):
        model.feed_data({'lq': torch.rand(2, c, 8, 8, generator=g), 'gt': torch.rand(2, c, 16, 16, generator=g)})
        model.optimize_parameters(it)


@pytest.mark.parametrize('arch', ['srresnet', 'srcnn_style', 'edsr'])
def test_only_selected_filters_move_with_adam_weight_decay_and_ema(tmp_path, arch):
    from faig.models.retrain_model import ReTrainModel
    net_opt = TINY_NETS[arch]
    path, state, ema = pretrained(tmp_path, net_opt)
    space = FilterSpace(state)
    rng = np.random.default_rng(0)
    chosen = sorted({0, 1, *rng.choice(space.num_filters, 6, replace=False).tolist()})  # 0, 1: the first layer
    ranking = np.concatenate([chosen, [i for i in rng.permutation(space.num_filters) if i not in chosen]])
    np.savetxt(tmp_path / 'rank.txt', ranking, fmt='%d')
    ratio = len(chosen) / space.num_filters + 1e-9
    model = ReTrainModel(model_options(net_opt, path, {'finetuned_neuron_index_file': str(tmp_path / 'rank.txt'),
                                                       'neuron_ratio': ratio}))
    assert sorted(model.retrained_filters.tolist()) == chosen
    steps(model, 20, net_opt)
    for net, start in ((model.net_g, state), (model.net_g_ema, ema)):
        now = net.state_dict()
        masks = space.masks(chosen)
        for name, value in now.items():
            if name in masks:
                frozen = ~masks[name]
                assert torch.equal(value[frozen], start[name][frozen]), name  # bit-identical, other filters
            else:
                assert torch.equal(value, start[name]), name  # biases and everything else
        moved = [i for i in chosen if not torch.equal(entries(now, space, [i])[i], entries(start, space, [i])[i])]
        assert moved == chosen  # every selected filter changed, the first layer's too


def test_explicit_filter_list_and_bad_selections(tmp_path):
    from faig.errors import InputError
    from faig.models.retrain_model import ReTrainModel
    net_opt = TINY_NETS['srresnet']
    path, state, _ = pretrained(tmp_path, net_opt)
    model = ReTrainModel(model_options(net_opt, path, {'finetuned_filters': [3, 40]}, ema=0))
    steps(model, 3, net_opt)
    assert sorted(model.update_masks) == sorted({FilterSpace(state).locate(i)[0] for i in (3, 40)})
    for bad in ({'finetuned_filters': [10 ** 6]}, {'finetuned_filters': []},
                {'finetuned_neuron_index_file': str(tmp_path / 'none.txt'), 'neuron_ratio': 0.5},
                {'finetuned_filters': [1], 'finetuned_neuron_index_file': 'x', 'neuron_ratio': 0.1}):
        assert ReTrainModel.check_options(model_options(net_opt, path, bad)) is not None
    np.savetxt(tmp_path / 'rank.txt', np.arange(FilterSpace(state).num_filters), fmt='%d')
    zero = {'finetuned_neuron_index_file': str(tmp_path / 'rank.txt'), 'neuron_ratio': 0.001}
    assert 'selects none' in ReTrainModel.check_options(model_options(net_opt, path, zero))
    with pytest.raises(InputError):
        ReTrainModel(model_options(net_opt, path, zero))


def retrain_yaml(workdir, total_iter, ratio=0.05):
    """The original's option keys, through train.py: a tiny MSRResNet retrained from a 'baseline'."""
    opt = tiny_options(str(workdir / 'gt'), total_iter)
    net = build_network(opt['network_g'])
    torch.save({'params': net.state_dict(), 'params_ema': net.state_dict()}, workdir / 'baseline.pth')
    space = FilterSpace(net.state_dict())
    np.savetxt(workdir / 'blur_index.txt', np.random.default_rng(1).permutation(space.num_filters), fmt='%d')
    opt['model_type'] = 'ReTrainModel'
    opt['path'].update(pretrain_network_g=str(workdir / 'baseline.pth'), param_key_g='params_ema')
    opt['train'].update(finetuned_neuron_index_file=str(workdir / 'blur_index.txt'), neuron_ratio=ratio,
                        ema_decay=0.999)
    opt['train']['optim_g']['weight_decay'] = 1e-3
    return opt, net.state_dict(), space


def test_original_yaml_keys_train_and_resume_keeps_the_mask(workdir):
    opt, start, space = retrain_yaml(workdir, 2)
    res = run_script(['train.py', '-opt', write_options(workdir, opt)], cwd=workdir)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'ReTrainModel: retraining' in res.stdout + res.stderr
    opt['train']['total_iter'] = 4
    res = run_script(['train.py', '-opt', write_options(workdir, opt), '--auto_resume'], cwd=workdir)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'Resuming training from epoch' in res.stdout + res.stderr
    ranking = np.loadtxt(workdir / 'blur_index.txt', dtype=np.int64)
    chosen = ranking[:int(len(ranking) * 0.05)]
    masks = space.masks(chosen)
    models = workdir / 'experiments' / 'tiny' / 'models'
    for it in (2, 4):
        ckpt = torch.load(models / f'net_g_{it}.pth', weights_only=True)
        for key in ('params', 'params_ema'):
            for name, value in ckpt[key].items():
                frozen = ~masks[name] if name in masks else slice(None)
                assert torch.equal(value[frozen], start[name][frozen]), (it, key, name)
    assert any(not torch.equal(ckpt['params'][n][masks[n]], start[n][masks[n]]) for n in masks if masks[n].any())


def test_bad_selection_is_one_line_before_any_folder(workdir, train_here):
    opt, _, _ = retrain_yaml(workdir, 2, ratio=1e-6)
    res = train_here(['-opt', write_options(workdir, opt)])
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr[-2000:]
    assert 'neuron_ratio' in res.stderr and 'selects none' in res.stderr
    opt['train']['finetuned_neuron_index_file'] = 'missing.txt'
    opt['train']['neuron_ratio'] = 0.01
    res = train_here(['-opt', write_options(workdir, opt)])
    assert res.returncode == 2 and 'missing.txt' in res.stderr
    assert not (workdir / 'experiments').exists()


def test_study_selections_have_equal_counts_and_the_per_layer_control_keeps_faig_layers(tmp_path, monkeypatch):
    from conftest import load_script
    study = load_script('retrain_study', tmp_path)
    monkeypatch.chdir(tmp_path)  # the study reads paths relative to its root (it changes there)
    net_opt = TINY_NETS['srresnet']
    state = build_network(net_opt).state_dict()
    space = FilterSpace(state)
    rng = np.random.default_rng(3)
    for method in ('faig', 'ig', 'abs_filter_change'):
        (tmp_path / method).mkdir()
        np.savetxt(tmp_path / method / 'blur_index.txt', rng.permutation(space.num_filters), fmt='%d')
    args = study.parse_args(['--rankings_dir', str(tmp_path), '--proportion', '10'])
    chosen = study.selections(args, 'blur', space)
    count = int(space.num_filters * 10 / 100)
    assert {k: len(v) for k, v in chosen.items()} == {k: count for k in study.SELECTIONS}
    assert all(len(set(v.tolist())) == count for v in chosen.values())
    faig_layers = np.bincount(space.layer_of(chosen['faig']), minlength=len(space.entries))
    assert (np.bincount(space.layer_of(chosen['random_per_layer']), minlength=len(space.entries)) == faig_layers).all()
    assert set(chosen['random_per_layer'].tolist()) != set(chosen['faig'].tolist())
    again = study.selections(args, 'blur', space)
    assert all((again[k] == chosen[k]).all() for k in chosen)  # seeded


def test_study_permutation_moves_kernels_within_layers_only():
    from conftest import load_script
    study = load_script('retrain_study', REPO_ROOT)
    net_opt = TINY_NETS['srresnet']
    state = build_network(net_opt).state_dict()
    space = FilterSpace(state)
    chosen = np.random.default_rng(0).choice(space.num_filters, 30, replace=False)
    permuted, moved = study.permute_within_layers(state, space, chosen, np.random.default_rng(1))
    layers = space.layer_of(chosen)
    for layer in set(layers.tolist()):
        members = chosen[layers == layer]
        name = space.entries[layer].name
        before = sorted(state[name][space.locate(i)[1], space.locate(i)[2]].flatten().tolist() for i in members)
        after = sorted(permuted[name][space.locate(i)[1], space.locate(i)[2]].flatten().tolist() for i in members)
        assert before == after  # the same kernels, in the same layer
    masks = space.masks(chosen)
    for name, value in permuted.items():
        keep = ~masks[name] if name in masks else slice(None)
        assert torch.equal(value[keep], state[name][keep])  # nothing else moved
    assert moved == sum(int((layers == l).sum()) for l in set(layers.tolist()) if (layers == l).sum() > 1)


def synthetic_study():
    imgs = ('a', 'b')
    ref = {'baseline': {t: {i: 30.0 for i in imgs} for t in ('clean', 'blur', 'noise')},
           'target': {t: {'a': 32.0, 'b': 34.0} for t in ('clean', 'blur', 'noise')}}
    runs = {}
    for sel, gain in (('faig', 1.0), ('random', 0.2), ('ig', 0.5)):
        psnr = {t: {i: 30.0 + gain * (ref['target'][t][i] - 30.0) * (1.0 if i == 'a' else 0.5) for i in imgs}
                for t in ('clean', 'blur', 'noise')}
        runs[f'r_{sel}'] = {'function': 'blur', 'selection': sel, 'iterations': 10, 'filters': 3, 'psnr': psnr,
                            'wall_seconds': 60}
    conn = {'masked': {'mean': 2.0, 'per_image': {'a': 2.0, 'b': 2.0}},
            'permuted': {'mean': 1.5, 'per_image': {'a': 1.8, 'b': 0.4}}, 'filters_moved': 3}
    return {'reference': {'psnr': ref}, 'runs': runs, 'connections': {'blur': conn}}


def test_recovered_share_matches_its_definition():
    from faig.evaluation.retraining import findings, markdown, shares
    study = synthetic_study()
    s = shares(study, 'blur')
    # literal: mean over images first; a: gain 2 recovered fully, b: gain 4 recovered half -> (2 + 2) / (2 + 4)
    assert s['faig'][0] == pytest.approx((2.0 + 2.0) / (2.0 + 4.0))
    assert s['faig'][1] == pytest.approx({'a': 1.0, 'b': 0.5})
    assert s['random'][1] == pytest.approx({'a': 0.2, 'b': 0.1})
    checks = {f['id']: f for f in findings(study, ('blur', ))}
    assert checks['2-retrain-blur']['holds'] and checks['2-retrain-blur']['per_image'] == {'holds': 2, 'images': 2}
    assert checks['2-connections-blur']['holds'] and checks['2-connections-blur']['per_image']['holds'] == 1
    table = markdown(study, 'tiny', ('blur', ))
    assert '| FAIG |' in table and '0.667' in table and 'permuting' in table


def test_report_section_reads_the_committed_study(tmp_path):
    import torch
    from conftest import save_model_pair
    from faig.reporting.studies import retraining_section
    from faig.store import sha1_file
    pair = tmp_path / 'experiments/pretrained/srresnet'
    save_model_pair(pair, {'w': torch.zeros(2)}, {'w': torch.ones(2)})
    folder = tmp_path / 'results/retrain_study/srresnet'
    folder.mkdir(parents=True)
    study = synthetic_study()
    study['reference']['models'] = {k: sha1_file(str(pair / f'{k}_model.pth')) for k in ('baseline', 'target')}
    (folder / 'study.json').write_text(json.dumps(study))
    summary = {'nets': {}}
    text = '\n'.join(retraining_section(str(tmp_path), ['srresnet', 'srcnn_style'], summary))
    assert 'Finding 2: weights, locations, connections' in text and '| FAIG |' in text
    assert 'srcnn_style: no retraining study recorded yet' in text and 'other models' not in text
    assert (tmp_path / 'results/Interpret/figures/srresnet/retrain_recovered_share.png').is_file()
    assert summary['nets']['srresnet']['retraining'][0]['holds']

    # the bundled pair swapped after the study: its numbers are not shown as the new pair's
    save_model_pair(pair, {'w': torch.zeros(2)}, {'w': torch.full((2,), 2.0)})
    summary = {'nets': {}}
    text = '\n'.join(retraining_section(str(tmp_path), ['srresnet'], summary))
    assert 'srresnet: the retraining study on record was made with other models than the bundled pair (target ' \
           f'{study["reference"]["models"]["target"][:8]} (bundled now: ' in text
    assert 'baseline' not in text.split('bundled pair (')[1].split(';')[0]  # the baseline still matches
    assert 'python scripts/retrain_study.py --net srresnet' in text and '| FAIG |' not in text
    assert 'retraining' not in summary['nets'].get('srresnet', {})


def test_study_of_other_models_is_set_aside_and_not_read(tmp_path):
    """After a swap of the bundled pair the old runs are neither continued nor counted against the new pair."""
    from conftest import load_script
    from faig.evaluation.retraining import runs_of
    study = load_script('retrain_study', tmp_path)
    path = tmp_path / 'study.json'
    old = {'reference': {'models': {'baseline': 'a' * 40, 'target': 'b' * 40}},
           'runs': {'r': {'function': 'blur', 'selection': 'faig', 'iterations': 10,
                          'key': {'baseline_sha1': 'a' * 40}}},
           'connections': {'blur': {}}}
    path.write_text(json.dumps(old))
    assert study.open_study(str(path), old['reference']['models'])['runs'] == old['runs']  # same models: continued
    assert path.is_file()
    from faig.errors import InputError
    with pytest.raises(InputError, match='recorded with other models .* without --report_only'):
        study.open_study(str(path), {'baseline': 'a' * 40, 'target': 'c' * 40}, report_only=True)
    assert json.loads(path.read_text()) == old  # left as it was
    assert hasattr(study.main, '__wrapped__')  # main reports bad input as one line (faig.errors.cli)
    fresh = study.open_study(str(path), {'baseline': 'a' * 40, 'target': 'c' * 40})
    assert fresh == {'runs': {}} and not path.exists()
    aside = [n for n in os.listdir(tmp_path) if n.startswith('study.json.other-models-')]
    assert len(aside) == 1 and json.loads((tmp_path / aside[0]).read_text()) == old
    # the reader too: a run trained from another baseline than the reference's is not counted
    mixed = dict(old, reference={'models': {'baseline': 'd' * 40, 'target': 'b' * 40}})
    assert runs_of(mixed, 'blur') == {} and list(runs_of(old, 'blur')) == ['faig']


def test_study_never_reuses_a_run_of_other_settings(tmp_path, monkeypatch):
    """A finished experiment folder under the same name but another key is set aside and trained again."""
    import subprocess
    import yaml
    from conftest import load_script
    study = load_script('retrain_study', tmp_path)
    calls = []

    def fake_train(cmd, cwd):
        calls.append(cmd)
        name = yaml.safe_load(open(cmd[cmd.index('-opt') + 1]))['name']
        models = tmp_path / 'experiments' / name / 'models'
        models.mkdir(parents=True, exist_ok=True)
        (models / 'net_g_latest.pth').write_bytes(b'new')
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, 'run', fake_train)
    args = study.parse_args(['--net', 'srresnet'])
    config = tmp_path / 'cfg.yml'
    config.write_text('name: config\n')
    old = tmp_path / 'experiments/run/models'
    old.mkdir(parents=True)
    (old / 'net_g_latest.pth').write_bytes(b'old, unknown settings')
    latest, _ = study.train_run(args, 'run', str(config), {'name': 'run'}, str(tmp_path / 'logs'), {'k': 1})
    assert open(latest, 'rb').read() == b'new' and len(calls) == 1
    assert any('superseded' in n for n in os.listdir(tmp_path / 'experiments'))
    study.train_run(args, 'run', str(config), {'name': 'run'}, str(tmp_path / 'logs'), {'k': 1})
    assert len(calls) == 1  # the same key: reused
    study.train_run(args, 'run', str(config), {'name': 'run'}, str(tmp_path / 'logs'), {'k': 2})
    assert len(calls) == 2  # another key: trained again


def test_study_passes_paths_to_train_py_as_data(tmp_path, monkeypatch):
    """The selection file and the baseline went to train.py as --force_yml text, which BasicSR's parser eval()s
    when it starts with '[' (a crash for '[v2] models', code run for a crafted name); they are set in a copy of
    the option file as values, and the run's key records the same overrides as before."""
    import subprocess
    import yaml
    from conftest import load_script
    study = load_script('retrain_study', tmp_path)
    seen = {}

    def fake_train(cmd, cwd):
        seen['cmd'] = cmd
        seen['opt'] = yaml.safe_load(open(cmd[cmd.index('-opt') + 1]))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, 'run', fake_train)
    config = tmp_path / 'train_x_retrain.yml'
    config.write_text(yaml.safe_dump({'name': 'x', 'path': {'pretrain_network_g': None},
                                      'train': {'scheduler': {'periods': [1]}}, 'val': {}, 'logger': {},
                                      'datasets': {'train': {}}}))
    base = "[v2] models/__import__('os').getcwd()/baseline_model.pth"
    overrides = ['name=r', 'train:finetuned_neuron_index_file=[sel] blur.txt', 'train:neuron_ratio=0.0125',
                 'train:total_iter=600', 'train:scheduler:periods=[600]', f'path:pretrain_network_g={base}',
                 'datasets:train:kernel_prob=1.0', 'train:autocast_bf16=true']
    settings = study.run_settings(overrides, {'name': 'r', 'train:finetuned_neuron_index_file': '[sel] blur.txt',
                                              'train:neuron_ratio': 0.0125, 'path:pretrain_network_g': base})
    study.train_run(study.parse_args(['--net', 'srresnet']), 'r', str(config), settings, str(tmp_path / 'logs'),
                    {'k': 1})
    assert '--force_yml' not in seen['cmd']
    opt = seen['opt']
    assert opt['path']['pretrain_network_g'] == base and opt['train']['finetuned_neuron_index_file'] == '[sel] blur.txt'
    assert opt['train']['scheduler']['periods'] == [600] and opt['train']['autocast_bf16'] is True
    assert opt['datasets']['train']['kernel_prob'] == 1.0 and opt['name'] == 'r'


def test_study_paths_are_the_callers_and_selections_without_faig(tmp_path, monkeypatch):
    """Relative --models_dir/--rankings_dir/--out were read against the repository after the study's chdir;
    --selections without faig raised KeyError (the connections use FAIG's filters whatever is retrained)."""
    from conftest import load_script
    study = load_script('retrain_study', REPO_ROOT)
    monkeypatch.chdir(tmp_path)
    args = study.parse_args(['--models_dir', 'mine', '--rankings_dir', 'ranks', '--out', 'out',
                             '--selections', 'random'])
    assert (args.models_dir, args.rankings_dir, args.out) == tuple(str(tmp_path / n) for n in ('mine', 'ranks', 'out'))
    defaults = study.parse_args([])
    assert defaults.models_dir == 'experiments/pretrained' and defaults.out == 'results/retrain_study/srresnet'
    monkeypatch.chdir(REPO_ROOT)
    assert study.parse_args(['--models_dir', 'experiments/pretrained']).models_dir == 'experiments/pretrained'
    net_opt = TINY_NETS['srresnet']
    space = FilterSpace(build_network(net_opt).state_dict())
    (tmp_path / 'faig').mkdir()
    np.savetxt(tmp_path / 'faig' / 'blur_index.txt', np.random.default_rng(0).permutation(space.num_filters), fmt='%d')
    args = study.parse_args(['--rankings_dir', str(tmp_path), '--selections', 'random', '--proportion', '10'])
    chosen = study.selections(args, 'blur', space, also=('faig', ))
    assert set(chosen) == {'random', 'faig'}
    predict = load_script('predict_degradation_study', REPO_ROOT)
    monkeypatch.chdir(tmp_path)
    args = predict.parse_args(['--set_root', 'set', '--models_dir', 'm'])
    assert (args.set_root, args.models_dir) == (str(tmp_path / 'set'), str(tmp_path / 'm'))
    assert predict.parse_args([]).set_root == 'datasets/DegradationSet'


def test_a_resume_with_another_selection_is_refused_unless_asked(workdir):
    """--auto_resume with another ranking or ratio trained the union of both selections (the resumed weights had
    moved at the first one) while the log named only the new one."""
    from faig.errors import InputError
    from faig.training import check_options
    opt, _, space = retrain_yaml(workdir, 2)
    opt_path = write_options(workdir, opt)
    res = run_script(['train.py', '-opt', opt_path], cwd=workdir)
    assert res.returncode == 0, res.stderr[-2000:]
    record = json.loads((workdir / 'experiments' / 'tiny' / 'retrained_filters.json').read_text())
    ranking = np.loadtxt(workdir / 'blur_index.txt', dtype=np.int64)
    assert record['filters'] == sorted(ranking[:int(len(ranking) * 0.05)].tolist())

    def check(*force_yml):
        return check_options(opt_path, auto_resume=True, root_path=str(workdir), force_yml=['train:total_iter=4',
                                                                                            *force_yml])
    check()  # the same selection resumes
    with pytest.raises(InputError, match=r'--auto_resume: the run in .*experiments/tiny retrained another selection '
                                         r'of filters \(0 of its \d+ filters not selected now, \d+ new\); resuming would '
                                         r'retrain both.*train.allow_other_selection: true$'):
        check('train:neuron_ratio=0.1')
    np.savetxt(workdir / 'other_index.txt', np.random.default_rng(2).permutation(space.num_filters), fmt='%d')
    with pytest.raises(InputError, match='retrained another selection'):
        check(f'train:finetuned_neuron_index_file={workdir / "other_index.txt"}')
    check('train:neuron_ratio=0.1', 'train:allow_other_selection=true')  # asked for
    res = run_script(['train.py', '-opt', opt_path, '--auto_resume', '--force_yml', 'train:total_iter=4',
                      f'train:finetuned_neuron_index_file="{workdir / "other_index.txt"}"',
                      'train:allow_other_selection=true'], cwd=workdir)
    assert res.returncode == 0, res.stderr[-2000:]
    resumed = json.loads((workdir / 'experiments' / 'tiny' / 'retrained_filters.json').read_text())
    assert resumed['retrained_before'] == sorted(set(record['filters']) - set(resumed['filters']))
    assert resumed['retrained_before'] and 'resumed a run that retrained another selection' in res.stdout + res.stderr
    (workdir / 'experiments' / 'tiny' / 'retrained_filters.json').unlink()
    with pytest.raises(InputError, match='retrained_filters.json is missing or unreadable'):
        check()


def test_a_ranking_of_other_models_is_refused_unless_asked(workdir):
    """The ranking's meta.json records the models it was made for; retraining starts from another baseline."""
    from faig.errors import InputError
    from faig.networks import load_params
    from faig.store import state_digest
    from faig.training import check_options
    opt, _, _ = retrain_yaml(workdir, 2)
    given = state_digest(load_params(str(workdir / 'baseline.pth'), 'params_ema'))
    (workdir / 'meta.json').write_text(json.dumps({'baseline': given, 'target': 'b' * 40}))
    opt_path = write_options(workdir, opt)
    check_options(opt_path)  # made for this baseline
    (workdir / 'meta.json').write_text(json.dumps({'baseline': 'a' * 40, 'target': 'b' * 40}))
    with pytest.raises(InputError, match=r'train.finetuned_neuron_index_file: .*meta.json: this ranking was computed '
                                         r'for other models or images \(baseline model [0-9a-f]{10} given, aaaaaaaaaa recorded\); '
                                         r'set train.allow_other_models: true to use it anyway \(path.pretrain_network_g'):
        check_options(opt_path)
    check_options(opt_path, force_yml=['train:allow_other_models=true'])


def test_the_committed_study_runs_keep_their_keys():
    """The degradation pair, its training data and its test sets come from faig.specs: the data overrides the study
    makes for a run are those its committed records hold, so a rerun with their settings reuses their runs, and the
    records read as before."""
    import glob
    from conftest import load_script
    from faig.evaluation.retraining import findings, markdown
    study = load_script('retrain_study', REPO_ROOT)
    records = sorted(glob.glob(os.path.join(REPO_ROOT, 'results', 'retrain_study', '*', 'study.json')))
    assert records
    for path in records:
        with open(path) as f:
            record = json.load(f)
        net = os.path.basename(os.path.dirname(path))
        for name, run in record['runs'].items():
            overrides = run['key']['overrides']
            assert list(study.train_data(run['function'])) == [o for o in overrides if o.startswith('datasets:train:')]
            assert name == study.run_name(net, run['function'], run['selection'], run['iterations'], 1)
        assert set(record['reference']['psnr']['baseline']) == set(study.TEST_FOLDERS)
        assert len(findings(record)) == 4 and '| FAIG |' in markdown(record, net)
