"""No tool destroys its inputs, mixes runs, uses a ranking with other models, reports meaningless
results, or loses work on a fault (faig.store). The command lines run as ``__main__`` in the test process
(``tool``; a real subprocess where another process matters: locks); fault injection in-process. Each case is a
row of docs/bad_input.md ("Reliability")."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from conftest import REPO, run_script  # noqa: E402
from test_bad_input import FAIG, NET_ARG, RANDOM_DIR, TOOLS, pristine, sandbox  # noqa: E402,F401  (fixtures)
from test_attribution import TINY_NETS, make_pair  # noqa: E402

COMPARISON = [f'{TOOLS}/comparison.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--proportions', '10']




def run(sandbox, args):
    return run_script([osp.join(REPO, args[0]), *args[1:]], cwd=sandbox)


def listing(root):
    """{relative path: bytes} of every file under ``root`` (to show nothing changed)."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def one_error(res, *needles):
    lines = [line for line in res.stderr.strip().splitlines() if line.strip()]
    assert res.returncode == 2, res.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith('error: '), res.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def faig_run(sandbox, *extra, out='out/faig'):
    args = [a if a != 'out/faig' else out for a in FAIG]
    return run(sandbox, [*args, *extra])


@pytest.fixture
def tool(in_process):
    """``tool(sandbox, args)``: ``run`` in the test process."""
    return lambda sandbox, args: in_process([osp.join(REPO, args[0]), *args[1:]], cwd=sandbox)


@pytest.fixture
def faig_tool(tool):
    """``faig_tool(sandbox, *extra, out='out/faig')``: ``faig_run`` in the test process."""
    return lambda sandbox, *extra, out='out/faig': tool(sandbox, [*(a if a != 'out/faig' else out for a in FAIG),
                                                                  *extra])


def random_ranking_for_models(sandbox):
    """The sandbox's random ranking (no model record): usable with any model."""
    return osp.join(sandbox, RANDOM_DIR)


# ---- inputs are never written over ------------------------------------------------------------

def test_comparison_target_outputs_into_the_data_set_are_refused(sandbox, tool):
    before = listing(sandbox / 'datasets')
    res = tool(sandbox, [*COMPARISON, '--methods', 'random', '--target_model_output_root', 'datasets/Tiny'])
    one_error(res, 'datasets/Tiny', '--target_model_output_root')
    assert listing(sandbox / 'datasets') == before


def test_output_folder_reached_through_a_symlink_or_dotdot_is_refused(sandbox, faig_tool):
    os.symlink(sandbox / 'datasets/Tiny/Blur2_LRbicx2', sandbox / 'link')
    before = listing(sandbox / 'datasets')
    for out in ('link', 'out/../datasets/Tiny/Blur2_LRbicx2/sub'):
        one_error(faig_tool(sandbox, out=out), '--record_filters_folder')
    assert listing(sandbox / 'datasets') == before


def test_masked_outputs_inside_an_input_folder_are_refused(sandbox, tool):
    before = listing(sandbox / 'datasets')
    res = tool(sandbox, [f'{TOOLS}/mask_neurons.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--methods',
                         'random', '--proportions', '10', '--srresnet_mask_save_folder',
                         'datasets/Tiny/LRbicx2_noise0.1/m'])
    one_error(res, '--srresnet_mask_save_folder')  # the tool's own flag
    assert listing(sandbox / 'datasets') == before


# ---- one writer per folder; other runs' results are kept ---------------------------------------------

def _live_lock(sandbox, folder):
    """Another process holding the folder's lock, as a concurrent run does."""
    code = ('import sys, time; sys.argv = ["faig.py (the other run)"]; from faig.store import FolderLock; '
            f'FolderLock({str(sandbox / folder)!r}).acquire(); print("held", flush=True); time.sleep(60)')
    child = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == 'held'
    return child


def test_the_lock_is_exclusive_under_a_race(tmp_path):
    """Six processes start together on one folder: exactly one holds the lock."""
    code = ('import sys, time; from faig.store import FolderLock; from faig.errors import InputError\n'
            'time.sleep(max(0, float(sys.argv[2]) - time.time()))\n'
            'try:\n    FolderLock(sys.argv[1]).acquire(); print("held", flush=True); time.sleep(3)\n'
            'except InputError:\n    print("refused", flush=True)')
    start = str(__import__('time').time() + 2)
    procs = [subprocess.Popen([sys.executable, '-c', code, str(tmp_path / 'f'), start], stdout=subprocess.PIPE,
                              text=True) for _ in range(6)]
    answers = [p.communicate()[0].strip() for p in procs]
    assert sorted(answers) == ['held'] + ['refused'] * 5


def test_a_second_writer_is_refused_while_the_first_runs(sandbox, faig_tool):
    child = _live_lock(sandbox, 'out/faig')  # another process
    try:
        one_error(faig_tool(sandbox), 'out/faig', 'in use by another run', f'pid {child.pid}', 'the other run')
        assert sorted(os.listdir(sandbox / 'out/faig')) == ['.lock']  # nothing written, the lock untouched
    finally:
        child.kill()
        child.wait()
    res = faig_tool(sandbox)  # the holder was killed: its lock is taken over with a notice
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'taking over the lock of a run that is no longer running' in res.stderr
    assert not (sandbox / 'out/faig/.lock').exists()  # released at the end


def test_a_rerun_with_other_settings_needs_force(sandbox, faig_tool):
    assert faig_tool(sandbox).returncode == 0
    first = listing(sandbox / 'out/faig')
    one_error(faig_tool(sandbox, '--total_step', '3'), 'out/faig', 'another run', 'total_step: 2 before, 3 now',
              '--force')
    assert listing(sandbox / 'out/faig') == first
    res = faig_tool(sandbox, '--total_step', '3', '--force')
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.load(open(sandbox / 'out/faig/meta.json'))['total_step'] == 3
    res = faig_tool(sandbox, '--total_step', '3', '--resume')  # the same settings: nothing to do
    assert res.returncode == 0 and 'nothing to do' in res.stdout


def test_partial_results_are_not_dropped_without_resume_or_force(sandbox, faig_tool):
    from faig.store import PartialStore
    assert faig_tool(sandbox).returncode == 0
    config = json.load(open(sandbox / 'out/faig/meta.json'))
    config = {k: v for k, v in config.items() if k not in ('run_key', 'seconds', 'device', 'images', 'ranks',
                                                             'filter_space', 'max_relative_completeness_error', 'files')}
    from faig.attribution.pipeline import PARTIAL_FORMAT
    config['partial_format'] = PARTIAL_FORMAT  # as the pipeline records its partial results
    store = PartialStore(str(sandbox / 'out/faig'), config, resume=True)
    store.put('img0', {'x': np.zeros(1)})
    one_error(faig_tool(sandbox), '.partial', '1 image(s) finished', '--resume')
    assert (sandbox / 'out/faig/.partial/img0.npz').exists()


def test_results_of_an_unknown_run_need_force(sandbox, faig_tool):
    os.makedirs(sandbox / 'out/faig')
    np.savetxt(sandbox / 'out/faig/blur_index.txt', np.arange(5), fmt='%d')  # no meta.json: origin unknown
    one_error(faig_tool(sandbox), 'out/faig', 'recorded no settings')
    assert faig_tool(sandbox, '--force').returncode == 0


def test_files_a_write_would_remove_mark_earlier_results(sandbox, tool, faig_tool):
    """Index files of other degradations (the original's, without a meta.json) would be removed by the new
    set: they too need --force. So does a metrics folder holding only the original's txt files."""
    os.makedirs(sandbox / 'out/faig')
    np.savetxt(sandbox / 'out/faig/jpeg_index.txt', np.arange(5), fmt='%d')
    one_error(faig_tool(sandbox), 'out/faig', 'recorded no settings', '--force')
    assert sorted(os.listdir(sandbox / 'out/faig')) == ['jpeg_index.txt']
    metrics = sandbox / 'results/Interpret/metrics/srresnet/Tiny'
    os.makedirs(metrics)
    (metrics / 'faig_maskdeblurfilter_Blur2_LRbicx2.txt').write_text('0.5\n')
    one_error(tool(sandbox, [*COMPARISON, '--methods', 'random']), 'metrics/srresnet/Tiny', 'recorded no settings')
    assert sorted(os.listdir(metrics)) == ['faig_maskdeblurfilter_Blur2_LRbicx2.txt']


def test_resume_computes_again_what_was_removed(sandbox, faig_tool):
    """A folder whose record matches but whose index file is gone is not 'up to date'."""
    assert faig_tool(sandbox).returncode == 0
    first = (sandbox / 'out/faig/noise_index.txt').read_bytes()
    os.remove(sandbox / 'out/faig/noise_index.txt')
    res = faig_tool(sandbox, '--resume')
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'nothing to do' not in res.stdout
    assert (sandbox / 'out/faig/noise_index.txt').read_bytes() == first


# ---- rankings are used only with their own models --------------------------------------------------

def _faig_ranking_in_default_place(tool, sandbox):
    res = tool(sandbox, [*FAIG[:-2], '--record_filters_folder', 'results/Interpret/neuron-search/srresnet/Tiny/faig'])
    assert res.returncode == 0, res.stderr[-2000:]


def _other_target(sandbox):
    _, other = make_pair(TINY_NETS['srresnet'], seed=7, dtype=torch.float32)
    torch.save({'params_ema': other}, sandbox / 'other.pth')


def test_comparison_refuses_a_ranking_of_other_models_unless_allowed(sandbox, tool):
    _faig_ranking_in_default_place(tool, sandbox)
    _other_target(sandbox)
    res = tool(sandbox, [*COMPARISON, '--methods', 'faig', '--target_model_path', 'other.pth'])
    one_error(res, 'faig/meta.json', 'other models', 'target model', '--allow_other_models')
    assert not (sandbox / 'results/Interpret/masking').exists()
    assert not (sandbox / 'results/Interpret/metrics').exists()
    res = tool(sandbox, [*COMPARISON, '--methods', 'faig', '--target_model_path', 'other.pth', '--allow_other_models'])
    assert res.returncode == 0, res.stderr[-2000:]
    assert '--allow_other_models' in res.stdout
    meta = json.load(open(sandbox / 'results/Interpret/metrics/srresnet/Tiny/meta.json'))
    assert 'target model' in ' '.join(meta['other_models_allowed']['faig'])


def test_mask_neurons_refuses_a_ranking_of_other_models(sandbox, tool):
    _faig_ranking_in_default_place(tool, sandbox)
    _other_target(sandbox)
    res = tool(sandbox, [f'{TOOLS}/mask_neurons.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--methods', 'faig',
                         '--proportions', '10', '--target_model_path', 'other.pth'])
    one_error(res, 'other models')
    assert not (sandbox / 'results/Interpret/masking').exists()
    res = tool(sandbox, [f'{TOOLS}/mask_neurons.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--methods', 'faig',
                         '--proportions', '10', '--target_model_path', 'other.pth', '--allow_other_models'])
    assert res.returncode == 0, res.stderr[-2000:]
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith('note: ') and '--allow_other_models' in last and 'target model' in last


def test_comparison_rerun_with_another_model_keeps_the_earlier_metrics_without_force(sandbox, tool):
    assert tool(sandbox, [*COMPARISON, '--methods', 'random']).returncode == 0
    metrics = sandbox / 'results/Interpret/metrics/srresnet/Tiny'
    before = listing(metrics)
    _other_target(sandbox)
    res = tool(sandbox, [*COMPARISON, '--methods', 'random', '--target_model_path', 'other.pth'])
    one_error(res, 'metrics/srresnet/Tiny', 'another run', '--force')
    assert listing(metrics) == before


# ---- meaningless work is refused ---------------------------------------------------------------

def test_target_equal_to_baseline_is_refused_by_every_tool(sandbox, tool, faig_tool):
    base = 'experiments/srresnet/baseline_model.pth'
    one_error(faig_tool(sandbox, '--target_model_path', base), 'identical to those of the baseline')
    one_error(tool(sandbox, [f'{TOOLS}/absolute_filter_change.py', '--target_model_path', base,
                             '--record_filters_folder', 'out/abs']), 'identical')
    one_error(tool(sandbox, [*COMPARISON, '--methods', 'random', '--target_model_path', base]), 'identical')
    assert not (sandbox / 'out').exists()


def test_a_proportion_that_selects_no_filter_is_refused(sandbox, tool):
    res = tool(sandbox, [*COMPARISON[:-2], '--proportions', '0.5', '--methods', 'random'])  # 0.5 % of 136 -> 0
    one_error(res, '--proportions', 'selects none')
    assert not (sandbox / 'results/Interpret/masking').exists()


# ---- outputs are filed under the network and data set actually used ---------------------------------

def test_default_rankings_folder_names_the_arch_and_the_data_set_used(sandbox, tool):
    import shutil
    shutil.copytree(sandbox / 'datasets/Tiny', sandbox / 'datasets/Other')
    edsr = TINY_NETS['edsr']
    baseline, target = make_pair(edsr, dtype=torch.float32)
    torch.save({'params_ema': baseline}, sandbox / 'eb.pth')
    torch.save({'params_ema': target}, sandbox / 'et.pth')
    res = tool(sandbox, [f'{TOOLS}/faig.py', '--network_g', json.dumps(edsr), '--baseline_model_path', 'eb.pth',
                         '--target_model_path', 'et.pth', '--gt_folder', 'datasets/Other/GTmod12', '--blur_folder',
                         'datasets/Other/Blur2_LRbicx2', '--noise_folder', 'datasets/Other/LRbicx2_noise0.1',
                         '--total_step', '2'])
    assert res.returncode == 0, res.stderr[-2000:]
    assert (sandbox / 'results/Interpret/neuron-search/edsr/Other/faig/blur_index.txt').is_file()
    assert not (sandbox / 'results/Interpret/neuron-search/srresnet/Other').exists()


def test_random_neurons_counts_the_filters_of_network_g(sandbox, tool):
    edsr = TINY_NETS['edsr']
    res = tool(sandbox, [f'{TOOLS}/random_neurons.py', '--network_g', json.dumps(edsr), '--record_filters_folder',
                         'out/r'])
    assert res.returncode == 0, res.stderr[-2000:]
    from faig.attribution.filters import FilterSpace
    from faig.networks import build_network
    n = FilterSpace(build_network(edsr).state_dict()).num_filters
    assert len(np.loadtxt(sandbox / 'out/r/blur_index.txt')) == n
    one_error(tool(sandbox, [f'{TOOLS}/random_neurons.py', '--seed', '-1', '--record_filters_folder', 'out/r2']),
              '--seed')


# ---- faults: work survives, final files land together, corrupt state is set aside -----------------------

def faig_in_process(sandbox, monkeypatch, *extra):
    """faig.py in this process (for fault injection); returns the exit status."""
    from faig.cli.attribution import faig_main
    monkeypatch.chdir(sandbox)
    try:
        faig_main('srresnet', [*FAIG[1:], *extra])
    except SystemExit as exc:
        return exc.code
    return 0


def test_disk_full_during_per_image_writes_keeps_finished_images(sandbox, monkeypatch):
    import faig.files as runner
    from faig.data.image_io import write_bytes as real_write
    from faig.errors import InputError
    calls = []

    def full_disk(path, data):
        if path.endswith('.npz') and '.partial' in path:
            calls.append(path)
            if len(calls) == 2:
                raise InputError(f'{path}: cannot write (No space left on device)')
        return real_write(path, data)

    monkeypatch.setattr(runner, 'write_bytes', full_disk)
    assert faig_in_process(sandbox, monkeypatch) == 2
    partial = sandbox / 'out/faig/.partial'
    assert sorted(os.listdir(partial)) == ['config.json', 'img0.npz']
    monkeypatch.setattr(runner, 'write_bytes', real_write)
    computed = []
    from faig.attribution.methods import FAIG
    real_attribute = FAIG.attribute
    monkeypatch.setattr(FAIG, 'attribute', lambda *a, **k: computed.append(1) or real_attribute(*a, **k))
    assert faig_in_process(sandbox, monkeypatch, '--resume') == 0
    assert len(computed) == 1  # only the image that was not finished
    assert not partial.exists()


def test_a_failed_final_write_keeps_the_previous_set_and_the_partial_results(sandbox, monkeypatch):
    import faig.files as files
    from faig.errors import InputError
    assert faig_in_process(sandbox, monkeypatch) == 0
    before = listing(sandbox / 'out/faig')
    real_write = files.write_bytes

    def full_at_the_end(path, data):
        if 'per_image_scores' in path:
            raise InputError(f'{path}: cannot write (No space left on device)')
        return real_write(path, data)

    monkeypatch.setattr(files, 'write_bytes', full_at_the_end)
    assert faig_in_process(sandbox, monkeypatch, '--total_step', '3', '--force') == 2
    after = listing(sandbox / 'out/faig')
    assert {k: v for k, v in after.items() if not k.startswith('.partial')} == before  # old set, no temporaries
    assert any(k.startswith('.partial/') and k.endswith('.npz') for k in after)
    monkeypatch.setattr(files, 'write_bytes', real_write)
    assert faig_in_process(sandbox, monkeypatch, '--total_step', '3', '--force', '--resume') == 0
    assert json.load(open(sandbox / 'out/faig/meta.json'))['total_step'] == 3


def test_a_commit_interrupted_after_its_journal_is_finished_by_the_next_writer(tmp_path):
    from faig.store import JOURNAL, TMP_PREFIX, FolderLock, commit_files
    commit_files(str(tmp_path), {'a.txt': b'old a', 'b.txt': b'old b'})
    (tmp_path / (TMP_PREFIX + 'b.txt')).write_bytes(b'new b')  # a.txt was renamed already, b.txt not yet
    (tmp_path / 'a.txt').write_bytes(b'new a')
    (tmp_path / JOURNAL).write_text(json.dumps({'files': ['a.txt', 'b.txt']}))
    with FolderLock(str(tmp_path)):
        pass
    assert (tmp_path / 'a.txt').read_bytes() == b'new a' and (tmp_path / 'b.txt').read_bytes() == b'new b'
    assert sorted(os.listdir(tmp_path)) == ['a.txt', 'b.txt']
    (tmp_path / (TMP_PREFIX + 'a.txt')).write_bytes(b'half')  # interrupted before its journal: dropped
    with FolderLock(str(tmp_path)):
        pass
    assert (tmp_path / 'a.txt').read_bytes() == b'new a' and sorted(os.listdir(tmp_path)) == ['a.txt', 'b.txt']


@pytest.mark.parametrize('damage', ['config', 'npz'])
def test_corrupt_partial_state_is_set_aside_not_fatal(sandbox, monkeypatch, capsys, damage):
    import faig.files as runner
    from faig.data.image_io import write_bytes as real_write

    def stop_after_first(path, data):
        real_write(path, data)
        if path.endswith('img0.npz'):
            raise KeyboardInterrupt  # the session ends after one image

    monkeypatch.setattr(runner, 'write_bytes', stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        faig_in_process(sandbox, monkeypatch)
    monkeypatch.setattr(runner, 'write_bytes', real_write)
    partial = sandbox / 'out/faig/.partial'
    (partial / ('config.json' if damage == 'config' else 'img0.npz')).write_bytes(b'{"trunc')
    assert faig_in_process(sandbox, monkeypatch, '--resume') == 0
    assert 'set aside' in capsys.readouterr().err  # one notice; the run went on
    if damage == 'config':  # kept for inspection, out of the way
        assert any('corrupt' in n for n in os.listdir(sandbox / 'out/faig'))
    assert (sandbox / 'out/faig/blur_index.txt').is_file()


def test_a_stamp_that_is_not_a_record_is_set_aside(tmp_path, capsys):
    from faig.store import STAMP, StampedFolder
    (tmp_path / STAMP).write_text('[]')
    folder = StampedFolder(str(tmp_path), {'k': 1})
    assert not folder.fresh(['x'])
    assert 'set aside' in capsys.readouterr().err
    assert not (tmp_path / STAMP).exists()


def test_inference_into_the_data_set_is_refused(sandbox, tool):
    before = listing(sandbox / 'datasets')
    for save_root in ('datasets/Tiny', 'datasets/Tiny/Blur2_LRbicx2/..', 'datasets/Tiny/GTmod12/sr'):
        res = tool(sandbox, ['inference/inference_srresnet.py', '--network_g', NET_ARG, '--dataroot', 'datasets/Tiny',
                             '--folders', 'Blur2_LRbicx2', '--save_root', save_root])
        one_error(res, '--save_root')
    assert listing(sandbox / 'datasets') == before


def test_two_images_with_one_stem_are_refused(sandbox, faig_tool):
    import shutil
    for folder in ('GTmod12', 'Blur2_LRbicx2', 'LRbicx2_noise0.1'):
        shutil.copy(sandbox / f'datasets/Tiny/{folder}/img0.png', sandbox / f'datasets/Tiny/{folder}/img0.bmp')
    one_error(faig_tool(sandbox), 'img0', 'same name')
    assert not (sandbox / 'out').exists()


def test_modulation_refuses_a_ranking_of_other_models_and_reruns_need_force(sandbox, tool):
    _faig_ranking_in_default_place(tool, sandbox)
    _other_target(sandbox)
    mod = ['analysis/scripts/filter_modulation.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--lambdas', '0', '1']
    one_error(tool(sandbox, [*mod, '--target_model_path', 'other.pth']), 'other models', '--allow_other_models')
    assert not (sandbox / 'results/Interpret/modulation').exists()
    res = tool(sandbox, mod)
    assert res.returncode == 0, res.stderr[-2000:]
    one_error(tool(sandbox, [*mod[:-2], '0', '0.5']), 'another run', 'lambdas', '--force')
    assert tool(sandbox, [*mod[:-2], '0', '0.5', '--force']).returncode == 0
    one_error(tool(sandbox, [*mod, '--save_folder', 'datasets/Tiny/mod']), '--save_folder', 'data set')


def test_distribution_refuses_a_ranking_of_other_models(sandbox, tool):
    _faig_ranking_in_default_place(tool, sandbox)
    _other_target(sandbox)
    dist = ['analysis/scripts/vis_filters_distribution.py', '--dataset', 'Tiny', '--save_path', 'out/d.png']
    one_error(tool(sandbox, [*dist, '--target_model_path', 'other.pth']), 'other models')
    res = tool(sandbox, [*dist, '--target_model_path', 'other.pth', '--allow_other_models'])
    assert res.returncode == 0 and 'warning' in res.stdout, res.stderr[-2000:]
    from PIL import Image
    comment = Image.open(sandbox / 'out' / 'd.png').text.get('Comment', '')  # recorded in the figure itself
    assert '--allow_other_models' in comment and 'target model' in comment
    assert tool(sandbox, [*dist, '--save_path', 'out/e.png']).returncode == 0
    assert 'Comment' not in Image.open(sandbox / 'out' / 'e.png').text  # its own models: nothing to say
    one_error(tool(sandbox, [*dist, '--proportion', '0.5']), '--proportion', 'selects none')


def test_one_channel_network_through_faig_and_the_comparison(sandbox, tool):
    """A Y-channel network (num_in_ch = num_out_ch = 1): colour files are read as their Y, gray as they are."""
    y_net = {**TINY_NETS['srresnet'], 'num_in_ch': 1, 'num_out_ch': 1}
    baseline, target = make_pair(y_net, dtype=torch.float32)
    torch.save({'params_ema': baseline}, sandbox / 'yb.pth')
    torch.save({'params_ema': target}, sandbox / 'yt.pth')
    models = ['--network_g', json.dumps(y_net), '--baseline_model_path', 'yb.pth', '--target_model_path', 'yt.pth']
    faig = [a for a in FAIG if a not in ('--network_g', NET_ARG)]
    res = tool(sandbox, [*faig[:-2], *models, '--record_filters_folder',
                         'results/Interpret/neuron-search/srresnet/Tiny/faig'])
    assert res.returncode == 0, res.stderr[-2000:]
    scores = np.load(sandbox / 'results/Interpret/neuron-search/srresnet/Tiny/faig/blur_scores.npy')
    assert np.isfinite(scores).all() and np.abs(scores).max() > 0
    res = tool(sandbox, [f'{TOOLS}/comparison.py', *models, '--dataset', 'Tiny', '--proportions', '10', '--methods',
                         'faig'])
    assert res.returncode == 0, res.stderr[-2000:]
    import cv2
    out = next((sandbox / 'results/Interpret/masking/srresnet/Tiny/faig').rglob('*.png'))
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).ndim == 2  # gray outputs


# ---- cases found by the review of this change -----------------------------------------------------

def test_no_output_file_can_be_an_input_file(sandbox, tool, faig_tool):
    before = listing(sandbox)
    model = 'experiments/srresnet/target_model.pth'
    one_error(tool(sandbox, ['inference/inference_srresnet.py', '--network_g', NET_ARG, '--model_path', model,
                             '--dataroot', 'datasets/Tiny', '--save_root', 'out/inf', '--psnr_json', model]),
              '--psnr_json', '--model_path')
    for save in (model, 'rankings/blur_index.txt', 'datasets/Tiny/GTmod12/img0.png'):
        one_error(tool(sandbox, ['analysis/scripts/vis_filters_distribution.py', '--dataset', 'Tiny',
                                 '--blurry_neuron_txt', 'rankings/blur_index.txt', '--noisy_neuron_txt',
                                 'rankings/noise_index.txt', '--save_path', save]), save)
    one_error(faig_tool(sandbox, out='experiments/srresnet'), '--record_filters_folder', 'model_path')
    one_error(tool(sandbox, [f'{TOOLS}/random_neurons.py', '--record_filters_folder', 'datasets/Tiny/GTmod12']),
              'data set')
    one_error(tool(sandbox, [f'{TOOLS}/mask_neurons.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--methods',
                             'random', '--proportions', '10', '--srresnet_mask_save_folder',
                             'results/Interpret/neuron-search/srresnet']), 'ranking of random')
    assert listing(sandbox) == before


def test_outputs_through_a_symlinked_subfolder_into_the_inputs_are_refused(sandbox, tool):
    os.makedirs(sandbox / 'tout')
    os.symlink(sandbox / 'datasets/Tiny/Blur2_LRbicx2', sandbox / 'tout/Blur2_LRbicx2')
    before = listing(sandbox / 'datasets')
    one_error(tool(sandbox, [*COMPARISON, '--methods', 'random', '--target_model_output_root', 'tout']),
              'folder of their inputs')
    assert listing(sandbox / 'datasets') == before


def test_generate_lr_refuses_a_negative_seed_and_outputs_inside_the_gt(sandbox, tool):
    base = ['scripts/generate_lr.py', '--ori_folder', 'datasets/Tiny/GTmod12']
    one_error(tool(sandbox, [*base, '--seed', '-1', '--save_blur_folder', 'out/b']), '--seed')
    one_error(tool(sandbox, [*base, '--save_blur_folder', 'datasets/Tiny/GTmod12/b']), 'inside the GT folder')
    assert not (sandbox / 'out').exists() and not (sandbox / 'datasets/Tiny/GTmod12/b').exists()


def test_gradient_loss_does_not_write_over_the_comparison(sandbox, tool):
    assert tool(sandbox, [*COMPARISON, '--methods', 'random']).returncode == 0
    metrics = sandbox / 'results/Interpret/metrics/srresnet/Tiny'
    before = listing(metrics)
    assert tool(sandbox, ['inference/inference_srresnet.py', '--network_g', NET_ARG, '--dataroot',
                          'datasets/Tiny']).returncode == 0
    assert tool(sandbox, ['analysis/scripts/generate_gradient_map.py', '--dataset', 'Tiny']).returncode == 0
    res = tool(sandbox, ['analysis/scripts/cal_blur_gradient_loss.py', '--network_g', NET_ARG, '--dataset', 'Tiny',
                         '--methods', 'random',
                         '--proportions', '10', '--total_neuron_nums', '136'])
    assert res.returncode == 0, res.stderr[-2000:]
    after = listing(metrics)
    assert {k: v for k, v in after.items() if not k.startswith('gradient_loss_gray/')} == before
    assert 'gradient_loss_gray/random_maskdeblurfilter_blur.txt' in after


def test_a_new_set_of_results_removes_the_files_of_the_old_one(sandbox, tool, faig_tool):
    assert faig_tool(sandbox).returncode == 0
    assert (sandbox / 'out/faig/per_image_scores.npz').exists()
    res = tool(sandbox, [f'{TOOLS}/random_neurons.py', '--network_g', NET_ARG, '--record_filters_folder', 'out/faig',
                         '--force'])
    assert res.returncode == 0, res.stderr[-2000:]
    assert sorted(os.listdir(sandbox / 'out/faig')) == ['blur_index.txt', 'meta.json', 'noise_index.txt']


def test_an_unreadable_ranking_record_is_refused_and_left_in_place(sandbox, tool):
    (sandbox / 'rankings/meta.json').write_text('{broken')
    dist = ['analysis/scripts/vis_filters_distribution.py', '--dataset', 'Tiny', '--blurry_neuron_txt',
            'rankings/blur_index.txt', '--noisy_neuron_txt', 'rankings/noise_index.txt', '--save_path', 'out/d.png']
    one_error(tool(sandbox, dist), 'rankings/meta.json', 'not readable')
    assert (sandbox / 'rankings/meta.json').read_text() == '{broken'
    assert tool(sandbox, [*dist, '--allow_other_models']).returncode == 0


def test_resume_continues_a_stopped_force_run(sandbox, monkeypatch):
    import faig.files as runner
    from faig.data.image_io import write_bytes as real_write
    assert faig_in_process(sandbox, monkeypatch) == 0  # results of 2 steps

    def stop_after_first(path, data):
        real_write(path, data)
        if path.endswith('img0.npz'):
            raise KeyboardInterrupt

    monkeypatch.setattr(runner, 'write_bytes', stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        faig_in_process(sandbox, monkeypatch, '--total_step', '3', '--force')
    monkeypatch.setattr(runner, 'write_bytes', real_write)
    assert faig_in_process(sandbox, monkeypatch, '--total_step', '3', '--resume') == 0
    assert json.load(open(sandbox / 'out/faig/meta.json'))['total_step'] == 3


def test_modulation_refuses_filters_that_did_not_change(sandbox, tool):
    base = torch.load(sandbox / 'experiments/srresnet/baseline_model.pth', weights_only=True)['params_ema']
    target = {k: v.clone() for k, v in base.items()}
    target['conv_last.weight'] += 0.1  # only the last layer changed
    torch.save({'params_ema': target}, sandbox / 'last.pth')
    np.savetxt(sandbox / 'first.txt', np.arange(136), fmt='%d')  # the top filters sit in conv_first
    res = tool(sandbox, ['analysis/scripts/filter_modulation.py', '--network_g', NET_ARG, '--dataset', 'Tiny',
                         '--neuron_txt', 'first.txt', '--target_model_path', 'last.pth', '--proportion', '5'])
    one_error(res, 'identical', 'changes nothing')


def test_one_folder_for_both_degradations_is_refused(sandbox, tool):
    one_error(tool(sandbox, [*FAIG, '--noise_folder', 'datasets/Tiny/Blur2_LRbicx2']), 'same folder')
    one_error(tool(sandbox, [*COMPARISON, '--methods', 'random', '--noise_folder_name', 'Blur2_LRbicx2']),
              'same folder')


def test_inference_psnr_file_of_another_model_needs_force(sandbox, tool):
    inf = ['inference/inference_srresnet.py', '--network_g', NET_ARG, '--dataroot', 'datasets/Tiny', '--save_root',
           'out/inf', '--psnr_json', 'out/psnr.json']
    assert tool(sandbox, inf).returncode == 0
    assert tool(sandbox, inf).returncode == 0  # the same model: fine
    _other_target(sandbox)
    one_error(tool(sandbox, [*inf, '--model_path', 'other.pth']), 'out', 'another run', '--force')
    assert tool(sandbox, [*inf, '--model_path', 'other.pth', '--force']).returncode == 0


def test_a_folder_built_whole_is_never_left_part_built(tmp_path):
    """A build stopped midway (here an error after one file) leaves the earlier folder as it was and nothing a
    later run would take for a complete set; the data digest ignores the hidden leftover of a killed build."""
    from faig.stamps import data_digest
    from faig.store import build_whole_folder
    folder = tmp_path / 'set' / 'GTmod12'
    os.makedirs(folder)
    (folder / 'old.png').write_bytes(b'old')
    digest = data_digest(str(tmp_path / 'set'))

    def stopped(path):
        open(osp.join(path, 'a.png'), 'wb').write(b'a')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_whole_folder(str(folder), stopped)
    assert os.listdir(tmp_path / 'set') == ['GTmod12'] and os.listdir(folder) == ['old.png']
    os.makedirs(tmp_path / 'set' / '.GTmod12.incomplete-x')  # what a SIGKILL leaves
    (tmp_path / 'set' / '.GTmod12.incomplete-x' / 'a.png').write_bytes(b'a')
    assert data_digest(str(tmp_path / 'set')) == digest
    build_whole_folder(str(folder), lambda path: open(osp.join(path, 'new.png'), 'wb').write(b'new'))
    assert os.listdir(folder) == ['new.png']


def test_reproduce_remakes_lr_sets_that_lack_an_image(tmp_path):
    from conftest import load_script, write_images
    reproduce = load_script('reproduce', tmp_path)
    data = tmp_path / reproduce.DATA
    write_images(str(data / 'GTmod12'), [(8, 8), (8, 8)], seed=1)
    for folder in (*reproduce.LR_FOLDERS, 'LRbicx2'):
        write_images(str(data / folder), [(4, 4), (4, 4)], seed=2)
    assert reproduce.complete_lr_sets()
    os.remove(data / reproduce.LR_FOLDERS[1] / 'img1.png')
    assert not reproduce.complete_lr_sets()
