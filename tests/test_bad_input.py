"""Bad input to the analysis tools, as command lines (each script run as ``__main__`` in the test process: the
exit status, output and files of a subprocess without its seconds of imports): one line
``error: <file or flag>: <problem>``, exit status 2, nothing written. Each case is also a row of
docs/bad_input.md, which ``python tests/test_bad_input.py`` rewrites from this table (paths relative to a sandbox).
"""
import json
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from conftest import REPO, run_script, write_images  # noqa: E402
from test_attribution import TINY_NETS, make_pair  # noqa: E402

NET = TINY_NETS['srresnet']
NET_ARG = json.dumps(NET)
TOOLS = 'analysis/tools/srresnet'
LR = {'blur': 'datasets/Tiny/Blur2_LRbicx2', 'noise': 'datasets/Tiny/LRbicx2_noise0.1',
      'clean': 'datasets/Tiny/Linear_LRbicx2'}
FAIG = [f'{TOOLS}/faig.py', '--network_g', NET_ARG, '--gt_folder', 'datasets/Tiny/GTmod12', '--blur_folder',
        LR['blur'], '--noise_folder', LR['noise'], '--total_step', '2', '--record_filters_folder', 'out/faig']
COMPARISON = [f'{TOOLS}/comparison.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--proportions', '10',
              '--methods', 'random']
MASK = [f'{TOOLS}/mask_neurons.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--methods', 'random']
MODULATION = ['analysis/scripts/filter_modulation.py', '--network_g', NET_ARG, '--dataset', 'Tiny',
              '--neuron_txt', 'rankings/blur_index.txt']
RANDOM_DIR = 'results/Interpret/neuron-search/srresnet/Tiny/random'


def make_sandbox(root):
    """A working folder like the repository's: tiny models at the default paths, a tiny data set, rankings."""
    baseline, target = make_pair(NET, dtype=torch.float32)
    os.makedirs(root / 'experiments' / 'srresnet')
    torch.save({'params_ema': baseline}, root / 'experiments/srresnet/baseline_model.pth')
    torch.save({'params_ema': target}, root / 'experiments/srresnet/target_model.pth')
    write_images(str(root / 'datasets/Tiny/GTmod12'), [(16, 20), (12, 12)], seed=1)
    for folder, seed in zip(LR.values(), (2, 3, 4)):
        write_images(str(root / folder), [(8, 10), (6, 6)], seed=seed)
    num_filters = sum(v.shape[0] * v.shape[1] for v in target.values() if v.ndim == 4)
    ranking = np.random.default_rng(0).permutation(num_filters)
    for folder in ('rankings', RANDOM_DIR):
        os.makedirs(root / folder, exist_ok=True)
        for deg in ('blur', 'noise'):
            np.savetxt(root / folder / f'{deg}_index.txt', ranking, fmt='%d')
    return baseline, target


def nan_checkpoint(root):
    """nan.pth: the target with one NaN weight"""
    state = torch.load(root / 'experiments/srresnet/target_model.pth', weights_only=True)['params_ema']
    state['conv_first.weight'][0, 0, 0, 0] = float('nan')
    torch.save({'params_ema': state}, root / 'nan.pth')


def zero_bytes(root, path):
    """an empty file"""
    open(root / path, 'wb').close()


def short_ranking(root):
    """rankings/blur_index.txt cut to 100 lines"""
    np.savetxt(root / 'rankings/blur_index.txt', np.arange(100), fmt='%d')


def empty_ranking(root):
    """rankings/blur_index.txt emptied (0 bytes)"""
    zero_bytes(root, 'rankings/blur_index.txt')


def short_random_ranking(root):
    """the random noise ranking cut to 100 lines"""
    np.savetxt(root / RANDOM_DIR / 'noise_index.txt', np.arange(100), fmt='%d')


def empty_image(root):
    """Blur2_LRbicx2/img1.png emptied (0 bytes)"""
    zero_bytes(root, f'{LR["blur"]}/img1.png')


def empty_checkpoint(root):
    """empty.pth: 0 bytes"""
    zero_bytes(root, 'empty.pth')


def a_file_in_the_way(root):
    """a file named out"""
    (root / 'out').write_text('a file where the output folder should be')


def no_cuda():
    return torch.cuda.is_available()


# (case, command, expected text in the message, prepare(root) or None, skip-if() or None)
CASES = [
    ('NaN weight (FAIG)', [*FAIG, '--target_model_path', 'nan.pth'], 'non-finite', nan_checkpoint, None),
    ('NaN weight (|θ−θ̄|)', [f'{TOOLS}/absolute_filter_change.py', '--target_model_path', 'nan.pth',
                             '--record_filters_folder', 'out/abs'], 'non-finite', nan_checkpoint, None),
    ('empty index file', [*MODULATION[:-1], 'rankings/blur_index.txt'], 'empty index file', empty_ranking, None),
    ('short index file (mask_neurons)', MASK, 'ranks 100 filters', short_random_ranking, None),
    ('short index file (modulation)', MODULATION, 'ranks 100 filters', short_ranking, None),
    ('negative proportion', [*MASK, '--proportions', '-5'], '--proportions', None, None),
    ('zero proportion', [*MASK, '--proportions', '0'], '(0, 100]', None, None),
    ('proportion over 100', [*MASK, '--proportions', '101'], '(0, 100]', None, None),
    ('λ = nan', [*MODULATION, '--lambdas', '0', 'nan'], 'not a finite number', None, None),
    ('negative modulation proportion', [*MODULATION, '--proportion', '-1'], '--proportion', None, None),
    ('zero-byte image', FAIG, 'empty', empty_image, None),
    ('zero-byte checkpoint', [*FAIG, '--baseline_model_path', 'empty.pth'], 'empty file', empty_checkpoint, None),
    ('--total_step 0', [*FAIG, '--total_step', '0'], '--total_step', None, None),
    ('--total_step -3', [*FAIG, '--total_step', '-3'], '--total_step', None, None),
    ('output folder is a file', [*FAIG[:-1], 'out/faig'], 'is a file', a_file_in_the_way, None),
    ('bad --network_g (unknown keyword)', [*FAIG[:2], '{"type": "MSRResNet", "num_fet": 8}', *FAIG[3:]],
     '--network_g', None, None),
    ('bad --network_g (not YAML)', [*FAIG[:2], '{type: [', *FAIG[3:]], '--network_g', None, None),
    ('--device cuda without a GPU', [*FAIG, '--device', 'cuda'], 'CUDA is not available', None, no_cuda),
    ('--scale 0', [*FAIG, '--scale', '0'], '--scale', None, None),
    ('random --total_neuron_nums 0', [f'{TOOLS}/random_neurons.py', '--total_neuron_nums', '0',
                                      '--record_filters_folder', 'out/random'], '--total_neuron_nums', None, None),
    ('--scale 3 (comparison)', [*COMPARISON, '--scale', '3'], 'times scale 3 does not match', None, None),
    ('--scale 3 (mask_neurons)', [*MASK, '--scale', '3'], 'times scale 3 does not match', None, None),
    ('--scale 3 (modulation)', [*MODULATION, '--scale', '3'], 'times scale 3 does not match', None, None),
    ('--scale 3, preset network (comparison)', [COMPARISON[0], *COMPARISON[3:], '--scale', '3'], 'does not fit',
     None, None),
    ('--net_type of another network', [*COMPARISON, '--net_type', 'srcnn_style'], '--net_type', None, None),
    ('missing ranking', [*COMPARISON, '--methods', 'faig'], 'run it first', None, None),
    ('same degradation twice', [*FAIG, '--deg_b', 'blur'], '--deg_a/--deg_b', None, None),
]


def snapshot(root):
    """Every folder, and every file with its size, mode and modification time, under ``root``."""
    result = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            result[osp.relpath(osp.join(folder, name), root)] = 'folder'
        for name in files:
            path = osp.join(folder, name)
            stat = os.stat(path)
            result[osp.relpath(path, root)] = (stat.st_size, stat.st_mode, stat.st_mtime_ns)
    return result


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp('sandbox')
    make_sandbox(root)
    return root


@pytest.fixture
def sandbox(pristine, tmp_path):
    root = tmp_path / 'work'
    shutil.copytree(pristine, root)
    return root


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(sandbox, in_process, case):
    _, command, expected, prepare, skip = case
    if skip and skip():
        pytest.skip('not applicable on this machine')
    if prepare:
        prepare(sandbox)
    before = snapshot(sandbox)
    res = in_process([osp.join(REPO, command[0]), *command[1:]], cwd=sandbox)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith('error: '), res.stderr[-2000:]
    assert expected in lines[0]
    assert snapshot(sandbox) == before  # nothing written, nothing touched


def test_failed_run_leaves_no_partial_results(sandbox, in_process):
    """A bad image found mid-data-set: no .partial folder, no first-image files, no rankings."""
    write_images(str(sandbox / LR['blur']), [(6, 6)], seed=5, prefix='zz')
    write_images(str(sandbox / LR['noise']), [(6, 6)], seed=6, prefix='zz')
    write_images(str(sandbox / 'datasets/Tiny/GTmod12'), [(12, 14)], seed=7, prefix='zz')  # wrong GT size
    before = snapshot(sandbox)
    res = in_process([osp.join(REPO, FAIG[0]), *FAIG[1:]], cwd=sandbox)
    assert res.returncode == 2 and 'zz0.png' in res.stderr
    assert snapshot(sandbox) == before and not (sandbox / 'out').exists()


def test_resume_is_keyed_on_image_contents(sandbox, in_process):
    """--resume after an image changed (same name) refuses the old partial results."""
    from faig.store import PartialStore
    res = in_process([osp.join(REPO, FAIG[0]), *FAIG[1:]], cwd=sandbox)
    assert res.returncode == 0, res.stderr[-2000:]
    config = json.load(open(sandbox / 'out/faig/meta.json'))
    keep = {k: config[k] for k in config if k not in ('seconds', 'device', 'images', 'max_relative_completeness_error')}
    store = PartialStore(str(sandbox / 'out/faig'), keep, resume=False)  # a killed run's partial folder
    store.put('img0', {'x': np.zeros(1)})
    write_images(str(sandbox / LR['blur']), [(8, 10)], seed=11)  # img0.png replaced, same name
    res = in_process([osp.join(REPO, FAIG[0]), *FAIG[1:], '--resume'], cwd=sandbox)
    assert res.returncode == 2 and 'other settings' in res.stderr and res.stderr.count('\n') == 1
    res = in_process([osp.join(REPO, FAIG[0]), *FAIG[1:], '--force'], cwd=sandbox)  # --force: starts over
    assert res.returncode == 0, res.stderr[-2000:]
    assert not (sandbox / 'out/faig/.partial').exists()
    mode = os.stat(sandbox / 'out/faig/blur_index.txt').st_mode & 0o777
    assert mode == 0o666 & ~current_umask()


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_comparison_not_fooled_by_inference_into_the_same_folder(sandbox, in_process):
    """inference_srresnet.py with another model writes into the comparison's default target-output folder:
    the comparison restores again instead of reusing those outputs (issue: FAIG 1 % 1.2156 -> 0.1372)."""
    metrics = sandbox / 'results/Interpret/metrics/srresnet/Tiny/random_maskdeblurfilter_blur.txt'
    command = [osp.join(REPO, COMPARISON[0]), *COMPARISON[1:]]
    assert in_process(command, cwd=sandbox).returncode == 0
    first = metrics.read_text()
    _, other = make_pair(NET, seed=9, dtype=torch.float32)
    torch.save({'params_ema': other}, sandbox / 'other.pth')
    res = in_process([osp.join(REPO, 'inference/inference_srresnet.py'), '--network_g', NET_ARG, '--model_path',
                      'other.pth', '--dataroot', 'datasets/Tiny'], cwd=sandbox)
    assert res.returncode == 0, res.stderr[-2000:]
    assert in_process(command, cwd=sandbox).returncode == 0
    assert metrics.read_text() == first


def test_gradient_loss_refuses_outputs_of_a_replaced_dataset(sandbox, in_process):
    mask = [osp.join(REPO, MASK[0]), *MASK[1:], '--proportions', '10']
    assert in_process(mask, cwd=sandbox).returncode == 0
    # target outputs for the reference maps
    res = in_process([osp.join(REPO, 'inference/inference_srresnet.py'), '--network_g', NET_ARG, '--dataroot',
                      'datasets/Tiny'], cwd=sandbox)
    assert res.returncode == 0, res.stderr[-2000:]
    gradient = [osp.join(REPO, 'analysis/scripts/generate_gradient_map.py'), '--dataset', 'Tiny']
    assert in_process(gradient, cwd=sandbox).returncode == 0
    loss = [osp.join(REPO, 'analysis/scripts/cal_blur_gradient_loss.py'), '--network_g', NET_ARG, '--dataset', 'Tiny',
            '--methods', 'random', '--proportions', '10',
            '--total_neuron_nums', str(len(np.loadtxt(sandbox / 'rankings/blur_index.txt')))]
    res = in_process(loss, cwd=sandbox)
    assert res.returncode == 0, res.stderr[-2000:]
    # the dataset is replaced: same names, other pictures -> the saved outputs and maps are stale
    write_images(str(sandbox / LR['blur']), [(8, 10), (6, 6)], seed=21)
    res = in_process(loss, cwd=sandbox)
    assert res.returncode == 2 and 'other input images' in res.stderr and res.stderr.count('\n') == 1


def test_gradient_loss_refuses_outputs_of_other_models(sandbox, in_process):
    """The pair swapped after the masking: target outputs of the old target, then (inference run again) masked
    outputs of the old pair beside new target outputs -- each refused, never averaged into a number."""
    mask = [osp.join(REPO, MASK[0]), *MASK[1:], '--proportions', '10']
    inference = [osp.join(REPO, 'inference/inference_srresnet.py'), '--network_g', NET_ARG,
                 '--dataroot', 'datasets/Tiny']
    gradient = [osp.join(REPO, 'analysis/scripts/generate_gradient_map.py'), '--dataset', 'Tiny']
    for command in (mask, inference, gradient):
        assert in_process(command, cwd=sandbox).returncode == 0
    loss = [osp.join(REPO, 'analysis/scripts/cal_blur_gradient_loss.py'), '--network_g', NET_ARG, '--dataset', 'Tiny',
            '--methods', 'random', '--proportions', '10', '--save_folder', 'out/loss',
            '--total_neuron_nums', str(len(np.loadtxt(sandbox / 'rankings/blur_index.txt')))]
    res = in_process(loss, cwd=sandbox)
    assert res.returncode == 0, res.stderr[-2000:]
    first = (sandbox / 'out/loss/random_maskdeblurfilter_blur.txt').read_text()
    _, other = make_pair(NET, seed=9, dtype=torch.float32)
    torch.save({'params_ema': other}, sandbox / 'experiments/srresnet/target_model.pth')
    res = in_process([*loss, '--force'], cwd=sandbox)
    assert res.returncode == 2 and res.stderr.count('\n') == 1, res.stderr[-2000:]
    assert 'srresnet-targetmodel-sr/Blur2_LRbicx2: outputs were made by another network than --target_model_path' \
        in res.stderr
    for command in (inference, gradient):
        assert in_process(command, cwd=sandbox).returncode == 0
    res = in_process([*loss, '--force'], cwd=sandbox)
    assert res.returncode == 2 and res.stderr.count('\n') == 1, res.stderr[-2000:]
    assert 'maskdeblurfilter/Blur2_LRbicx2: outputs were made by another network than the target' in res.stderr
    assert "with the top 10 % of the random ranking's blur filters put back to the baseline" in res.stderr
    assert (sandbox / 'out/loss/random_maskdeblurfilter_blur.txt').read_text() == first  # nothing rewritten
    # masked again with the new pair: accepted
    assert in_process([*mask, '--allow_other_models'], cwd=sandbox).returncode == 0
    assert in_process(gradient, cwd=sandbox).returncode == 0
    res = in_process([*loss, '--force'], cwd=sandbox)
    assert res.returncode == 0, res.stderr[-2000:]


def test_help_and_argument_errors_do_not_import_torch():
    """Parsing and path checks happen before the heavy imports (the --help speed is in docs/benchmarks.md)."""
    code = ('import sys; sys.argv = ["faig.py", "--help"]\n'
            'from faig.cli.attribution import run_tool\n'
            'try:\n    run_tool("faig", "srresnet")\nexcept SystemExit:\n    pass\n'
            'import faig.cli.evaluation, faig.cli.analysis, faig.cli.gradient, faig.cli.inference\n'
            'for call in (lambda: faig.cli.evaluation.comparison_main("srresnet", ["--dataset", "Nope"]),\n'
            '             lambda: faig.cli.attribution.run_tool("ig", "srresnet", ["--bic_folder", "nope"])):\n'
            '    try:\n        call()\n    except SystemExit:\n        pass\n'
            'print("torch" in sys.modules, "basicsr" in sys.modules)')
    res = run_script(['-c', code])
    assert res.stdout.strip().splitlines()[-1] == 'False False', res.stderr[-2000:]


def test_help_of_python_m_faig_with_any_network_imports_neither_torch_nor_basicsr():
    """``--help`` given ``--network_g`` of an arch outside the light imports (EDSR) neither checks the arch
    (all of basicsr) nor counts its filters (torch): it answers at once, as with ``--net``."""
    network_g = '{type: EDSR, num_in_ch: 3, num_out_ch: 3, num_feat: 8, num_block: 1, upscale: 2}'
    code = ('import contextlib, io, sys\n'
            'from faig.cli.main import main\n'
            'helps = []\n'
            f'for argv in ([tool, *net, "--network_g", {network_g!r}, "--help"] for net in ([], ["--net", "mine"])\n'
            '             for tool in ("faig", "ig", "random_neurons", "mask_neurons", "comparison", "inference")):\n'
            '    out = io.StringIO()\n'
            '    with contextlib.redirect_stdout(out):\n'
            '        try:\n            main(argv)\n        except SystemExit:\n            pass\n'
            '    helps.append(out.getvalue().startswith(f"usage: python -m faig {argv[0]} "))\n'
            'print(all(helps), len(helps), "torch" in sys.modules, "basicsr" in sys.modules)')
    res = run_script(['-c', code])
    assert res.stdout.strip().splitlines()[-1] == 'True 12 False False', res.stderr[-2000:]


def write_doc(path):
    """docs/bad_input.md from CASES: each command run in a fresh sandbox, its message recorded."""
    import tempfile
    from pathlib import Path
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pristine = Path(tmp) / 'pristine'
        pristine.mkdir()
        make_sandbox(pristine)
        for name, command, _, prepare, skip in CASES:
            if skip and skip():
                continue
            work = Path(tmp) / 'work'
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(pristine, work)
            if prepare:
                prepare(work)
            res = run_script([osp.join(REPO, command[0]), *command[1:]], cwd=work)
            shown = ' '.join(a if ' ' not in a and '{' not in a else f"'{a}'" for a in command)
            message = res.stderr.strip().replace(str(work) + '/', '')
            before = prepare.__doc__ if prepare else ''
            rows.append(f'| {name} | {before} | `python {shown}` | `{message}` (exit {res.returncode}) |'.replace(
                '|θ−θ̄|', '\\|θ−θ̄\\|'))
    text = ['# Bad input: what each tool answers', '',
            'Every case below is a test in `tests/test_bad_input.py` (the command line run in the test process; '
            'exit status 2, one line, nothing written). Commands run in a sandbox holding tiny models at '
            '`experiments/srresnet/`, a data set at `datasets/Tiny` and a ranking at `rankings/`; `NET` stands for '
            'the tiny network\'s '
            f'`--network_g` ({NET_ARG}). Regenerate with `python tests/test_bad_input.py`. Data and training '
            'cases are in `tests/test_bad_input_data.py` and listed after the table.', '',
            '| case | made before the command | command | message |', '|---|---|---|---|', *rows, '']
    kept = ''  # the hand-written section on the data and training tools is kept as it is
    if osp.isfile(path) and DATA_SECTION in open(path).read():
        kept = DATA_SECTION + open(path).read().split(DATA_SECTION, 1)[1]
    Path(path).write_text('\n'.join(text).replace(f"'{NET_ARG}'", 'NET') + '\n' + kept)


DATA_SECTION = '## Data and training tools'



if __name__ == '__main__':
    import faig
    faig.register()
    write_doc(osp.join(REPO, 'docs', 'bad_input.md'))
