"""What the file system may hold, and what the tools do with it: a lock or partial-results entry that is a link,
a folder or a file; file names that are not UTF-8 or near the 255-byte limit; λ folder names; ``--force`` in
a folder holding files of the user; generate_lr stopped midway; memory running out. Real subprocesses in the
sandbox of tests/test_bad_input.py, as in tests/test_reliability.py. Each case is a row of docs/bad_input.md
("File system")."""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from conftest import REPO, run_script  # noqa: E402
from test_bad_input import FAIG, LR, NET_ARG, RANDOM_DIR, TOOLS, pristine, sandbox  # noqa: E402,F401  (fixtures)
from test_reliability import COMPARISON, faig_run, one_error, run  # noqa: E402

DATA_FOLDERS = ('datasets/Tiny/GTmod12', *LR.values())
INFERENCE = ['inference/inference_srresnet.py', '--network_g', NET_ARG, '--dataroot', 'datasets/Tiny', '--folders',
             'Blur2_LRbicx2', '--save_root', 'out/inf']
MODULATION = ['analysis/scripts/filter_modulation.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--neuron_txt',
              'rankings/blur_index.txt']
RANDOM = [f'{TOOLS}/random_neurons.py', '--network_g', NET_ARG, '--record_filters_folder', 'out/faig']


def listing(root):
    """{relative path: bytes, or 'link -> target'} of everything under ``root``, links not followed."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = osp.join(folder, name)
            if osp.islink(path):
                out[osp.relpath(path, root)] = f'link -> {os.readlink(path)}'
            elif osp.isfile(path):
                with open(path, 'rb') as f:
                    out[osp.relpath(path, root)] = f.read()
    return out


def rename_image(sandbox, old, new):
    """Give image ``old`` (a name) the name ``new`` (bytes or text) in every folder of the data set."""
    for folder in DATA_FOLDERS:
        os.rename(os.fsencode(sandbox / folder / old), osp.join(os.fsencode(sandbox / folder), os.fsencode(new)))


# ---- state entries: never followed, never written through ---------------------------------------------

@pytest.mark.parametrize('tool', ['faig', 'random', 'inference'])
def test_a_lock_that_is_a_link_is_refused_and_nothing_outside_is_touched(sandbox, tmp_path, tool):
    command = {'faig': FAIG, 'random': RANDOM,
               'inference': INFERENCE}[tool]
    out = sandbox / ('out/inf' if tool == 'inference' else 'out/faig')
    os.makedirs(out)
    victim = tmp_path / 'victim.txt'
    victim.write_text('a file of the user')
    os.symlink(victim, out / '.lock')
    one_error(run(sandbox, command), '.lock', 'symbolic link')
    assert victim.read_text() == 'a file of the user'
    assert os.listdir(out) == ['.lock'] and osp.islink(out / '.lock')
    os.remove(out / '.lock')
    os.symlink(tmp_path / 'created.txt', out / '.lock')  # a dangling link: following it would create the file
    one_error(run(sandbox, command), '.lock', 'symbolic link')
    assert not (tmp_path / 'created.txt').exists()


def test_a_lock_that_is_a_folder_or_a_hard_link_is_one_line(sandbox, tmp_path):
    os.makedirs(sandbox / 'out/faig/.lock')
    one_error(faig_run(sandbox), 'out/faig/.lock', 'is a folder, not a regular file')
    assert os.listdir(sandbox / 'out/faig') == ['.lock']
    os.rmdir(sandbox / 'out/faig/.lock')
    (sandbox / 'mine.txt').write_text('a file of the user')
    os.link(sandbox / 'mine.txt', sandbox / 'out/faig/.lock')
    one_error(faig_run(sandbox), 'out/faig/.lock', 'hard link')
    assert (sandbox / 'mine.txt').read_text() == 'a file of the user'


@pytest.mark.parametrize('kind', ['file', 'link', 'dangling link'])
def test_partial_results_entry_that_is_not_a_folder_is_one_line(sandbox, tmp_path, kind):
    out = sandbox / 'out/faig'
    os.makedirs(out)
    elsewhere = tmp_path / 'elsewhere'
    os.makedirs(elsewhere)
    (elsewhere / 'config.json').write_text('{}')
    if kind == 'file':
        (out / '.partial').write_text('not partial results')
    else:
        os.symlink(elsewhere if kind == 'link' else tmp_path / 'none', out / '.partial')
    before, outside = listing(out), listing(tmp_path)
    one_error(faig_run(sandbox), 'out/faig/.partial', 'is a file' if kind == 'file' else 'symbolic link')
    assert os.listdir(out) == ['.partial'] and listing(out) == before and listing(tmp_path) == outside
    one_error(faig_run(sandbox, '--force', '--resume'), '.partial')  # no flag makes the run write through it
    assert listing(tmp_path) == outside and not (tmp_path / 'none').exists()


# ---- file names ------------------------------------------------------------------------------------

def test_an_image_name_that_is_not_utf8_is_refused_before_any_work(sandbox):
    rename_image(sandbox, 'img1.png', b'im\xff1.png')
    before = listing(sandbox)
    for command in (FAIG, [*COMPARISON, '--methods', 'random'], INFERENCE, [*MODULATION, '--lambdas', '0', '1'],
                    ['scripts/generate_lr.py', '--ori_folder', 'datasets/Tiny/GTmod12', '--save_blur_folder', 'out/b',
                     '--save_noise_folder', 'out/n', '--save_bic_folder', 'out/bic']):
        one_error(run(sandbox, command), 'im\\xff1.png', 'not UTF-8')
    assert listing(sandbox) == before
    res = faig_run(sandbox, '--resume')  # no partial results left to resume
    one_error(res, 'not UTF-8')
    assert not (sandbox / 'out').exists()


def test_a_data_set_folder_name_that_is_not_utf8_works_end_to_end(sandbox):
    """Folder names are paths, not keys: they work (titles of figures show the byte as \\xff)."""
    name = b'T\xffny'
    os.rename(sandbox / 'datasets/Tiny', osp.join(os.fsencode(sandbox / 'datasets'), name))
    rankings = os.fsencode(sandbox / 'results/Interpret/neuron-search/srresnet')
    os.rename(osp.join(rankings, b'Tiny'), osp.join(rankings, name))
    import subprocess
    res = subprocess.run([sys.executable, osp.join(REPO, COMPARISON[0]), *COMPARISON[1:4], os.fsdecode(name),
                          *COMPARISON[5:], '--methods', 'random'], cwd=sandbox, capture_output=True, text=True,
                         errors='backslashreplace', env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stderr[-2000:]
    metrics = osp.join(os.fsencode(sandbox / 'results/Interpret/metrics/srresnet'), name)
    assert sorted(os.listdir(metrics))[:2] == [b'comparison.csv', b'comparison.md']
    assert osp.isfile(osp.join(os.fsencode(sandbox / 'results/Interpret/figures/srresnet'),
                               b'proportion_curves_' + name + b'.png'))


def test_image_names_near_the_length_limit_work_end_to_end(sandbox):
    stem = 'i' * 251  # 'i' * 251 + '.png': 255 bytes, the longest name a file system takes
    rename_image(sandbox, 'img1.png', f'{stem}.png')
    ranking = 'results/Interpret/neuron-search/srresnet/Tiny/faig'
    for command in ([*FAIG[:-1], ranking], [*COMPARISON[:-2], '--proportions', '10', '--methods', 'faig', 'random'],
                    INFERENCE, [*MODULATION, '--lambdas', '0', '1']):
        res = run(sandbox, command)
        assert res.returncode == 0, res.stderr[-2000:]
    meta = json.load(open(sandbox / ranking / 'meta.json'))
    assert stem in [image['image'] for image in meta['images']]
    assert (sandbox / f'out/inf/Blur2_LRbicx2/{stem}.png').is_file()
    assert any(stem in line for line in (sandbox / 'results/Interpret/metrics/srresnet/Tiny/comparison.csv')
               .read_text().splitlines())
    figures = os.listdir(sandbox / 'results/Interpret/figures/srresnet')
    assert any(name.startswith('masking_Tiny_iii') for name in figures)  # the teaser image's name, shortened
    assert all(len(name.encode()) <= 255 for name in figures)
    assert not [p for p in listing(sandbox) if '.tmp-' in p or '.commit-tmp-' in p]


def test_temporary_names_stay_short_and_long_output_names_fit(tmp_path):
    from faig.data.image_io import write_bytes
    from faig.files import fit_name
    from faig.store import commit_files
    long = 'x' * 251 + '.txt'
    write_bytes(str(tmp_path / long), b'a')
    commit_files(str(tmp_path / 'set'), {long: b'b', 'meta.json': b'{}'})
    assert (tmp_path / long).read_bytes() == b'a' and (tmp_path / 'set' / long).read_bytes() == b'b'
    assert sorted(os.listdir(tmp_path / 'set')) == sorted([long, 'meta.json'])
    names = {fit_name('masking_Tiny_' + 'é' * 200 + f'{i}.png') for i in range(3)}
    assert len(names) == 3 and all(len(n.encode()) <= 255 and n.endswith('.png') for n in names)
    assert fit_name('masking_Tiny_astronaut.png') == 'masking_Tiny_astronaut.png'


def test_lambda_folder_names_stay_short_and_overflowing_lambdas_are_refused(sandbox):
    from faig.cli.analysis import lambda_label
    assert [lambda_label(v) for v in (0, 0.5, 1, 1.5, 0.501, -0.0)] == ['0.00', '0.50', '1.00', '1.50', '0.501', '0.00']
    assert lambda_label(1e308) == '1e+308' and lambda_label(1e7) == '10000000.0'
    one_error(run(sandbox, [*MODULATION, '--lambdas', '0', '1e308']), '--lambdas', '1e+308', 'overflow')
    assert not (sandbox / 'results/Interpret/modulation').exists()
    res = run(sandbox, [*MODULATION, '--lambdas', '0', '1e7'])
    assert res.returncode == 0, res.stderr[-2000:]
    base = sandbox / 'results/Interpret/modulation/srresnet/Tiny/faig'
    folders = {p.name for p in base.rglob('lambda_*')}
    assert folders == {'lambda_0.00', 'lambda_1.00', 'lambda_10000000.0'}


# ---- --force removes only the files a run of the tool recorded as its own ------------------------------

def test_force_removes_only_files_the_earlier_record_lists(sandbox):
    out = sandbox / 'out/faig'
    assert faig_run(sandbox).returncode == 0
    assert 'per_image_scores.npz' in json.load(open(out / 'meta.json'))['files']
    (out / 'chapter_index.txt').write_text('a file of the user\n')  # matches the ranking files' *_index.txt
    res = run(sandbox, [*RANDOM, '--force'])
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'kept chapter_index.txt' in res.stderr
    assert sorted(os.listdir(out)) == ['blur_index.txt', 'chapter_index.txt', 'meta.json', 'noise_index.txt']
    assert (out / 'chapter_index.txt').read_text() == 'a file of the user\n'


def test_force_keeps_files_beside_a_record_that_lists_none(sandbox):
    """A meta.json that lists no files (the user's, or one of a version that recorded none): nothing is removed."""
    out = sandbox / 'out/faig'
    os.makedirs(out)
    (out / 'meta.json').write_text('{"note": "my chapter"}')
    (out / 'chapter_index.txt').write_text('1\n2\n')
    (out / 'figure_scores.npy').write_bytes(b'mine')
    one_error(faig_run(sandbox), 'out/faig', 'another run', '--force')
    res = faig_run(sandbox, '--force')
    assert res.returncode == 0, res.stderr[-2000:]
    assert (out / 'chapter_index.txt').read_text() == '1\n2\n' and (out / 'figure_scores.npy').read_bytes() == b'mine'
    metrics = sandbox / 'results/Interpret/metrics/srresnet/Tiny'
    os.makedirs(metrics)
    (metrics / 'mine_maskdeblurfilter_notes.txt').write_text('notes\n')  # matches the comparison's files
    res = run(sandbox, [*COMPARISON, '--methods', 'random', '--force'])
    assert res.returncode == 0, res.stderr[-2000:]
    assert (metrics / 'mine_maskdeblurfilter_notes.txt').read_text() == 'notes\n'


# ---- generate_lr: all sets or none ----------------------------------------------------------------

@pytest.mark.parametrize('existing', [False, True])
def test_generate_lr_writes_every_set_or_nothing(sandbox, monkeypatch, existing):
    import faig.data.lr_sets as lr_sets
    from faig.errors import InputError
    folders = {'blur': str(sandbox / 'out/sets/blur'), 'noise': str(sandbox / 'out/sets/noise'),
               'bicubic': str(sandbox / 'out/bic'), 'bilinear': str(sandbox / 'out/lin')}
    if existing:  # a second run with --overwrite and other settings: the earlier sets stay as they were
        lr_sets.generate(str(sandbox / 'datasets/Tiny/GTmod12'), folders, seed=1)
    before = listing(sandbox)
    real_write, calls = lr_sets.write_bytes, []

    def full_disk(path, data):
        calls.append(path)
        if len(calls) == (2 if existing else 6):  # after 5 of the 8 images (of the 2 noisy ones that change)
            raise InputError(f'{path}: cannot write (No space left on device)')
        return real_write(path, data)

    monkeypatch.setattr(lr_sets, 'write_bytes', full_disk)
    with pytest.raises(InputError, match='No space left'):
        lr_sets.generate(str(sandbox / 'datasets/Tiny/GTmod12'), folders, seed=2, overwrite=True)
    assert listing(sandbox) == before
    assert (sandbox / 'out').exists() == existing
    monkeypatch.setattr(lr_sets, 'write_bytes', real_write)
    lr_sets.generate(str(sandbox / 'datasets/Tiny/GTmod12'), folders, seed=2, overwrite=True)
    assert all(sorted(os.listdir(f)) == ['img0.png', 'img1.png'] for f in folders.values())


# ---- memory running out ---------------------------------------------------------------------------

def allocation_failure(kind):
    import torch
    return {'cpu': RuntimeError('[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: not enough memory: '
                                'you tried to allocate 1099511627776 bytes.'),
            'cuda': torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 20.00 GiB'),
            'numpy': MemoryError('Unable to allocate 1.00 TiB for an array')}[kind]


@pytest.mark.parametrize('kind', ['cpu', 'cuda', 'numpy'])
def test_memory_running_out_is_one_line_and_leaves_nothing(sandbox, monkeypatch, capsys, kind):
    """A huge image or --nodes_per_pass: the allocator's error on the second image becomes one line naming the
    image and the flag; the partial results of the first image and the output folder are removed."""
    from test_reliability import faig_in_process
    from faig.attribution.methods import FAIG as FAIGMethod
    real_attribute, calls = FAIGMethod.attribute, []

    def attribute(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise allocation_failure(kind)
        return real_attribute(self, *args, **kwargs)

    monkeypatch.setattr(FAIGMethod, 'attribute', attribute)
    before = listing(sandbox)
    assert faig_in_process(sandbox, monkeypatch, '--nodes_per_pass', '2') == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith(('error', 'Traceback'))]
    assert len(lines) == 1 and lines[0].startswith('error: datasets/Tiny/Blur2_LRbicx2/img1.png: not enough memory')
    assert '--nodes_per_pass (now 2)' in lines[0] and 'could not be allocated' in lines[0]
    assert listing(sandbox) == before and not (sandbox / 'out').exists()


def test_memory_running_out_elsewhere_is_one_line(sandbox):
    """Where no step names its input (here inference's restoration), the command still ends with one line."""
    code = ('import runpy, sys, torch.nn.functional as F\n'
            'def conv2d(*a, **k):\n    raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to '
            'allocate 4294967296 bytes.")\n'
            'F.conv2d = conv2d\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name="__main__")')
    before = listing(sandbox)
    res = run_script(['-c', code, osp.join(REPO, INFERENCE[0]), *INFERENCE[1:]], cwd=sandbox)
    assert res.returncode == 2 and 'Traceback' not in res.stderr, res.stderr[-2000:]
    last = res.stderr.strip().splitlines()[-1]  # (after the progress bar, which a terminal shows cleared)
    assert last.startswith('error: datasets/Tiny/Blur2_LRbicx2/img0.png: not enough memory (4,096 MiB'), last
    assert listing(sandbox) == before


def test_any_allocation_failure_reaching_the_command_line_is_one_line(capsys):
    from faig.errors import cli

    @cli
    def main():
        raise allocation_failure('numpy')

    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ') and 'not enough memory' in lines[0]
