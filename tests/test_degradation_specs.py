"""Degradation specs carry how to apply them (faig/specs.py): the LR sets, the training dataset and the
report made from the registered specs, blur/noise exactly as before, and a JPEG-vs-noise pair end to end.

The blur/noise reference is the previous code path itself, rebuilt here from the helpers it used
(``degrade``, ``gaussian_kernel``, ``image_rng``), which the specs did not change. No digest of a float
result is frozen here: those change with the CPU's vector width (tests/test_cpu_independence.py)."""
import json
import os
import os.path as osp
import random

import cv2
import numpy as np
import pytest
import torch

from faig.data.degradations import apply_jpeg, degrade, degrade_with, downsample, gaussian_kernel, quantize
from faig.data.div2k_interpret_dataset import DIV2KInterpretDataset, compile_entries, draw_steps
from faig.data.image_io import encode_image, read_image, to_uint8
from faig.data.lr_sets import default_folders, generate, image_rng
from faig.errors import InputError
from faig.specs import DEFAULT_PAIR, DEGRADATIONS, appliable_degradation, degradation

from conftest import run_script


def sample_image(seed, h, w):
    """The deterministic photo-like image (numpy only) the reference digests were captured on."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(h // 6, w // 6, 3)).astype(np.float64)
    img = np.kron(small, np.ones((6, 6, 1)))
    yy, xx = np.mgrid[0:h, 0:w]
    img = img * 0.7 + (yy[..., None] * 3 + xx[..., None] * 2) % 77
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def gt(tmp_path):
    folder = tmp_path / 'GTmod12'
    folder.mkdir()
    for i, (h, w) in enumerate([(48, 36), (24, 60)]):
        cv2.imwrite(str(folder / f'img{i}.png'), sample_image(i, h, w))
    return str(folder)




# the folders of --scale 3 --kernel_size 7 --kernel_sigma 1.5 --noise_sigma 0.05 (the original's names)
FOLDERS_X3 = {'Blur1.5_LRbicx3': 'blur', 'LRbicx3_noise0.05': 'noise', 'LRbicx3': 'bicubic',
              'Linear_LRbicx3': 'bilinear'}


def previous_recipes(scale, kernel_size, kernel_sigma, noise_sigma, seed):
    """faig/data/lr_sets.py's recipes before the specs: blur, noise, bilinear, bicubic."""
    kernel = gaussian_kernel(kernel_size, kernel_sigma)
    return {
        'blur': lambda img, name: degrade(img, scale, kernel=kernel),
        'noise': lambda img, name: degrade(img, scale, noise_sigma=noise_sigma, rng=image_rng(seed, name)),
        'bilinear': lambda img, name: degrade(img, scale),
        'bicubic': lambda img, name: degrade(img, scale, interpolation='bicubic'),
    }


# ---- 1. the blur/noise LR sets are byte-identical to the previous code path -----------------------

def test_generate_lr_blur_noise_sets_are_byte_identical_to_before(tmp_path, gt):
    for seed in (0, 3):
        out = tmp_path / f'out{seed}'
        res = run_script(['scripts/generate_lr.py', '--ori_folder', gt, '--save_blur_folder', str(out / 'blur'),
                          '--save_noise_folder', str(out / 'noise'), '--save_bic_folder', str(out / 'bic'),
                          '--save_linear_folder', str(out / 'lin'), '--seed', str(seed)])
        assert res.returncode == 0, res.stderr
        recipes = previous_recipes(2, 21, 2.0, 0.1, seed)
        for role, folder in (('blur', 'blur'), ('noise', 'noise'), ('bicubic', 'bic'), ('bilinear', 'lin')):
            for i, name in enumerate(('img0.png', 'img1.png')):
                path = out / folder / name
                expected = encode_image(str(path), to_uint8(recipes[role](read_image(osp.join(gt, name)), name)))
                assert path.read_bytes() == expected, (role, name)


def test_generate_lr_other_scale_and_parameters_are_byte_identical_to_before(tmp_path, gt):
    res = run_script(['scripts/generate_lr.py', '--ori_folder', gt, '--scale', '3', '--kernel_size', '7',
                      '--kernel_sigma', '1.5', '--noise_sigma', '0.05', '--seed', '11'])
    assert res.returncode == 0, res.stderr
    root = osp.dirname(gt)
    assert sorted(os.listdir(root)) == sorted(['GTmod12', *FOLDERS_X3])  # the folder names of before, too
    recipes = previous_recipes(3, 7, 1.5, 0.05, 11)
    for folder, role in FOLDERS_X3.items():
        for name in ('img0.png', 'img1.png'):
            path = osp.join(root, folder, name)
            expected = encode_image(path, to_uint8(recipes[role](read_image(osp.join(gt, name)), name)))
            assert open(path, 'rb').read() == expected


def test_spec_folders_and_defaults_match_the_original_names():
    for spec in DEGRADATIONS.values():
        assert spec.lr_folder(2) == spec.folder
    assert default_folders('d', 2, 2, 0.1) == {'blur': 'd/Blur2_LRbicx2', 'noise': 'd/LRbicx2_noise0.1',
                                               'bicubic': 'd/LRbicx2', 'bilinear': 'd/Linear_LRbicx2'}
    assert default_folders('d', 4, degradations=('jpeg', 'noise'), params={'jpeg': {'quality': 50}}) == {
        'jpeg': 'd/LRbicx4_jpeg50', 'noise': 'd/LRbicx4_noise0.1', 'bicubic': 'd/LRbicx4',
        'bilinear': 'd/Linear_LRbicx4'}
    assert degradation('blur').defaults == {'kernel_size': 21, 'sigma': 2.0}
    assert degradation('noise').defaults == {'sigma': 0.1}
    assert [degradation(d).stage for d in ('blur', 'noise', 'jpeg')] == ['hr', 'lr', 'lr']
    jpeg = degradation('jpeg')
    assert (jpeg.folder, jpeg.adjective, jpeg.function, jpeg.short) == (
        'LRbicx2_jpeg30', 'JPEG-compressed', 'JPEG-artifact removal', 'dejpeg')
    assert jpeg.mask_kind == 'maskdejpegfilter' and jpeg.defaults == {'quality': 30}


# ---- 2. the JPEG applier is OpenCV's encode/decode at the quality -------------------------------

@pytest.mark.parametrize('quality', [10, 30, 95])
def test_jpeg_applier_equals_cv2_encode_decode(quality):
    img = sample_image(5, 48, 36).astype(np.float32) / 255. + np.float32(0.002)  # off the 8-bit grid
    pixels = to_uint8(img)
    ok, data = cv2.imencode('.jpg', pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    expected = cv2.imdecode(data, cv2.IMREAD_COLOR).astype(np.float32) / 255.
    out = degradation('jpeg').apply(img, np.random.default_rng(0), quality=quality)
    assert out.dtype == np.float32 and out.shape == img.shape
    np.testing.assert_array_equal(out, expected)
    assert np.abs(out - pixels / 255.).mean() > 1e-3  # it did compress
    np.testing.assert_array_equal(quantize(out), out)  # on the 8-bit grid already
    np.testing.assert_array_equal(apply_jpeg(img, None, quality), expected)  # no randomness


def test_generate_lr_jpeg_set_is_downsample_then_jpeg(tmp_path, gt):
    res = run_script(['scripts/generate_lr.py', '--ori_folder', gt, '--degradations', 'jpeg', 'noise',
                      '--jpeg_quality', '40'])
    assert res.returncode == 0, res.stderr
    root = osp.dirname(gt)
    assert sorted(os.listdir(root)) == ['GTmod12', 'LRbicx2', 'LRbicx2_jpeg40', 'LRbicx2_noise0.1', 'Linear_LRbicx2']
    for name in ('img0.png', 'img1.png'):
        lr = downsample(read_image(osp.join(gt, name)), 2)
        ok, data = cv2.imencode('.jpg', to_uint8(lr), [cv2.IMWRITE_JPEG_QUALITY, 40])
        np.testing.assert_array_equal(cv2.imread(osp.join(root, 'LRbicx2_jpeg40', name)), cv2.imdecode(data, 1))
        noisy = degrade(read_image(osp.join(gt, name)), 2, noise_sigma=0.1, rng=image_rng(0, name))
        np.testing.assert_array_equal(read_image(osp.join(root, 'LRbicx2_noise0.1', name), float32=False),
                                      to_uint8(noisy))


# ---- 3. the training dataset: the generic `degradations` option and the original keys ------------

def dataset_opt(folder, phase='val', **degradation_options):
    opt = {'name': 'specs', 'dataroot_gt': folder, 'io_backend': {'type': 'disk'}, 'scale': 2, 'phase': phase}
    if phase == 'train':
        opt.update(gt_size=16, use_flip=True, use_rot=True)
    opt.update(degradation_options)
    return opt


def lq_of(sample):
    return sample['lq'].numpy()


def by_hand(gt_path, steps, rng):
    """What a sample's LR is: the specs applied at their stages, by hand (BGR HWC -> RGB CHW)."""
    img = read_image(gt_path)
    for name, params in steps:
        if degradation(name).stage == 'hr':
            img = degradation(name).apply(img, rng, **params)
    img = downsample(img, 2)
    for name, params in steps:
        if degradation(name).stage == 'lr':
            img = degradation(name).apply(img, rng, **params)
    return quantize(img).astype(np.float32)[..., ::-1].transpose(2, 0, 1)


def test_dataset_generic_jpeg_is_the_spec_applied(gt):
    ds = DIV2KInterpretDataset(dataset_opt(gt, degradations=[{'name': 'jpeg', 'prob': 1.0, 'quality': [30]}]))
    for index in range(2):
        expected = by_hand(ds.paths[index], [('jpeg', {'quality': 30})], None)
        np.testing.assert_array_equal(lq_of(ds[index]), expected)
    clean = DIV2KInterpretDataset(dataset_opt(gt, degradations=[{'name': 'jpeg', 'prob': 0.0, 'quality': [30]}]))
    np.testing.assert_array_equal(lq_of(clean[0]), by_hand(ds.paths[0], [], None))
    assert np.abs(lq_of(ds[0]) - lq_of(clean[0])).mean() > 1e-3


def test_dataset_generic_noise_then_jpeg_draws_like_by_hand(gt):
    entries = [{'name': 'noise', 'prob': 1.0, 'sigma': [0.05, 0.1]}, {'name': 'jpeg', 'prob': 1.0, 'quality': 50}]
    ds = DIV2KInterpretDataset(dataset_opt(gt, degradations=entries))
    np.random.seed(7)
    got = lq_of(ds[1])
    np.random.seed(7)
    np.random.uniform()  # noise: applied?
    sigma = [0.05, 0.1][np.random.choice(2)]  # noise: which sigma
    np.random.uniform()  # jpeg: applied? (a fixed quality draws nothing)
    np.testing.assert_array_equal(got, by_hand(ds.paths[1], [('noise', {'sigma': sigma}), ('jpeg', {'quality': 50})],
                                               np.random))


def test_draw_steps_ranges_and_probabilities():
    compiled = compile_entries([{'name': 'jpeg', 'prob': 0.5, 'quality': {'uniform': [20, 40]}},
                                {'name': 'blur', 'prob': 1.0, 'sigma': {'uniform': [0.5, 1.5]}}])
    rng = np.random.RandomState(0)
    draws = [draw_steps(compiled, rng) for _ in range(200)]
    qualities = [p['quality'] for steps in draws for spec, p in steps if spec.name == 'jpeg']
    sigmas = [p['sigma'] for steps in draws for spec, p in steps if spec.name == 'blur']
    assert 60 < len(qualities) < 140 and len(sigmas) == 200
    assert all(isinstance(q, int) and 20 <= q <= 40 for q in qualities) and len(set(qualities)) > 10
    assert all(0.5 <= s <= 1.5 for s in sigmas) and all(p['kernel_size'] == 21 for steps in draws
                                                         for spec, p in steps if spec.name == 'blur')


LEGACY = {'kernel_prob': 0.5, 'kernel_size': 21, 'sigma_list': [1, 2], 'noise_prob': 0.5, 'noise_list': [0.05, 0.1]}
# the next np.random.uniform() after 8 training samples (indices 0, 1, 0, 1, ...) with np.random.seed(0),
# random.seed(0), from the dataset before the specs: the dataset draws as many numbers, in the same order
LEGACY_STATE_AFTER = 0.07765712692326643


def previous_sample(ds, index):
    """DIV2KInterpretDataset.__getitem__ before the specs (its draws, in its order)."""
    from basicsr.data.transforms import augment, paired_random_crop
    from basicsr.utils import img2tensor
    opt = ds.opt
    img_gt = cv2.imread(ds.paths[index], cv2.IMREAD_COLOR).astype(np.float32) / 255.
    kernels = [gaussian_kernel(opt['kernel_size'], s) for s in opt['sigma_list']]
    kernel = None
    if np.random.uniform() < opt['kernel_prob']:
        kernel = kernels[np.random.choice(len(kernels))]
    noise_sigma = None
    if np.random.uniform() < opt['noise_prob']:
        noise_sigma = opt['noise_list'][np.random.choice(len(opt['noise_list']))]
    img_lq = degrade(img_gt, 2, kernel, noise_sigma, 'bilinear').astype(np.float32)
    img_gt, img_lq = paired_random_crop(img_gt, img_lq, opt['gt_size'], 2, ds.paths[index])
    img_gt, img_lq = augment([img_gt, img_lq], opt['use_flip'], opt['use_rot'])
    img_gt, img_lq = img2tensor([img_gt, img_lq], bgr2rgb=True, float32=True)
    return {'gt': img_gt, 'lq': img_lq}


def test_original_kernel_prob_noise_prob_give_the_samples_of_before(gt):
    ds = DIV2KInterpretDataset(dataset_opt(gt, 'train', **LEGACY))
    np.random.seed(0)
    random.seed(0)
    for k in range(8):
        ds[k % 2]
    assert float(np.random.uniform()) == LEGACY_STATE_AFTER

    for seed in range(3):  # against the previous code path itself, other seeds
        np.random.seed(seed)
        random.seed(seed)
        new = [ds[k % 2] for k in range(6)]
        np.random.seed(seed)
        random.seed(seed)
        old = [previous_sample(ds, k % 2) for k in range(6)]
        for a, b in zip(new, old):
            assert torch.equal(a['lq'], b['lq']) and torch.equal(a['gt'], b['gt'])


def test_original_keys_equal_their_generic_form(gt):
    generic = [{'name': 'blur', 'prob': 0.5, 'kernel_size': 21, 'sigma': [1, 2]},
               {'name': 'noise', 'prob': 0.5, 'sigma': [0.05, 0.1]}]
    a = DIV2KInterpretDataset(dataset_opt(gt, 'train', **LEGACY))
    b = DIV2KInterpretDataset(dataset_opt(gt, 'train', degradations=generic))
    samples = []
    for ds in (a, b):
        np.random.seed(1)
        random.seed(1)
        samples.append([ds[k % 2]['lq'] for k in range(6)])
    assert all(torch.equal(x, y) for x, y in zip(*samples))


@pytest.mark.parametrize('entries,problem', [
    ([{'name': 'jpg', 'prob': 0.5}], "degradations[0].name: unknown degradation 'jpg'; registered: blur, jpeg, noise"),
    ([{'prob': 0.5}], 'degradations[0].name: missing'),
    ([{'name': 'jpeg'}], 'degradations[0].prob: missing'),
    ([{'name': 'jpeg', 'prob': 2}], 'degradations[0].prob: must be a probability in [0, 1], got 2'),
    ([{'name': 'jpeg', 'prob': 1, 'quality': [30, 101]}],
     'degradations[0].quality: must be an integer in [0, 100], got 101'),
    ([{'name': 'jpeg', 'prob': 1, 'sigma': 0.1}], 'degradations[0].sigma: not a parameter of jpeg'),
    ([{'name': 'noise', 'prob': 1}, {'name': 'noise', 'prob': 1}], 'degradations[1].name: noise is named twice'),
    ([{'name': 'blur', 'prob': 1, 'sigma': {'uniform': [2, 1]}}], 'degradations[0].sigma: uniform range [2, 1]'),
    ([], 'degradations: must be a non-empty list'),
])
def test_dataset_refuses_bad_degradations(entries, problem):
    found = DIV2KInterpretDataset.check_options({'degradations': entries, 'phase': 'val'})
    assert found is not None and found.startswith(problem), found
    mixed = DIV2KInterpretDataset.check_options({'degradations': [{'name': 'jpeg', 'prob': 1}], 'noise_prob': 0.5})
    assert mixed.startswith('noise_prob: the original blur/noise keys and degradations cannot be combined')


# ---- 4. bad degradation names: one line, naming the flag or the option -----------------------------

def one_line_error(res):
    assert res.returncode == 2, res.stderr[-2000:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), res.stderr
    return lines[0]


def test_generate_lr_bad_degradation_name_and_parameter(tmp_path, gt):
    res = run_script(['scripts/generate_lr.py', '--ori_folder', gt, '--degradations', 'jpg', 'noise'])
    assert one_line_error(res) == "error: --degradations: unknown degradation 'jpg'; registered: blur, jpeg, noise"
    res = run_script(['scripts/generate_lr.py', '--ori_folder', gt, '--degradations', 'jpeg', '--jpeg_quality', '101'])
    assert one_line_error(res) == 'error: --jpeg_quality: must be an integer in [0, 100], got 101'
    res = run_script(['scripts/generate_lr.py', '--ori_folder', gt, '--save_jpeg_folder', str(tmp_path / 'j')])
    assert one_line_error(res).startswith('error: --save_jpeg_folder: jpeg is not in --degradations')
    assert sorted(os.listdir(tmp_path)) == ['GTmod12']  # nothing written


def test_train_bad_degradation_name_is_one_line_and_writes_nothing(tmp_path, gt):
    import shutil

    import yaml

    from conftest import REPO
    from test_train import tiny_options
    shutil.copy(osp.join(REPO, 'train.py'), tmp_path / 'train.py')
    opt = tiny_options(gt, 2)
    train = opt['datasets']['train']
    for key in ('kernel_prob', 'kernel_size', 'sigma_list', 'noise_prob', 'noise_list'):
        train.pop(key)
    train['degradations'] = [{'name': 'noise', 'prob': 0.5, 'sigma': [0.1]}, {'name': 'jpge', 'prob': 0.5}]
    path = tmp_path / 'bad.yml'
    path.write_text(yaml.safe_dump(opt))
    res = run_script(['train.py', '-opt', str(path)], cwd=tmp_path)
    assert one_line_error(res) == (f"error: {path}: datasets.train.degradations[1].name: unknown degradation 'jpge'; "
                                   'registered: blur, jpeg, noise')
    assert not (tmp_path / 'experiments').exists()


def test_bad_degradation_names_in_the_spec_api():
    with pytest.raises(InputError, match=r"^--x: unknown degradation 'nope'; registered: blur, jpeg, noise$"):
        appliable_degradation('nope', '--x')
    with pytest.raises(InputError, match='^nope: degradation without an applier'):
        degradation('nope').apply(np.zeros((2, 2, 3), np.float32), None)
    with pytest.raises(InputError, match='^jpeg quality: must be an integer'):
        generate('unused', {'jpeg': 'out'}, params={'jpeg': {'quality': 'high'}})


# ---- 5. the report: titles and checks worded by the pair's specs -----------------------------------

def pair_results(a, b, match=1.0, other=0.1, others=0.5):
    table = {}
    for p in (1, 3):
        for deg, odd in ((a, b), (b, a)):
            table[('faig', p, deg, deg)] = match * p
            table[('faig', p, odd, deg)] = other * p
            for m in ('ig', 'abs_filter_change', 'random'):
                table[(m, p, deg, deg)] = table[(m, p, odd, deg)] = others * p
    return table


def test_report_titles_and_checks_for_jpeg_and_noise_use_the_specs_words():
    from faig.reporting.findings import (TITLES, finding_faig_beats_others, finding_masking_ratio, paper_scope, titles)
    assert TITLES == titles(DEFAULT_PAIR) == {  # the paper's pair: the titles of before, word for word
        '1': '1. Masking 1% FAIG filters removes the matching function and keeps the other',
        '2': '2. FAIG beats IG, |θ−θ̄| and random on the matching function',
        '3a': '3a. Deblurring filters sit further back than denoising filters (mean layer depth)',
        '3b': '3b. Denoising filters spread more uniformly over the layers than deblurring filters '
              '(distance from a uniform spread)',
        '4_blur': '4. Modulating the 1% deblurring filters is monotone in λ',
        '4_noise': '4. Modulating the 1% denoising filters is monotone in λ'}
    jn = titles(('jpeg', 'noise'))
    assert list(jn) == ['1', '2', '3a', '3b', '4_jpeg', '4_noise']
    assert jn['3a'] == '3a. JPEG-artifact removal filters sit further back than denoising filters (mean layer depth)'
    assert jn['3b'].startswith('3b. Denoising filters spread more uniformly over the layers than JPEG-artifact '
                               'removal filters')
    assert jn['4_jpeg'] == '4. Modulating the 1% JPEG-artifact removal filters is monotone in λ'
    check = finding_masking_ratio(pair_results('jpeg', 'noise'), ('jpeg', 'noise'))
    assert check.holds and check.numbers['jpeg_ratio'] == 10.0 and check.text.startswith(
        'JPEG-compressed input: masking the 1% FAIG JPEG-artifact removal filters changes the output 10.0× as much '
        'as masking the 1% denoising filters')
    assert not finding_masking_ratio(pair_results('jpeg', 'noise', other=0.8), ('jpeg', 'noise')).holds
    table = pair_results('jpeg', 'noise')
    table[('ig', 3, 'jpeg', 'jpeg')] = 10.0
    check = finding_faig_beats_others(table, [1, 3], ('jpeg', 'noise'))
    assert not check.holds and check.numbers['failures'] == ['JPEG-artifact removal at 3%: ig']
    assert 'JPEG-compressed input with JPEG-artifact removal filters masked: FAIG 1.0000' in check.text
    assert 'deblurring vs denoising' in paper_scope('srresnet', '3a', ('jpeg', 'noise'))
    assert paper_scope('srresnet', '3a') == ' (the paper states this for SRResNet only)'


def test_pair_section_reads_the_recorded_pair(tmp_path):
    """A JPEG-vs-noise study's section: the pair from the rankings' meta.json, its files and its words."""
    from faig.attribution.ranking import rank, write_index
    from faig.evaluation.comparison import METHODS, write_metric_files
    from faig.reporting.network import pair_section
    from faig.reporting.records import recorded_pair
    state = {f'conv{i}.weight': torch.zeros(10, 10, 3, 3) for i in range(4)}
    target = str(tmp_path / 'target.pth')
    torch.save({'params': state}, target)
    diff = np.random.default_rng(0).normal(0, 0.01, 400)
    diff[300:304] = 10  # top JPEG filters in the last layer
    diff[[0, 100, 200, 350]] = -10  # top denoising filters spread
    search = tmp_path / 'rankings'
    write_index(str(search / 'jpeg_index.txt'), rank(diff))
    write_index(str(search / 'noise_index.txt'), rank(-diff))
    np.savez(search / 'per_image_scores.npz', a=diff, b=diff)
    (search / 'meta.json').write_text(json.dumps({'degradations': ['jpeg', 'noise']}))
    assert recorded_pair(str(search)) == ('jpeg', 'noise')
    table = pair_results('jpeg', 'noise')
    per_image = {key: {'a': value, 'b': value} for key, value in table.items()}
    metrics = str(tmp_path / 'metrics')
    write_metric_files(per_image, metrics, METHODS, (1, 3), ('jpeg', 'noise'))
    psnr = {'baseline': {'LRbicx2_jpeg30': 25.0}, 'target': {'LRbicx2_jpeg30': 26.5}}
    lines, findings, pair = pair_section(str(tmp_path), 'srresnet', metrics, str(search), target, psnr)
    text = '\n'.join(lines)
    assert pair == ('jpeg', 'noise')
    assert [f['id'] for f in findings] == ['1', '2', '3a', '3b']  # no modulation run: no finding 4
    assert '## srresnet: JPEG-artifact removal vs denoising filters' in text
    assert '| JPEG-compressed | 25.00 | 26.50 | +1.50 |' in text
    assert ('- 3a. JPEG-artifact removal filters sit further back than denoising filters (mean layer depth) (the '
            'paper states this for SRResNet, deblurring vs denoising, only; reported here for information): '
            '**holds**.') in text
    assert 'Per image: holds on 2 of 2 images.' in text
    assert 'blur' not in text.replace('deblurring vs denoising', '')  # nothing of the paper's pair but the scope
    (search / 'meta.json').write_text(json.dumps({}))
    assert recorded_pair(str(search)) == DEFAULT_PAIR  # rankings of before: the paper's pair


def test_gradient_loss_takes_the_other_degradation_from_the_comparison(tmp_path):
    from faig.cli.gradient import other_degradation
    (tmp_path / 'meta.json').write_text(json.dumps({'run_key': {'degradations': ['jpeg', 'noise']}}))
    assert other_degradation('jpeg', str(tmp_path)) == 'noise'
    assert other_degradation('noise', str(tmp_path)) == 'jpeg'
    assert other_degradation('blur', str(tmp_path / 'none')) == 'noise'  # no comparison: the paper's pair
    with pytest.raises(InputError, match='^--other: needed for jpeg'):
        other_degradation('jpeg', str(tmp_path / 'none'))


def test_degrade_with_is_degrade_for_blur_and_noise():
    img = sample_image(2, 24, 36).astype(np.float32) / 255.
    blur, noise = degradation('blur'), degradation('noise')
    steps = [(blur, {'kernel_size': 21, 'sigma': 2.0}), (noise, {'sigma': 0.1})]
    got = degrade_with(img, 2, steps, rng=np.random.default_rng(4))
    expected = degrade(img, 2, gaussian_kernel(21, 2.0), 0.1, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(got, expected)
