"""Degradation prediction from the discovered filters (the paper's third finding, issue 31).

A toy network whose one filter set acts only on blurry inputs and whose other acts only on noisy ones must be
read correctly by the predictor; thresholds must be the best cut (checked against a brute-force search) and
come out identical on a rerun; labels come from folder names; bad input is one line, exit 2, nothing written.
"""
import csv
import dataclasses
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from torch import nn

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from conftest import REPO, load_script, run_script, smooth_image, write_images  # noqa: E402
from test_attribution import TINY_NETS, make_pair  # noqa: E402

from faig.attribution.filters import FilterSpace  # noqa: E402
from faig.data.degradations import add_gaussian_noise, blur, degrade, gaussian_kernel, quantize  # noqa: E402
from faig.errors import InputError  # noqa: E402
from faig.evaluation import degradation_predictor as dp  # noqa: E402
from faig.evaluation import labelled_set, prediction_inputs, prediction_study  # noqa: E402
from faig.tables import percent_text  # noqa: E402
from faig.reporting.studies import prediction_section  # noqa: E402

NET = TINY_NETS['srresnet']
LAPLACIAN = torch.tensor([[0., 1, 0], [1, -4, 1], [0, 1, 0]])


# ---- a toy blind-SR network with one filter set per degradation ----------------------------------

class ToyBlindSR(nn.Module):
    """``x + g_blur(x)·deblur(x) + g_noise(x)·denoise(x)``: the gates read the mean |Laplacian| of the input
    (low on a blurry texture, high on a noisy one), so the ``deblur`` filters act only on blurry inputs and the
    ``denoise`` filters only on noisy ones. ``detect`` is the same in the baseline and the target."""

    def __init__(self, low=0.13, high=0.23):
        super().__init__()
        self.detect = nn.Conv2d(3, 1, 3, padding=1, bias=False)
        self.deblur = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        self.denoise = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        self.low, self.high = low, high

    def forward(self, x):
        energy = self.detect(x).abs().mean(dim=(1, 2, 3), keepdim=True)
        gate_blur = torch.sigmoid((self.low - energy) * 200)
        gate_noise = torch.sigmoid((energy - self.high) * 200)
        return x + gate_blur * self.deblur(x) + gate_noise * self.denoise(x)


def toy_pair():
    """(network, baseline, target): the baseline lacks the deblurring and denoising kernels (zeros)."""
    net = ToyBlindSR()
    baseline = {k: torch.zeros_like(v) for k, v in net.state_dict().items()}
    baseline['detect.weight'] = (LAPLACIAN / 3).expand(1, 3, 3, 3).clone()
    target = {k: v.clone() for k, v in baseline.items()}
    identity = torch.zeros(3, 3)
    identity[1, 1] = 1
    for c in range(3):
        target['deblur.weight'][c, c] = -LAPLACIAN  # x - lap(x): sharpening
        target['denoise.weight'][c, c] = torch.full((3, 3), 1 / 9.) - identity  # box blur - x: smoothing
    return net, baseline, target


def toy_rankings(space, swapped=False):
    """Each degradation's ranking: its own layer's filters first (as a perfect FAIG would find them)."""
    def first(layer):
        entry = space.entry(f'{layer}.weight')
        own = np.arange(entry.offset, entry.offset + entry.count)
        return np.concatenate([own, np.setdiff1d(np.arange(space.num_filters), own)])
    blur_first, noise_first = first('deblur'), first('denoise')
    return {'blur': noise_first, 'noise': blur_first} if swapped else {'blur': blur_first, 'noise': noise_first}


def toy_images(seed, count, size=24):
    """{name: image} and {name: label}: sharp textures, blurred (σ 1.5), noisy (σ 0.1)."""
    rng = np.random.default_rng(seed)
    images, labels = {}, {}
    for i in range(count):
        small = rng.uniform(0, 1, (size // 2, size // 2, 3)).astype(np.float32)
        texture = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
        for label, img in (('clean', texture), ('blur', blur(texture, gaussian_kernel(9, 1.5))),
                           ('noise', add_gaussian_noise(texture, 0.1, rng))):
            images[f'{label}_{i}'] = quantize(img).astype(np.float32)
            labels[f'{label}_{i}'] = label
    return images, labels


TOY_PROPORTION = 43  # int(21 filters * 43 %) = 9 = one 3x3-channel layer


def toy_features(swapped=False):
    net, baseline, target = toy_pair()
    space = FilterSpace(target)
    return prediction_inputs.FilterFeatures(net, baseline, target, toy_rankings(space, swapped), TOY_PROPORTION)


def test_toy_network_blurry_and_noisy_inputs_are_told_apart():
    features = toy_features()
    assert all(len(top) == 9 for top in features.selected.values())
    images, labels = toy_images(0, 6)
    values = features.measure(images)
    blur_a = [values[n][0] for n in images if labels[n] == 'blur']
    blur_b = [values[n][1] for n in images if labels[n] == 'blur']
    noise_a = [values[n][0] for n in images if labels[n] == 'noise']
    noise_b = [values[n][1] for n in images if labels[n] == 'noise']
    # masking the deblurring filters changes a blurry output far more than a noisy one, and the other way round
    assert min(blur_a) > 10 * max(noise_a)
    assert min(noise_b) > 10 * max(blur_b)
    calibration = dp.fit_calibration([values[n] for n in images], [labels[n] for n in images])
    test_images, test_labels = toy_images(1, 6)
    test_values = features.measure(test_images)
    predicted = calibration.predict([test_values[n] for n in test_images])
    assert predicted == [test_labels[n] for n in test_images]


def test_toy_predictor_fails_with_the_rankings_swapped():
    """The test above can fail: with each degradation's ranking pointing at the other's filters, blurry
    inputs are read as noisy and noisy ones as blurry."""
    right, swapped = toy_features(), toy_features(swapped=True)
    images, labels = toy_images(0, 6)
    calibration = dp.fit_calibration([right.measure(images)[n] for n in images], [labels[n] for n in images])
    values = swapped.measure(images)
    predicted = dict(zip(images, calibration.predict([values[n] for n in images])))
    assert all(predicted[n] == 'noise' for n in images if labels[n] == 'blur')
    assert all(predicted[n] == 'blur' for n in images if labels[n] == 'noise')


# ---- thresholds ---------------------------------------------------------------------------------

def brute_force_best(values, present, weights):
    """The best weighted accuracy of any cut 'present when value > c', c over every midpoint and the ends."""
    ordered = np.unique(values)
    cuts = [ordered[0] - 1, *((ordered[1:] + ordered[:-1]) / 2), ordered[-1] + 1]
    return max(float(np.sum(weights * ((values > c) == present))) / weights.sum() for c in cuts)


@pytest.mark.parametrize('seed', range(5))
def test_fit_threshold_is_the_best_cut(seed):
    rng = np.random.default_rng(seed)
    present = rng.uniform(size=40) < 0.4
    values = np.exp(rng.normal(size=40) + 1.2 * present)
    weights = rng.uniform(0.5, 2, size=40)
    for direction in ('above', 'below'):
        shown = values if direction == 'above' else 1 / values
        threshold = dp.fit_threshold(shown, present, weights, direction)
        best = brute_force_best(np.log(values), present, weights)
        reached = float(np.sum(weights * (threshold.present(shown) == present))) / weights.sum()
        assert reached == pytest.approx(best, abs=1e-12)
        assert threshold.balanced_accuracy == pytest.approx(best, abs=1e-12)


def test_fit_threshold_separable_cut_lies_in_the_gap():
    threshold = dp.fit_threshold([1, 2, 10, 20], [False, False, True, True])
    assert threshold.value == pytest.approx(np.sqrt(20))  # geometric mean of 2 and 10
    assert threshold.balanced_accuracy == 1
    with pytest.raises(dp.InputError):
        dp.fit_threshold([1, 2], [True, True])


def test_fit_threshold_ties_go_to_the_widest_gap_and_never_split_equal_values():
    # cuts below 10 and below 1000 both get 3 of 4 right: the wider gap (11 -> 1000) wins
    assert dp.fit_threshold([1, 10, 11, 1000], [False, True, False, True]).value == pytest.approx(np.sqrt(11000))
    # two equal values are never split, whatever their labels
    assert dp.fit_threshold([1, 1, 5], [False, True, True]).value == pytest.approx(np.sqrt(5))


def test_thresholds_reproduce_on_rerun():
    images, labels = toy_images(2, 5)
    runs = []
    for _ in range(2):
        features = toy_features()  # fresh network and masked states each time
        values = features.measure(images)
        runs.append(dp.fit_calibration([values[n] for n in images], [labels[n] for n in images]).to_json())
    assert json.dumps(runs[0], sort_keys=True) == json.dumps(runs[1], sort_keys=True)


def test_calibration_json_round_trip():
    values = np.array([[1, 1], [10, 1], [1, 10], [10, 10], [2, 1], [20, 2], [1, 30], [9, 12]], dtype=float)
    labels = ['clean', 'blur', 'noise', 'blur_noise'] * 2
    calibration = dp.fit_calibration(values, labels)
    again = dp.Calibration.from_json(json.loads(json.dumps(calibration.to_json())))
    assert again.predict(values) == calibration.predict(values) == labels
    assert 'blur' in calibration.describe() and 'noise' in calibration.describe()


@pytest.mark.parametrize('change,problem', [
    (lambda c, first, second: c['thresholds'][first].update(value=float('nan')),
     'threshold value nan is not a finite number'),
    (lambda c, first, second: c['thresholds'][second]['present'].update(value=float('inf')),
     'threshold value inf is not a finite number'),
    (lambda c, first, second: c['thresholds'][second]['absent'].update(direction='sideways'),
     "threshold direction 'sideways' is not one of above, below"),
    (lambda c, first, second: c.update(first='jpeg'), "first 'jpeg' is not one of its degradations ['blur', 'noise']"),
    (lambda c, first, second: c.update(degradations=[first, second, 'jpeg'], first=first),
     '3 degradations and 2 features; a calibration has two each'),
])
def test_a_calibration_with_unusable_thresholds_is_refused(tmp_path, change, problem):
    """A NaN cut says "absent" for every image and an unknown direction counted as "below": both were used
    silently; now the file is refused in one line."""
    values = np.array([[1, 1], [10, 1], [1, 10], [10, 10], [2, 1], [20, 2], [1, 30], [9, 12]], dtype=float)
    data = dp.fit_calibration(values, ['clean', 'blur', 'noise', 'blur_noise'] * 2).to_json()
    first = data['first']
    change(data, first, 'noise' if first == 'blur' else 'blur')
    path = tmp_path / 'calibration.json'
    path.write_text(json.dumps(data))  # json writes NaN and Infinity, and reads them back
    with pytest.raises(InputError) as info:
        prediction_inputs.read_calibration(str(path))
    assert str(info.value) == f'{path}: not a usable calibration ({problem})'


def test_second_degradation_gets_one_threshold_per_side():
    """Noise raises the blur number: a blurry+noisy image must be judged with the cut fitted among noisy images."""
    values = [[0.1, 0.1], [2, 0.1], [0.5, 5], [1.5, 5]] * 3  # clean, blur, noise, blur_noise
    labels = ['clean', 'blur', 'noise', 'blur_noise'] * 3
    calibration = dp.fit_calibration(values, labels)
    assert calibration.degradations[calibration.first] in ('blur', 'noise')
    assert calibration.predict(values) == labels
    absent, present = calibration.thresholds_second
    if calibration.first == 1:
        assert absent.value < 2 and present.value > 0.5


# ---- classical estimators -----------------------------------------------------------------------

def test_classical_features_follow_blur_and_noise():
    pytest.importorskip('pywt')  # skimage's estimate_sigma needs PyWavelets
    rng = np.random.default_rng(0)
    img = smooth_image(rng, 64, 64).astype(np.float32) / 255.
    sharp, sigma = prediction_inputs.classical_features(img)
    blurry, _ = prediction_inputs.classical_features(blur(img, gaussian_kernel(21, 2)))
    _, noisy = prediction_inputs.classical_features(add_gaussian_noise(img, 0.1, rng))
    assert blurry < sharp
    assert noisy == pytest.approx(0.1, rel=0.2) and sigma < 0.02


# ---- folders ------------------------------------------------------------------------------------

def make_labelled(root, size=(8, 8), per=3, levels=True):
    """A labelled folder: clean/ with images; blur, noise, blur_noise with level subfolders (or images)."""
    seed = 0
    for label in dp.class_labels():
        folders = [osp.join(root, label)] if label == 'clean' or not levels else [
            osp.join(root, label, f'{label}{k}') for k in (1, 2)]
        for folder in folders:
            seed += 1
            write_images(folder, [size] * per, seed=seed, prefix='im')
    return root


def test_labels_read_from_folders(tmp_path):
    root = make_labelled(str(tmp_path / 'set'))
    entries = prediction_inputs.read_input_folder(root)
    assert {e.name.split('/')[0] for e in entries} == set(dp.class_labels())
    for e in entries:
        assert e.name.split('/')[0] == e.label
        assert osp.isfile(e.path) and e.path.endswith(e.name.split('/')[-1])
    assert {e.level for e in entries if e.label == 'blur'} == {'blur1', 'blur2'}
    assert {e.level for e in entries if e.label == 'clean'} == {None}
    flat = prediction_inputs.read_input_folder(osp.join(root, 'clean'))
    assert [e.label for e in flat] == [None] * 3
    # another degradation pair names its folders after its own degradations
    os.makedirs(tmp_path / 'pair' / 'jpeg_noise')
    write_images(str(tmp_path / 'pair' / 'jpeg_noise'), [(8, 8)], prefix='x')
    entries = prediction_inputs.read_input_folder(str(tmp_path / 'pair'), ('jpeg', 'noise'))
    assert entries[0].label == 'jpeg_noise' and dp.has_degradations('jpeg_noise', ('jpeg', 'noise')) == (True, True)


@pytest.mark.parametrize('case', ['stray folder', 'images beside labels', 'empty level'])
def test_bad_labelled_folders(tmp_path, case):
    root = make_labelled(str(tmp_path / 'set'))
    if case == 'stray folder':
        write_images(osp.join(root, 'blurry'), [(8, 8)])
        match = 'not a label folder'
    elif case == 'images beside labels':
        write_images(root, [(8, 8)])
        match = 'beside the label folders'
    else:
        os.makedirs(osp.join(root, 'noise', 'noise9'))
        match = 'no images found'
    with pytest.raises(dp.InputError, match=match):
        prediction_inputs.read_input_folder(root)


# ---- the command line ---------------------------------------------------------------------------

@pytest.fixture(scope='module')
def sandbox(tmp_path_factory):
    """Tiny models, a ranking of every filter, a labelled calibration folder and a test folder."""
    root = tmp_path_factory.mktemp('predict')
    baseline, target = make_pair(NET, dtype=torch.float32)
    torch.save({'params_ema': baseline}, root / 'baseline.pth')
    torch.save({'params_ema': target}, root / 'target.pth')
    n = FilterSpace(target).num_filters
    os.makedirs(root / 'rankings')
    for deg, seed in (('blur', 1), ('noise', 2)):
        np.savetxt(root / 'rankings' / f'{deg}_index.txt', np.random.default_rng(seed).permutation(n), fmt='%d')
    make_labelled(str(root / 'calibration'))
    make_labelled(str(root / 'test'), levels=False)
    return root


def cli_args(root, *extra):
    return ['--network_g', json.dumps(NET), '--baseline_model_path', str(root / 'baseline.pth'),
            '--target_model_path', str(root / 'target.pth'), '--ranking_folder', str(root / 'rankings'),
            '--proportion', '10', '--device', 'cpu', *extra]


def predict(argv):
    from faig.cli.prediction import predict_main
    return predict_main(argv)


def test_predictor_masks_the_filters_of_the_rankings_own_space(sandbox, tmp_path):
    """A ranking of some layers (--layers, recorded in meta.json) indexes those layers' filters: the predictor
    uses the ranking's filter space, not the plain every-conv rule (an index into one is not one into the other)."""
    from faig.attribution.filters import space_for_network
    from faig.networks import build_network
    space = space_for_network(build_network(NET), 'body.*')
    folder = tmp_path / 'rankings'
    os.makedirs(folder)
    for deg, seed in (('blur', 1), ('noise', 2)):
        np.savetxt(folder / f'{deg}_index.txt', np.random.default_rng(seed).permutation(space.num_filters), fmt='%d')
    (folder / 'meta.json').write_text(json.dumps({'filter_space': space.describe()}))
    setup = prediction_inputs.prepare_predictor('srresnet', NET, 2, str(sandbox / 'baseline.pth'), str(sandbox / 'target.pth'),
                                 str(folder), proportion=10)
    assert setup.features.space.names == space.names
    target = torch.load(sandbox / 'target.pth')['params_ema']
    for deg in ('blur', 'noise'):
        state = setup.features.states[deg]
        moved = {k for k in target if not torch.equal(state[k], target[k])}
        assert moved and all(k.startswith('body.') for k in moved), moved


def test_fitting_waits_for_no_run_that_holds_the_ranking_folder(sandbox, tmp_path, monkeypatch):
    """--fit_calibration locks the ranking folder from its claim to its write: refused while another run
    holds it, before any image is measured, and nothing is written."""
    import shutil
    import subprocess
    ranking = tmp_path / 'rankings'
    shutil.copytree(sandbox / 'rankings', ranking)
    code = ('import sys, time; from faig.store import FolderLock; '
            f'FolderLock({str(ranking)!r}).acquire(); print("held", flush=True); time.sleep(60)')
    child = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == 'held'

        def measured(*args, **kwargs):
            raise AssertionError('images measured while another run holds the ranking folder')
        monkeypatch.setattr(prediction_inputs.FilterFeatures, 'measure', measured)
        argv = cli_args(sandbox, '--fit_calibration', str(sandbox / 'calibration'))
        argv[argv.index('--ranking_folder') + 1] = str(ranking)
        with pytest.raises(SystemExit):
            predict(argv)
        assert not (ranking / 'prediction_calibration_blur_noise_p10.json').exists()
    finally:
        child.kill()
        child.wait()


def test_cli_csv_has_the_columns_and_true_labels(sandbox, tmp_path):
    out = tmp_path / 'out' / 'pred.csv'
    plot = tmp_path / 'out' / 'scatter.png'
    predict(cli_args(sandbox, '--input_folder', str(sandbox / 'test'), '--calibration', str(sandbox / 'calibration'),
                     '--save_csv', str(out), '--save_plot', str(plot)))
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ['image', 'deblurring_filters_masked', 'denoising_filters_masked', 'predicted', 'true']
    assert len(rows) == 12
    for row in rows:
        assert row['true'] == row['image'].split('/')[0]
        assert row['predicted'] in dp.class_labels()
        assert float(row['deblurring_filters_masked']) >= 0
    assert cv2.imread(str(plot)) is not None
    # unlabelled input: no true column
    predict(cli_args(sandbox, '--input_folder', str(sandbox / 'test' / 'noise'), '--calibration',
                     str(sandbox / 'calibration'), '--save_csv', str(out)))
    with open(out) as f:
        assert next(csv.reader(f)) == ['image', 'deblurring_filters_masked', 'denoising_filters_masked', 'predicted']


def test_cli_fit_calibration_is_saved_beside_the_ranking_and_identical_on_rerun(sandbox, tmp_path):
    ranking = tmp_path / 'rankings'
    import shutil
    shutil.copytree(sandbox / 'rankings', ranking)
    argv = cli_args(sandbox, '--fit_calibration', str(sandbox / 'calibration'))
    argv[argv.index('--ranking_folder') + 1] = str(ranking)
    predict(argv)
    saved = ranking / 'prediction_calibration_blur_noise_p10.json'
    first = saved.read_bytes()
    predict(argv)
    assert saved.read_bytes() == first
    data = json.loads(first)
    assert set(data['thresholds']) == {'blur', 'noise'} and data['counts'] == {
        'clean': 3, 'blur': 6, 'noise': 6, 'blur_noise': 6}
    # without --calibration the saved one is used, and gives what fitting on the fly gives
    out_saved, out_fly = tmp_path / 'a.csv', tmp_path / 'b.csv'
    use = cli_args(sandbox, '--input_folder', str(sandbox / 'test'), '--save_csv', str(out_saved))
    use[use.index('--ranking_folder') + 1] = str(ranking)
    predict(use)
    predict(cli_args(sandbox, '--input_folder', str(sandbox / 'test'), '--calibration', str(sandbox / 'calibration'),
                     '--save_csv', str(out_fly)))
    assert out_saved.read_bytes() == out_fly.read_bytes()
    # the saved calibration is refused for other models
    other = cli_args(sandbox, '--input_folder', str(sandbox / 'test'), '--target_model_path',
                     str(sandbox / 'baseline.pth'))
    other[other.index('--ranking_folder') + 1] = str(ranking)
    with pytest.raises(SystemExit):
        predict(other)


def snapshot(root):
    return sorted((osp.relpath(osp.join(d, f), root), os.stat(osp.join(d, f)).st_mtime_ns)
                  for d, _, files in os.walk(root) for f in files)


@pytest.mark.parametrize('case', ['no images', 'mismatched sizes', 'unlabelled calibration', 'csv into the inputs',
                                  'no saved calibration'])
def test_bad_input_is_one_line_and_writes_nothing(sandbox, tmp_path, capsys, case):
    inputs = tmp_path / 'inputs'
    calibration = str(sandbox / 'calibration')
    out = tmp_path / 'out.csv'
    extra = []
    if case == 'no images':
        os.makedirs(inputs)
        expected = f'error: {inputs}: no images found'
    elif case == 'mismatched sizes':
        write_images(str(inputs), [(8, 8), (8, 12)], prefix='im')
        expected = f'error: {inputs}/im1.png: size 12x8 differs from {inputs}/im0.png (8x8)'
    elif case == 'unlabelled calibration':
        write_images(str(inputs), [(8, 8)], prefix='im')
        calibration = str(sandbox / 'test' / 'clean')
        expected = f'error: {calibration}: --calibration needs label folders'
    elif case == 'csv into the inputs':
        write_images(str(inputs), [(8, 8)], prefix='im')
        out = inputs / 'pred.csv'
        expected = f'error: {out}: --save_csv is inside the folder --input_folder reads from'
    else:
        write_images(str(inputs), [(8, 8)], prefix='im')
        calibration = None
        expected = f'error: {sandbox / "rankings" / "prediction_calibration_blur_noise_p10.json"}: no calibration saved'
    before = snapshot(tmp_path), snapshot(sandbox)
    argv = cli_args(sandbox, '--input_folder', str(inputs), '--save_csv', str(out), *extra)
    if calibration:
        argv += ['--calibration', calibration]
    with pytest.raises(SystemExit) as exc:
        predict(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2
    assert len(err) == 1 and err[0].startswith(expected), err
    assert (snapshot(tmp_path), snapshot(sandbox)) == before


def test_bad_input_on_the_real_command_line(sandbox, tmp_path):
    os.makedirs(tmp_path / 'empty')
    res = run_script([osp.join(REPO, 'analysis/scripts/predict_degradation.py'),
                      *cli_args(sandbox, '--input_folder', str(tmp_path / 'empty'), '--calibration',
                                str(sandbox / 'calibration'), '--save_csv', str(tmp_path / 'x.csv'))])
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, res.stderr[-2000:]
    assert lines[0] == f'error: {tmp_path / "empty"}: no images found (looked for .png, .jpg, .jpeg, .bmp, .tif, ' \
                       '.tiff, .ppm, .webp)'
    assert sorted(os.listdir(tmp_path)) == ['empty']


def option_strings(parser):
    return [s for action in parser._actions for s in action.option_strings]


def test_help_lists_every_flag():
    from faig.cli.prediction import build_parser
    parser, _ = build_parser([])
    flags = option_strings(parser)
    for flag in ('--net', '--input_folder', '--save_csv', '--calibration', '--fit_calibration', '--proportion',
                 '--target_model_path', '--baseline_model_path', '--ranking_folder', '--deg_a', '--deg_b',
                 '--save_plot', '--calibration_levels', '--dataset', '--method'):
        assert flag in flags
    res = run_script([osp.join(REPO, 'analysis/scripts/predict_degradation.py'), '--help'])
    assert res.returncode == 0
    for flag in flags:
        assert flag in res.stdout, flag
    for script in ('make_degradation_set', 'predict_degradation_study'):
        module = load_script(script, REPO)
        parser = module.build_parser() if hasattr(module, 'build_parser') else None
        res = run_script([osp.join(REPO, 'scripts', f'{script}.py'), '--help'])
        assert res.returncode == 0, res.stderr
        if parser is not None:
            for flag in option_strings(parser):
                assert flag in res.stdout, flag
        for flag in ('--net', '--set_root', '--out', '--force') if script == 'predict_degradation_study' else ():
            assert flag in res.stdout


# ---- the labelled set and the study -------------------------------------------------------------

def tiny_photos(folder):
    rng = np.random.default_rng(3)
    os.makedirs(folder)
    for name, (h, w) in (('ant', (40, 48)), ('bee', (48, 48)), ('cat', (44, 40))):
        cv2.imwrite(osp.join(folder, f'{name}.png'), smooth_image(rng, h, w))
    return folder


def test_labelled_set_is_reproducible_and_split_by_photo(tmp_path):
    gt = tiny_photos(str(tmp_path / 'gt'))
    recipe = labelled_set.labelled_set_recipe(gt, crop=8, crops_per_photo=4)
    assert recipe['split'] == {'calibration': ['ant', 'cat'], 'test': ['bee']}
    state, manifest = labelled_set.make_labelled_set(str(tmp_path / 'a'), recipe)
    assert state == 'made' and manifest['images'] == {'calibration': 2 * 4 * 16, 'test': 4 * 16}
    assert labelled_set.make_labelled_set(str(tmp_path / 'a'), recipe)[0] == 'same'
    labelled_set.make_labelled_set(str(tmp_path / 'b'), recipe)
    assert snapshot_bytes(tmp_path / 'a') == snapshot_bytes(tmp_path / 'b')
    for split, photos in recipe['split'].items():
        entries = prediction_inputs.read_input_folder(str(tmp_path / 'a' / split))
        assert {osp.basename(e.name).rsplit('_', 1)[0] for e in entries} == set(photos)
        assert {e.label for e in entries} == set(dp.class_labels())
    trained = [lv['name'] for lv in manifest['levels'] if lv['trained']]
    assert trained == ['clean', 'blur2', 'noise25.5', 'blur2_noise25.5']
    # a crop is the test sets' pipeline on the whole photo, then cut: blur σ 2 (kernel 21), bilinear x1/2
    hr = cv2.imread(osp.join(gt, 'bee.png')).astype(np.float32) / 255.
    lr = np.clip((degrade(hr, 2, kernel=gaussian_kernel(21, 2)) * 255).round(), 0, 255).astype(np.uint8)
    y, x = manifest['crops']['bee'][3]
    crop = cv2.imread(str(tmp_path / 'a' / 'test' / 'blur' / 'blur2' / 'bee_3.png'))
    assert np.array_equal(crop, lr[y:y + 8, x:x + 8])
    with pytest.raises(dp.InputError, match='--overwrite'):
        labelled_set.make_labelled_set(str(tmp_path / 'a'), labelled_set.labelled_set_recipe(gt, crop=8, crops_per_photo=2))


def test_trained_levels_follow_the_degradation_specs(monkeypatch):
    """A level is trained when each degradation it has is at its spec's default: a spec trained at blur σ 3
    moves the trained levels with it (no second list of training strengths)."""
    from faig.specs import DEGRADATIONS
    blur = DEGRADATIONS['blur']
    assert [lv.name for lv in labelled_set.make_levels() if lv.trained] == \
        ['clean', 'blur2', 'noise25.5', 'blur2_noise25.5']
    params = tuple(dataclasses.replace(p, default=3.0) if p.name == 'sigma' else p for p in blur.params)
    monkeypatch.setitem(DEGRADATIONS, 'blur', dataclasses.replace(blur, params=params))
    assert [lv.name for lv in labelled_set.make_levels() if lv.trained] == \
        ['clean', 'blur3', 'noise25.5', 'blur3_noise25.5']


def snapshot_bytes(root):
    return {osp.relpath(osp.join(d, f), root): open(osp.join(d, f), 'rb').read()
            for d, _, files in os.walk(root) for f in files}


def test_study_and_report_section(tmp_path, capsys):
    """The study runner end to end on the bundled MSRResNet pair (random ranking, tiny crops), and the report
    section read back from its JSON."""
    models = osp.join(REPO, 'experiments', 'pretrained')
    if not osp.isfile(osp.join(models, 'srresnet', 'target_model.pth')):
        pytest.skip('bundled models not present')
    pytest.importorskip('pywt')  # the classical predictor's estimate_sigma needs PyWavelets
    gt = tiny_photos(str(tmp_path / 'gt'))
    labelled_set.make_labelled_set(str(tmp_path / 'set'), labelled_set.labelled_set_recipe(gt, crop=8, crops_per_photo=2))
    rankings = tmp_path / 'rankings' / 'Tiny' / 'faig'
    os.makedirs(rankings)
    for deg, seed in (('blur', 1), ('noise', 2)):
        np.savetxt(rankings / f'{deg}_index.txt', np.random.default_rng(seed).permutation(151936), fmt='%d')
    out = tmp_path / 'results' / 'degradation_prediction' / 'srresnet'
    study_script = load_script('predict_degradation_study', REPO)
    cwd = os.getcwd()
    try:
        study = study_script.main(['--net', 'srresnet', '--set_root', str(tmp_path / 'set'), '--rankings_dir',
                                   str(rankings), '--out', str(out), '--device', 'cpu', '--models_dir', models])
    finally:
        os.chdir(cwd)
    assert sorted(os.listdir(out)) == ['confusion.png', 'level_scatter.png', 'prediction.json', 'prediction.md',
                                       'scatter.png']
    assert list(dp.PREDICTORS) == ['filters', 'relative', 'classical']
    for r in study['records']:  # the relative change: the project's two numbers over the output's gradient energy
        assert r['relative'] == pytest.approx([v / r['output_energy'] for v in r['filters']], rel=1e-12)
    assert osp.isfile(rankings / 'prediction_calibration_blur_noise_p1.json')
    test = [r for r in study['records'] if r['split'] == 'test']
    assert len(test) == 2 * 16 and all(r['photo'] == 'bee' for r in test)
    for cal in prediction_study.CALIBRATIONS:
        for key in dp.PREDICTORS:
            block = study['summary'][cal][key]
            assert block['all']['images'] == 32 and block['trained']['images'] == 8
            assert sum(map(sum, block['all']['confusion'])) == 32
            assert block['all']['accuracy'] == pytest.approx(np.mean(
                [r['predicted'][cal][key] == r['true'] for r in test]))
    os.makedirs(tmp_path / 'experiments')
    os.symlink(models, tmp_path / 'experiments' / 'pretrained')  # the report compares with the bundled pair
    lines = prediction_section(str(tmp_path), ['srresnet', 'srcnn_style'], 'Tiny')
    text = '\n'.join(lines)
    assert 'other models' not in text
    assert lines[0] == '## Finding 3: degradation prediction'
    assert 'true \\ predicted' in text and 'degradation_prediction/srresnet/scatter.png' in text
    assert 'srcnn_style: no degradation-prediction study recorded yet' in text
    assert 'Note: these numbers use the rankings of' not in text
    numbers = prediction_study.headline(study)
    assert numbers['filters'] == study['summary']['trained']['filters']['trained']['accuracy']
    assert f'- **srresnet** — 4-class accuracy at the trained levels of the test split: filter-based ' \
           f'{percent_text(numbers["filters"])}' in text

    # a record of other weights (e.g. made before the bundled pair was swapped) is not shown as this pair's
    record = json.loads((out / 'prediction.json').read_text())
    record['run_key']['use_key']['target'] = '0' * 40
    (out / 'prediction.json').write_text(json.dumps(record))
    text = '\n'.join(prediction_section(str(tmp_path), ['srresnet'], 'Tiny'))
    assert 'srresnet: the degradation-prediction study on record was made with other models than the bundled pair ' \
           '(target 00000000 (bundled now: ' in text and 'state digest' in text
    assert 'python scripts/predict_degradation_study.py --net srresnet --force' in text and 'true \\ predicted' not in text
    # the command the note gives is the one that replaces the record: without --force it is refused
    try:
        with pytest.raises(SystemExit):
            study_script.main(['--net', 'srresnet', '--set_root', str(tmp_path / 'set'), '--rankings_dir',
                               str(rankings), '--out', str(out), '--device', 'cpu', '--models_dir', models])
    finally:
        os.chdir(cwd)
    assert 'holds the results of another run' in capsys.readouterr().err
