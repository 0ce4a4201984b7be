"""The analysis scripts' reliability issue: the modulation's reference, λ folders, hidden --help flags,
``python -m faig`` with only --network_g, 1-channel (Y) networks, nn.Parameter checkpoints, seeds.

Each test compares a tool's numbers with a slow literal computation or checks the one-line error
form (``error: <file or flag>: <problem>``, exit 2, nothing written).
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import re
import shutil
import sys

import cv2
import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from conftest import REPO, run_script  # noqa: E402
from test_attribution import make_pair  # noqa: E402
from test_bad_input import MODULATION, NET, NET_ARG, pristine, sandbox, snapshot  # noqa: E402,F401  (fixtures)

from faig.errors import InputError  # noqa: E402
from faig.networks import build_network  # noqa: E402

GRAY_NET = {**NET, 'num_in_ch': 1, 'num_out_ch': 1}




@pytest.fixture
def run_in(in_process):
    """``run_in(root, command)``: a tool's command line (its script relative to the repository) run in ``root``."""
    return lambda root, command: in_process([osp.join(REPO, command[0]), *command[1:]], cwd=root)


def one_line_error(res):
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith('error: '), res.stderr[-2000:]
    return lines[0]


# ---- 1, 2: filter modulation: the reference is the target model; one exact folder per λ ------------------

def literal_modulated(baseline, target, chosen, lam):
    """λ·θ_target + (1−λ)·θ_baseline on the chosen kernel slices, by walking the filters one by one
    (filter index = running offset over the 4-D weights + out * in_channels + in)."""
    chosen = {int(i) for i in chosen}
    state = {k: v.clone() for k, v in target.items()}
    offset = 0
    for name, weight in target.items():
        if weight.ndim != 4:
            continue
        for o in range(weight.shape[0]):
            for i in range(weight.shape[1]):
                if offset + o * weight.shape[1] + i in chosen:
                    state[name][o, i] = lam * target[name][o, i] + (1 - lam) * baseline[name][o, i]
        offset += weight.shape[0] * weight.shape[1]
    return state


def literal_output(state, path):
    """uint8 BGR output of the tiny net with ``state`` for the image at ``path``."""
    net = build_network(NET).eval()
    net.load_state_dict(state)
    rgb = cv2.imread(path)[:, :, ::-1].astype(np.float32) / 255.
    with torch.no_grad():
        out = net(torch.from_numpy(rgb.transpose(2, 0, 1).copy())[None])[0]
    img = out.clamp(0, 1).numpy().transpose(1, 2, 0)
    return (img * 255.).round().astype(np.uint8)[:, :, ::-1]  # a view: to_gray must not depend on strides


def literal_difference(outputs, reference):
    """Mean over images of mean((G - G_ref)^2) x 1000."""
    from faig.evaluation.gradient_map import image_gradient_map
    values = []
    for stem in sorted(reference):
        g = image_gradient_map(outputs[stem]).astype(np.float64)
        g_ref = image_gradient_map(reference[stem]).astype(np.float64)
        values.append(float(np.mean((g - g_ref)**2) * 1000))
    return float(np.mean(values)), values


def test_modulation_measures_against_the_target_model(sandbox, run_in):
    """--lambdas without 1: each λ's difference is to the target's own output (it used to be to the
    output at the λ nearest to 1, so λ=0.5 printed 0.0000); λ that agree to two decimals get their own
    folders (lambda_0.501, lambda_0.504), never one shared lambda_0.50."""
    lambdas = ['0', '0.5', '0.501', '0.504', '1.5']
    res = run_in(sandbox, [*MODULATION, '--proportion', '20', '--lambdas', *lambdas, '--save_folder', 'out/mod'])
    assert res.returncode == 0, res.stderr[-3000:]
    baseline = torch.load(sandbox / 'experiments/srresnet/baseline_model.pth', weights_only=True)['params_ema']
    target = torch.load(sandbox / 'experiments/srresnet/target_model.pth', weights_only=True)['params_ema']
    ranking = np.loadtxt(sandbox / 'rankings/blur_index.txt', dtype=np.int64)
    chosen = ranking[:int(len(ranking) * 20 / 100)]
    base = sandbox / f'out/mod/{len(chosen)}kernels/Modulation-deblur-filter'
    saved = json.loads((base / 'differences.json').read_text())
    assert saved['lambdas'] == [float(v) for v in lambdas]
    assert saved['folders'] == ['lambda_0.00', 'lambda_0.50', 'lambda_0.501', 'lambda_0.504', 'lambda_1.50']
    images = sorted(glob.glob(str(sandbox / 'datasets/Tiny/Blur2_LRbicx2/*.png')))
    stems = [osp.splitext(osp.basename(p))[0] for p in images]
    reference = {s: literal_output(target, p) for s, p in zip(stems, images)}
    for k, lam in enumerate(saved['lambdas']):
        outputs = {s: literal_output(literal_modulated(baseline, target, chosen, lam), p)
                   for s, p in zip(stems, images)}
        mean, per_image = literal_difference(outputs, reference)
        assert saved['output_difference'][k] == pytest.approx(mean, rel=1e-9, abs=1e-12)
        assert [saved['per_image'][s][k] for s in stems] == pytest.approx(per_image, rel=1e-9, abs=1e-12)
        for stem in stems:  # the saved outputs are the literal ones
            np.testing.assert_array_equal(cv2.imread(str(base / saved['folders'][k] / f'{stem}.png')), outputs[stem])
    assert saved['output_difference'][1] > 0  # λ=0.5 is not the target
    assert len(set(saved['output_difference'])) == len(lambdas)
    for stem in stems:  # the reference outputs are kept with the λ=1 outputs
        np.testing.assert_array_equal(cv2.imread(str(base / 'lambda_1.00' / f'{stem}.png')), reference[stem])
    table = {line.split()[0]: float(line.split()[1]) for line in res.stdout.splitlines()
             if re.fullmatch(r'\s*[\d.]+\s+[\d.]+', line)}
    assert list(table) == ['0.00', '0.50', '0.501', '0.504', '1.50']
    assert list(table.values()) == pytest.approx(saved['output_difference'], abs=6e-5)


def test_modulation_lambda_one_is_zero_and_reuses_the_reference(sandbox, run_in):
    res = run_in(sandbox, [*MODULATION, '--proportion', '20', '--lambdas', '1', '0.25', '--save_folder', 'out/mod'])
    assert res.returncode == 0, res.stderr[-3000:]
    saved = json.loads(next((sandbox / 'out/mod').glob('*/Modulation-deblur-filter/differences.json')).read_text())
    # recorded along λ, whatever order they were given in
    assert saved['lambdas'] == [0.25, 1.0] and saved['folders'] == ['lambda_0.25', 'lambda_1.00']
    assert saved['output_difference'][1] == 0.0 and saved['output_difference'][0] > 0


@pytest.mark.parametrize('lambdas, shown', [(['0.5', '0.50'], 'λ=0.50'), (['0', '1', '-0'], 'λ=0.00'),
                                            (['0.501', '0.2', '5.01e-1'], 'λ=0.501')])
def test_modulation_refuses_a_lambda_given_twice(sandbox, lambdas, shown, run_in):
    before = snapshot(sandbox)
    line = one_line_error(run_in(sandbox, [*MODULATION, '--lambdas', *lambdas, '--save_folder', 'out/mod']))
    assert line.startswith('error: --lambdas:') and shown in line and 'twice' in line
    assert snapshot(sandbox) == before


def test_lambda_labels_are_exact():
    from faig.cli.analysis import lambda_label
    values = [0.0, -0.0, 0.5, 0.501, 0.504, 0.1 * 3, 0.3, 1.0, 1.5, 1e-7, 2.0 / 3]
    labels = [lambda_label(v) for v in values]
    assert labels[:4] == ['0.00', '0.00', '0.50', '0.501'] and labels[5] == '0.30000000000000004'
    assert labels[6] == '0.30' and labels[7] == '1.00'
    for value, label in zip(values, labels):  # exact: the label gives back the float
        assert float(label) == value
    distinct = {v + 0.0 for v in values}
    assert len({lambda_label(v) for v in distinct}) == len(distinct)


# ---- 3: every flag a parser defines shows in --help ----------------------------------------------------------

SCRIPTS = sorted(osp.relpath(p, REPO) for pattern in ('analysis/tools/*/*.py', 'analysis/scripts/*.py',
                                                       'inference/*.py', 'scripts/*.py', 'train.py')
                 for p in glob.glob(osp.join(REPO, pattern)))
PROBE_FLAG = '--no-such-flag-for-the-probe'
# Runs every script in one process with an unknown flag: every argparse parser it builds records its
# option strings, and the script stops at its final parse_args (unrecognized arguments, or a missing
# required one) before doing any work (checked: argparse itself exited, with status 2). Not --help: a
# script that answered -h early would hide exactly the flags this test looks for.
PROBE = r'''
import argparse, contextlib, io, json, runpy, sys
scripts, out_path, flag = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
added = []
original = argparse._ActionsContainer.add_argument
def recording(self, *args, **kwargs):
    action = original(self, *args, **kwargs)
    added.extend(action.option_strings)
    return action
argparse._ActionsContainer.add_argument = recording
stops = []
original_exit = argparse.ArgumentParser.exit
def stopping(self, status=0, message=None):
    stops.append(status)
    original_exit(self, status, message)
argparse.ArgumentParser.exit = stopping
results = {}
for script in scripts:
    del added[:], stops[:]
    err = io.StringIO()
    sys.argv, code = [script, flag], None
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(script, run_name='__main__')
        except SystemExit as exc:
            code = exc.code
        except Exception as exc:
            code = repr(exc)
    results[script] = {'code': code, 'stderr': err.getvalue(), 'options': sorted(set(added)),
                       'argparse_stop': stops == [2]}
json.dump(results, open(out_path, 'w'))
'''


@pytest.fixture(scope='module')
def defined_options(tmp_path_factory):
    """{script: {'code', 'stderr', 'options'}}: the option strings each script's parsers define."""
    work = tmp_path_factory.mktemp('probe')
    out = work / 'options.json'
    res = run_script(['-c', PROBE, json.dumps([osp.join(REPO, s) for s in SCRIPTS]), str(out), PROBE_FLAG],
                     cwd=str(work))
    assert res.returncode == 0, res.stderr[-3000:]
    return {osp.relpath(k, REPO): v for k, v in json.loads(out.read_text()).items()}


def shows(option, text):
    """``option`` as a whole word of ``text`` (``--net`` is not shown by ``--network_g``)."""
    return re.search(rf'(?<![\w-]){re.escape(option)}(?![\w-])', text) is not None


def test_the_scripts_are_found():
    assert len(SCRIPTS) >= 20 and 'analysis/scripts/filter_modulation.py' in SCRIPTS
    assert 'analysis/scripts/vis_filters_distribution.py' in SCRIPTS and 'inference/inference_srresnet.py' in SCRIPTS


@pytest.mark.parametrize('script', SCRIPTS)
def test_help_lists_every_flag(script, defined_options, in_process):
    probe = defined_options[script]
    if not probe['options'] and not probe['argparse_stop']:
        pytest.skip(f'{script}: not argparse-based (no parser option recorded)')  # none such today
    assert probe['code'] == 2 and probe['argparse_stop'], probe  # stopped at its final parse, no work done
    res = in_process([osp.join(REPO, script), '--help'])
    assert res.returncode == 0 and res.stderr == '', res.stderr[-2000:]
    missing = [option for option in probe['options'] if not shows(option, res.stdout)]
    assert not missing, f'{script} --help does not show {missing}'
    assert len(probe['options']) > 2  # more than -h/--help


def test_help_probe_sees_the_flags_in_the_sources(defined_options):
    """Cross-check of the probe: every literal ``add_argument('--x'`` of the implementing sources is among
    the options the probe recorded (so it records parsers built after a pre-parse too)."""
    sources = glob.glob(osp.join(REPO, 'faig/cli/*.py')) + glob.glob(osp.join(REPO, 'scripts/*.py'))
    sources.remove(osp.join(REPO, 'faig/cli/study.py'))  # `faig study`, no script: tests/test_study.py checks its --help
    literal = set()
    for path in sources:
        literal |= set(re.findall(r"""add_argument\(\s*['"](--[\w-]+)['"]""", open(path).read()))
    recorded = set().union(*(set(v['options']) for v in defined_options.values()))
    assert {'--lambdas', '--proportion', '--blurry_neuron_txt', '--network_g', '--seed'} <= literal
    assert not literal - recorded, sorted(literal - recorded)


def test_modulation_help_shows_the_flags_after_net_and_dataset(in_process):
    res = in_process([osp.join(REPO, 'analysis/scripts/filter_modulation.py'), '--net', 'srcnn_style', '-h'])
    assert res.returncode == 0
    for option in ('--lambdas', '--neuron_txt', '--network_g', '--device', '--net', '--dataset'):
        assert shows(option, res.stdout), option
    assert 'experiments' in res.stdout or 'srcnn_style' in res.stdout  # defaults follow --net


# ---- 4: python -m faig <tool> --network_g without --net ----------------------------------------------------

@pytest.fixture
def run_module(in_process):
    """``run_module(root, *args)``: ``python -m faig *args`` run in ``root``."""
    return lambda root, *args: in_process(['-m', 'faig', *args], cwd=root)


def test_python_m_faig_runs_a_network_given_only_by_network_g(sandbox, run_module):
    """The network is named by its type, lower-cased: msrresnet (its models, its output folders)."""
    shutil.copytree(sandbox / 'experiments/srresnet', sandbox / 'experiments/msrresnet')
    res = run_module(sandbox, 'inference', '--network_g', NET_ARG, '--dataroot', 'datasets/Tiny')
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'experiments/msrresnet/target_model.pth' in res.stdout
    psnr = re.findall(r'Blur2_LRbicx2: PSNR ([\d.]+) dB', res.stdout)
    assert len(psnr) == 1 and 0 < float(psnr[0]) < 100
    assert sorted(os.listdir(sandbox / 'results/Interpret/msrresnet-targetmodel-sr/Blur2_LRbicx2'))[-2:] == [
        'img0.png', 'img1.png']
    # random_neurons: its default filter count is the network's
    res = run_module(sandbox, 'random_neurons', '--network_g', NET_ARG)
    assert res.returncode == 0, res.stderr[-3000:]
    ranking = np.loadtxt(sandbox / 'results/Interpret/neuron-search/msrresnet/SampleSet/random/blur_index.txt')
    num_filters = sum(v.shape[0] * v.shape[1] for v in build_network(NET).state_dict().values() if v.ndim == 4)
    assert sorted(ranking.astype(int)) == list(range(num_filters))
    # another name for it with --net, an unregistered name
    res = run_module(sandbox, 'absolute_filter_change', '--net', 'mine', '--network_g', NET_ARG,
                     '--baseline_model_path', 'experiments/srresnet/baseline_model.pth', '--target_model_path',
                     'experiments/srresnet/target_model.pth')
    assert res.returncode == 0, res.stderr[-3000:]
    assert (sandbox / 'results/Interpret/neuron-search/mine/SampleSet/abs_filter_change/blur_index.txt').is_file()


def test_python_m_faig_gives_a_tool_without_network_g_only_the_name(monkeypatch):
    """A tool whose parser takes no --network_g gets the generic spec (named by the type, lower-cased,
    with the network's filter count for random_neurons) and never the flag."""
    import faig.cli.main as entry
    from faig import specs
    from faig.cli.args import Parser
    monkeypatch.setattr(specs, 'NETWORKS', dict(specs.NETWORKS))  # registrations undone after the test
    monkeypatch.setattr(sys, 'argv', list(sys.argv))  # main() names the tool in sys.argv[0]
    calls = []

    def tool(net, argv):
        parser = Parser(prog='tool')
        parser.add_argument('--seed', default=0)
        args = parser.parse_args(argv)
        calls.append((net, specs.network(net), args))

    monkeypatch.setattr(entry, 'per_network_tools', lambda: {'random_neurons': tool, 'other': tool})
    assert entry.main(['random_neurons', '--network_g', NET_ARG, '--seed', '3']) == 0
    net, spec, args = calls[-1]
    num_filters = sum(v.shape[0] * v.shape[1] for v in build_network(NET).state_dict().values() if v.ndim == 4)
    assert net == 'msrresnet' and args.seed == '3' and spec.num_filters_x2 == num_filters
    assert spec.options(2) == NET and spec.flag_prefix == 'msrresnet'
    assert entry.main(['other', '--net', 'Mine', '--network_g', NET_ARG]) == 0
    assert calls[-1][0] == 'Mine' and calls[-1][1].num_filters_x2 == 0
    assert 'srresnet' in specs.NETWORKS and 'msrresnet' in specs.NETWORKS


def test_python_m_faig_help_and_errors_with_network_g(sandbox, run_module):
    res = run_module(sandbox, 'faig', '--network_g', NET_ARG, '--help')
    assert res.returncode == 0 and shows('--network_g', res.stdout) and shows('--total_step', res.stdout)
    before = snapshot(sandbox)
    line = one_line_error(run_module(sandbox, 'faig'))
    assert line.startswith('error: --net: required') and '--network_g' in line
    line = one_line_error(run_module(sandbox, 'faig', '--net', 'nope'))
    assert line.startswith('error: --net nope: unknown network')
    line = one_line_error(run_module(sandbox, 'faig', '--network_g', '{type: ['))
    assert line.startswith('error: --network_g: not valid YAML')
    line = one_line_error(run_module(sandbox, 'random_neurons', '--network_g', '{"type": "NoSuchArch"}'))
    assert "'NoSuchArch' is not a registered arch" in line
    # the unknown arch is the problem, not the models a network of that name would have had
    line = one_line_error(run_module(sandbox, 'faig', '--network_g', '{"type": "NoSuchArch"}'))
    assert "'NoSuchArch' is not a registered arch" in line
    assert snapshot(sandbox) == before


BILLION_LAUGHS = 'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n' + ''.join(
    f'{b}: &{b} [{", ".join([f"*{a}"] * 9)}]\n' for a, b in zip('abcdefgh', 'bcdefghi')) + 'type: MSRResNet\n'


@pytest.mark.parametrize('content,problem', [
    (b'network_g:\n  type: MSRResNet\n num_feat: [\n', 'not valid YAML ('),
    (b'network_g:\n  type: MSRResNet\n  name: caf\xe9\n', 'not valid YAML (not utf-8 text: byte 0xe9'),
    (BILLION_LAUGHS.encode(), 'not valid YAML (its aliases expand to more than 100000 values; write the values out)'),
    (b'network_g: &n\n  type: MSRResNet\n  again: *n\n', 'not valid YAML (an alias refers to the node that holds it'),
    (b'network_g: !!python/object/apply:os.system ["echo hi"]\n', 'not valid YAML (could not determine a constructor'),
])
def test_network_g_yaml_file_problems_are_one_line(tmp_path, content, problem):
    """A syntax error or a non-UTF-8 byte in a --network_g file gave an UnboundLocalError traceback; an alias
    bomb (a few hundred bytes that expand to billions of values) exhausted memory when the options were walked."""
    from faig.networks import parse_network_option
    path = tmp_path / 'net.yml'
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        parse_network_option(str(path))
    assert str(info.value).startswith(f'{path}: {problem}') and '\n' not in str(info.value), str(info.value)


def test_alias_bombs_are_refused_inline_and_in_option_files(tmp_path):
    from faig.networks import parse_network_option
    from faig.training import check_options
    with pytest.raises(InputError, match='^--network_g: not valid YAML .its aliases expand to more than 100000'):
        parse_network_option(BILLION_LAUGHS)
    (tmp_path / 'train.yml').write_text(BILLION_LAUGHS)
    with pytest.raises(InputError, match='train.yml: not valid YAML .its aliases expand to more than 100000'):
        check_options(str(tmp_path / 'train.yml'))
    # anchors that expand to little are ordinary YAML
    assert parse_network_option('{type: MSRResNet, num_feat: &n 4, num_block: *n}')['num_block'] == 4


# ---- 5: 1-channel (Y) networks on grayscale images ------------------------------------------------------------

def gray_images(folder, shapes, seed):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for i, (h, w) in enumerate(shapes):
        small = rng.uniform(0, 255, size=(2, 2)).astype(np.float32)
        cv2.imwrite(osp.join(folder, f'img{i}.png'), np.clip(cv2.resize(small, (w, h)), 0, 255).astype(np.uint8))


def literal_psnr(out, gt, border):
    a = out[border:-border, border:-border].astype(np.float64)
    b = gt[border:-border, border:-border].astype(np.float64)
    return 10 * math.log10(255.**2 / np.mean((a - b)**2))


def test_one_channel_network_restores_grayscale_images(tmp_path, in_process):
    torch.manual_seed(3)
    net = build_network(GRAY_NET)
    torch.save({'params': net.state_dict()}, tmp_path / 'gray.pth')
    gray_images(str(tmp_path / 'Tiny/GTmod12'), [(16, 20), (12, 12)], 1)
    for folder, seed in (('Blur2_LRbicx2', 2), ('LRbicx2_noise0.1', 3)):
        gray_images(str(tmp_path / 'Tiny' / folder), [(8, 10), (6, 6)], seed)
    res = in_process([osp.join(REPO, 'inference/inference_srresnet.py'), '--network_g', json.dumps(GRAY_NET),
                      '--model_path', 'gray.pth', '--dataroot', 'Tiny', '--save_root', 'out', '--psnr_json',
                      'psnr.json'], cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'gray (Y) images' in res.stdout
    saved = json.loads((tmp_path / 'psnr.json').read_text())['psnr']
    net.eval()
    for folder in ('Blur2_LRbicx2', 'LRbicx2_noise0.1'):
        values = []
        for i in range(2):
            out = cv2.imread(str(tmp_path / 'out' / folder / f'img{i}.png'), cv2.IMREAD_UNCHANGED)
            lr = cv2.imread(str(tmp_path / 'Tiny' / folder / f'img{i}.png'), cv2.IMREAD_UNCHANGED)
            gt = cv2.imread(str(tmp_path / 'Tiny/GTmod12' / f'img{i}.png'), cv2.IMREAD_UNCHANGED)
            assert out.ndim == 2 and out.shape == gt.shape  # a gray PNG of the GT's size
            with torch.no_grad():
                expected = net(torch.from_numpy(lr.astype(np.float32) / 255.)[None, None])[0, 0]
            np.testing.assert_array_equal(out, (expected.clamp(0, 1).numpy() * 255.).round().astype(np.uint8))
            values.append(literal_psnr(out, gt, 2))
        assert saved[folder] == pytest.approx(np.mean(values), rel=1e-9)
        assert 0 < saved[folder] < 100
        shown = re.search(rf'{folder}: PSNR ([\d.]+) dB', res.stdout)
        assert float(shown.group(1)) == pytest.approx(np.mean(values), abs=6e-5)


def test_one_channel_reading_converts_colour_to_y(tmp_path):
    """read_image(channels=1): a gray file as it is, a colour file as its BT.601 Y (BasicSR's
    bgr2ycbcr(y_only=True)); a 3-channel read still refuses a gray file; gradient maps take gray as it is."""
    from faig import compat
    compat.apply()
    from basicsr.utils.color_util import bgr2ycbcr

    from faig.data.image_io import read_image
    from faig.errors import InputError
    from faig.evaluation.gradient_map import gradient_map, image_gradient_map
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'c.png'), colour)
    cv2.imwrite(str(tmp_path / 'g.png'), gray)
    np.testing.assert_array_equal(read_image(str(tmp_path / 'c.png'), float32=False, channels=1),
                                  bgr2ycbcr(colour, y_only=True))
    np.testing.assert_array_equal(read_image(str(tmp_path / 'g.png'), float32=False, channels=1), gray)
    np.testing.assert_allclose(read_image(str(tmp_path / 'g.png'), channels=1), gray / 255., rtol=1e-6)
    with pytest.raises(InputError, match='grayscale'):
        read_image(str(tmp_path / 'g.png'))
    cv2.imwrite(str(tmp_path / 'a.png'), np.dstack([colour, gray]))
    with pytest.raises(InputError, match='alpha'):
        read_image(str(tmp_path / 'a.png'), channels=1)
    np.testing.assert_array_equal(image_gradient_map(gray), gradient_map(gray.astype(np.float32) / 255.))


def test_image_channels_follow_the_network():
    from faig.inference import image_channels, image_to_tensor, tensor_to_image
    assert image_channels(build_network(GRAY_NET)) == (1, 1)
    assert image_channels(build_network(NET)) == (3, 3)
    img = np.random.default_rng(0).random((5, 6), dtype=np.float32)
    tensor = image_to_tensor(img)
    assert tensor.shape == (1, 1, 5, 6) and torch.equal(tensor[0, 0], torch.from_numpy(img))
    back = tensor_to_image(tensor)
    assert back.shape == (5, 6) and np.array_equal(back, (img * 255.).round().astype(np.uint8))
    colour = np.random.default_rng(1).random((5, 6, 3), dtype=np.float32)
    tensor = image_to_tensor(colour)
    assert tensor.shape == (1, 3, 5, 6) and torch.equal(tensor[0, 0], torch.from_numpy(colour[..., 2]))  # RGB
    assert np.array_equal(tensor_to_image(tensor), (colour * 255.).round().astype(np.uint8))  # back to BGR


# ---- 6: checkpoints of nn.Parameter -----------------------------------------------------------------------------

@pytest.mark.parametrize('form', ['named_parameters', 'keep_vars', 'plain_dict'])
def test_load_params_accepts_parameters(tmp_path, form):
    from faig.networks import load_network, load_params
    from faig.store import state_digest
    net = build_network(NET)
    if form == 'named_parameters':
        saved = {'params': dict(net.named_parameters())}
    elif form == 'keep_vars':
        saved = {'params_ema': net.state_dict(keep_vars=True)}
    else:
        saved = dict(net.named_parameters())
    assert all(isinstance(v, torch.nn.Parameter) for v in (saved.get('params') or saved.get('params_ema')
                                                            or saved).values())
    torch.save(saved, tmp_path / 'p.pth')
    params = load_params(str(tmp_path / 'p.pth'))
    reference = net.state_dict()
    assert list(params) == list(reference)
    for name, value in params.items():
        assert type(value) is torch.Tensor and not value.requires_grad
        assert torch.equal(value, reference[name])
    assert state_digest(params) == state_digest(reference)
    loaded = load_network(NET, str(tmp_path / 'p.pth'))
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), reference.values()))


def test_tools_run_on_parameter_checkpoints(tmp_path):
    """absolute_filter_change once failed on them (numpy() of a tensor that requires grad)."""
    from faig.cli.attribution import absolute_filter_change_main
    baseline, target = make_pair(NET, dtype=torch.float32)
    for name, state in (('baseline', baseline), ('target', target)):
        torch.save({'params': {k: torch.nn.Parameter(v) for k, v in state.items()}}, tmp_path / f'{name}.pth')
    absolute_filter_change_main('srresnet', ['--baseline_model_path', str(tmp_path / 'baseline.pth'),
                                             '--target_model_path', str(tmp_path / 'target.pth'),
                                             '--record_filters_folder', str(tmp_path / 'abs')])
    ranking = np.loadtxt(tmp_path / 'abs/blur_index.txt', dtype=int)
    assert sorted(ranking) == list(range(len(ranking))) and len(ranking) > 0


# ---- 7: seeds ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('text, value', [('0', 0), ('7', 7), ('4294967295', 2**32 - 1), (' 12 ', 12)])
def test_seed_int_accepts_numpy_seeds(text, value):
    from faig.cli.args import seed_int
    assert seed_int(text) == value
    np.random.default_rng(seed_int(text))
    np.random.seed(seed_int(text))


@pytest.mark.parametrize('text', ['-1', '4294967296', '1.5', 'x', ''])
def test_seed_int_refuses_what_numpy_cannot_take(text):
    from faig.cli.args import seed_int
    with pytest.raises(argparse.ArgumentTypeError):
        seed_int(text)


def test_seed_flag_error_is_one_line(capsys):
    from faig.cli.args import Parser, seed_int
    parser = Parser(prog='random_neurons.py')
    parser.add_argument('--seed', type=seed_int, default=0)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(['--seed', '-1'])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count('\n') == 1
    assert err.startswith('error: --seed: -1: a seed must be an integer in [0, 4294967295]')
