"""Bad input to the data scripts: one ``error: <file or flag>: <problem>`` line, exit status 2,
and nothing written (directory listings and file contents compared before and after)."""
import hashlib
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from faig.data.image_io import decode_checked, read_image, write_bytes, write_image
from faig.errors import InputError

from conftest import REPO, write_images

ROLES = {'--save_blur_folder': 'blur', '--save_noise_folder': 'noise', '--save_bic_folder': 'bic',
         '--save_linear_folder': 'lin'}


def snapshot(root):
    """Every path under ``root`` with the sha1 of each file (None for folders)."""
    listing = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            listing[osp.relpath(osp.join(folder, name), root)] = None
        for name in files:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                listing[osp.relpath(path, root)] = hashlib.sha1(f.read()).hexdigest()
    return listing


def assert_one_line_error(res, *needles):
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    text = res.stderr.strip()
    assert '\n' not in text and '\r' not in text, res.stderr
    assert text.startswith('error: '), text
    for needle in needles:
        assert needle in text, (needle, text)
    return text


@pytest.fixture
def generate(in_process):
    """generate_lr.py with all four output folders under ``out`` (unless given in ``extra``)."""

    def run(gt, out=None, *extra):
        args = ['scripts/generate_lr.py', '--ori_folder', str(gt)]
        if out is not None:
            for flag, name in ROLES.items():
                if flag not in extra:
                    args += [flag, osp.join(str(out), name)]
        return in_process(args + [str(e) for e in extra])
    return run


@pytest.fixture
def gt(tmp_path):
    return write_images(str(tmp_path / 'GTmod12'), [(48, 36), (24, 60)])


# 1. output folders that are the GT folder or shared by two outputs

@pytest.mark.parametrize('spelling', ['same', 'trailing_slash', 'dotdot', 'symlink'])
def test_generate_lr_refuses_gt_folder_as_output(tmp_path, gt, spelling, generate):
    target = {'same': gt, 'trailing_slash': gt + '/', 'dotdot': osp.join(gt, '..', 'GTmod12'),
              'symlink': str(tmp_path / 'link')}[spelling]
    if spelling == 'symlink':
        os.symlink(gt, target)
    before = snapshot(tmp_path)
    res = generate(gt, tmp_path / 'out', '--save_bic_folder', target)
    assert_one_line_error(res, f'error: {target}: --save_bic_folder is the GT folder')
    assert snapshot(tmp_path) == before


def test_generate_lr_refuses_gt_folder_as_default_output(tmp_path, generate):
    # the default bicubic folder of <root>/LRbicx2 as GT is <root>/LRbicx2 itself
    gt = write_images(str(tmp_path / 'LRbicx2'), [(48, 36)])
    before = snapshot(tmp_path)
    assert_one_line_error(generate(gt), '--save_bic_folder (default) is the GT folder')
    assert snapshot(tmp_path) == before


def test_generate_lr_refuses_one_folder_for_two_outputs(tmp_path, gt, generate):
    shared = str(tmp_path / 'shared')
    before = snapshot(tmp_path)
    res = generate(gt, tmp_path / 'out', '--save_bic_folder', shared, '--save_noise_folder', shared)
    assert_one_line_error(res, f'error: {shared}: ', '--save_bic_folder', '--save_noise_folder', 'same folder')
    assert snapshot(tmp_path) == before


# 2. numeric flags, checked before any image is read

@pytest.mark.parametrize('flag,value', [('--scale', 0), ('--scale', -2), ('--kernel_size', 0), ('--kernel_size', 4),
                                        ('--kernel_size', -3), ('--kernel_sigma', -1), ('--kernel_sigma', 0),
                                        ('--kernel_sigma', 'nan'), ('--noise_sigma', -0.1)])
def test_generate_lr_bad_numbers(tmp_path, flag, value, generate):
    # the GT folder does not exist: the flag is reported first, so it was checked before reading
    before = snapshot(tmp_path)
    res = generate(tmp_path / 'no_gt', tmp_path / 'out', flag, value)
    assert_one_line_error(res, f'error: {flag}: must be')
    assert snapshot(tmp_path) == before


# 3. empty, truncated and non-image files

def test_decode_checked_empty_truncated_and_garbage(tmp_path):
    good = write_images(str(tmp_path / 'ok'), [(16, 16)])
    data = open(osp.join(good, 'img0.png'), 'rb').read()
    cases = {'empty.png': b'', 'half.png': data[:len(data) // 2], 'no_end.png': data[:-12],
             'text.png': b'not an image at all\n' * 10}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        problem = 'empty file (0 bytes)' if not content else 'not a readable image'
        with pytest.raises(InputError, match=f'^{re.escape(f"{path}: {problem}")}$'):
            decode_checked(str(path))
        with pytest.raises(InputError, match=problem.split(' (')[0]):
            read_image(str(path))
    with pytest.raises(InputError, match='lmdb-key: empty file'):
        decode_checked('lmdb-key', b'')
    with pytest.raises(InputError, match='is a folder'):
        decode_checked(good)


def test_decode_checked_keeps_decoder_warnings_off_stderr(tmp_path, capfd):
    good = write_images(str(tmp_path / 'ok'), [(16, 16)])
    data = open(osp.join(good, 'img0.png'), 'rb').read()
    (tmp_path / 'cut.png').write_bytes(data[:-12])  # libpng prints "libpng error: ..." for this one
    with pytest.raises(InputError):
        decode_checked(str(tmp_path / 'cut.png'))
    assert capfd.readouterr().err == ''


@pytest.mark.parametrize('kind', ['empty', 'truncated', 'garbage'])
def test_generate_lr_broken_gt_image_writes_nothing(tmp_path, gt, kind, generate):
    data = open(osp.join(gt, 'img0.png'), 'rb').read()
    content = {'empty': b'', 'truncated': data[:len(data) // 2], 'garbage': b'GIF89a nonsense'}[kind]
    bad = osp.join(gt, 'zz.png')  # sorts last: the good images come first
    with open(bad, 'wb') as f:
        f.write(content)
    before = snapshot(tmp_path)
    res = generate(gt, tmp_path / 'out')
    problem = 'empty file (0 bytes)' if kind == 'empty' else 'not a readable image'
    assert_one_line_error(res, f'error: {bad}: {problem}')
    assert snapshot(tmp_path) == before


# 4. file modes

@pytest.mark.parametrize('umask', [0o022, 0o027, 0o002])
def test_write_bytes_gives_the_umask_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_bytes(str(tmp_path / 'a.bin'), b'abc')
        write_image(str(tmp_path / 'sub' / 'b.png'), np.zeros((4, 4, 3), np.uint8))
        write_bytes(str(tmp_path / 'a.bin'), b'abcd')  # replacing keeps the normal mode too
    finally:
        os.umask(old)
    for path in (tmp_path / 'a.bin', tmp_path / 'sub' / 'b.png'):
        assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~umask)
    assert sorted(os.listdir(tmp_path)) == ['a.bin', 'sub']  # no temporary file left


def test_generate_lr_outputs_have_the_umask_mode(tmp_path, gt, generate):
    res = generate(gt, tmp_path / 'out')
    assert res.returncode == 0, res.stderr
    umask = os.umask(0)
    os.umask(umask)
    for name in ROLES.values():
        for image in os.listdir(tmp_path / 'out' / name):
            assert os.stat(tmp_path / 'out' / name / image).st_mode & 0o777 == 0o666 & ~umask


# 5. output paths that cannot be written

def test_write_bytes_os_errors_name_the_path(tmp_path):
    afile = tmp_path / 'afile'
    afile.write_text('x')
    with pytest.raises(InputError, match=f'^{re.escape(str(afile))}.*: cannot write'):
        write_bytes(str(afile / 'x.png'), b'data')
    (tmp_path / 'folder.png').mkdir()
    with pytest.raises(InputError, match=f'^{re.escape(str(tmp_path / "folder.png"))}: cannot write'):
        write_bytes(str(tmp_path / 'folder.png'), b'data')
    assert afile.read_text() == 'x'


def test_generate_lr_output_is_an_existing_file(tmp_path, gt, generate):
    afile = tmp_path / 'afile'
    afile.write_text('keep me')
    before = snapshot(tmp_path)
    res = generate(gt, tmp_path / 'out', '--save_blur_folder', afile)
    assert_one_line_error(res, f'error: {afile}: --save_blur_folder is an existing file')
    assert snapshot(tmp_path) == before


def test_generate_lr_output_under_an_existing_file(tmp_path, gt, generate):
    afile = tmp_path / 'afile'
    afile.write_text('keep me')
    before = snapshot(tmp_path)
    res = generate(gt, tmp_path / 'out', '--save_noise_folder', afile / 'sub' / 'noise')
    assert_one_line_error(res, f'error: {afile}: not a folder', '--save_noise_folder')
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into read-only folders')
def test_generate_lr_output_folder_not_writable(tmp_path, gt, generate):
    locked = tmp_path / 'locked'
    locked.mkdir()
    locked.chmod(0o500)
    try:
        before = snapshot(tmp_path)
        res = generate(gt, tmp_path / 'out', '--save_bic_folder', locked / 'bic')
        assert_one_line_error(res, f'error: {locked}: no write permission', '--save_bic_folder')
        assert snapshot(tmp_path) == before
    finally:
        locked.chmod(0o700)


# existing outputs: identical ones are kept, different ones are refused unless --overwrite

def test_generate_lr_existing_outputs(tmp_path, gt, generate):
    out = tmp_path / 'out'
    assert generate(gt, out).returncode == 0
    first = snapshot(out)
    mtimes = {p: os.stat(out / p).st_mtime_ns for p, h in first.items() if h}

    res = generate(gt, out)  # same settings: nothing changes
    assert res.returncode == 0, res.stderr
    assert snapshot(out) == first
    assert {p: os.stat(out / p).st_mtime_ns for p in mtimes} == mtimes

    before = snapshot(tmp_path)
    res = generate(gt, out, '--seed', 5)  # other noise: the noisy images would change
    assert_one_line_error(res, f'error: {out / "noise" / "img0.png"}: exists with different content', '--overwrite')
    assert snapshot(tmp_path) == before

    res = generate(gt, out, '--seed', 5, '--overwrite')
    assert res.returncode == 0, res.stderr
    after = snapshot(out)
    assert after['noise/img0.png'] != first['noise/img0.png']
    assert {k: v for k, v in after.items() if not k.startswith('noise')} == \
        {k: v for k, v in first.items() if not k.startswith('noise')}


# 7. the other data scripts

@pytest.mark.parametrize('args,flag', [(['--crop_size', '0'], '--crop_size'), (['--step', '-5'], '--step'),
                                       (['--thresh_size', '-1'], '--thresh_size'), (['--n_thread', '0'], '--n_thread')])
def test_extract_subimages_bad_numbers(tmp_path, gt, args, flag, in_process):
    before = snapshot(tmp_path)
    res = in_process(['scripts/extract_subimages.py', '--input', gt, '--save_folder', str(tmp_path / 'sub'), *args])
    assert_one_line_error(res, f'error: {flag}: must be')
    assert snapshot(tmp_path) == before


def test_extract_subimages_bad_folders_and_images(tmp_path, gt, in_process):
    before = snapshot(tmp_path)
    res = in_process(['scripts/extract_subimages.py', '--input', gt, '--save_folder', gt + '/', '--crop_size', '16'])
    assert_one_line_error(res, f'error: {gt}/: --save_folder is the --input folder')
    assert snapshot(tmp_path) == before
    afile = tmp_path / 'afile'
    afile.write_text('x')
    before = snapshot(tmp_path)
    res = in_process(['scripts/extract_subimages.py', '--input', gt, '--save_folder', str(afile), '--crop_size', '16'])
    assert_one_line_error(res, f'error: {afile}: --save_folder is an existing file')
    assert snapshot(tmp_path) == before
    open(osp.join(gt, 'zz.png'), 'wb').close()
    before = snapshot(tmp_path)
    res = in_process(['scripts/extract_subimages.py', '--input', gt, '--save_folder', str(tmp_path / 'sub'),
                      '--crop_size', '16', '--step', '8', '--n_thread', '1'])
    assert_one_line_error(res, f'error: {osp.join(gt, "zz.png")}: empty file (0 bytes)')
    assert snapshot(tmp_path) == before


def test_extract_subimages_existing_outputs(tmp_path, gt, in_process):
    sub = tmp_path / 'sub'
    cmd = ['scripts/extract_subimages.py', '--input', gt, '--save_folder', str(sub), '--crop_size', '16',
           '--n_thread', '1']
    res = in_process(cmd + ['--step', '8'])
    assert res.returncode == 0, res.stderr
    first = snapshot(sub)
    assert in_process(cmd + ['--step', '8']).returncode == 0
    assert snapshot(sub) == first
    before = snapshot(tmp_path)
    assert_one_line_error(in_process(cmd + ['--step', '9']), 'exists with different content')
    assert snapshot(tmp_path) == before


def test_create_lmdb_bad_input(tmp_path, gt, in_process):
    before = snapshot(tmp_path)
    res = in_process(['scripts/create_lmdb.py', '--input', gt, '--output', str(tmp_path / 'x')])
    assert_one_line_error(res, f'error: {tmp_path / "x"}: --output must end in .lmdb')
    assert snapshot(tmp_path) == before
    afile = tmp_path / 'afile'
    afile.write_text('x')
    before = snapshot(tmp_path)
    res = in_process(['scripts/create_lmdb.py', '--input', gt, '--output', str(afile / 'x.lmdb')])
    assert_one_line_error(res, f'error: {afile}: not a folder')
    assert snapshot(tmp_path) == before
    open(osp.join(gt, 'zz.png'), 'wb').close()
    before = snapshot(tmp_path)
    res = in_process(['scripts/create_lmdb.py', '--input', gt, '--output', str(tmp_path / 'new' / 'x.lmdb')])
    assert_one_line_error(res, f'error: {osp.join(gt, "zz.png")}: empty file (0 bytes)')
    assert snapshot(tmp_path) == before


def test_create_lmdb_writes_and_refuses_existing(tmp_path, gt, in_process):
    out = tmp_path / 'new' / 'x.lmdb'
    res = in_process(['scripts/create_lmdb.py', '--input', gt, '--output', str(out)])
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(out)) == ['data.mdb', 'lock.mdb', 'meta_info.txt']
    assert sorted(os.listdir(out.parent)) == ['x.lmdb']  # no temporary folder left
    before = snapshot(tmp_path)
    res = in_process(['scripts/create_lmdb.py', '--input', gt, '--output', str(out)])
    assert_one_line_error(res, f'error: {out}: already exists')
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize('args,flag', [(['--crop_size', '0'], '--crop_size'), (['--step', '0'], '--step'),
                                       (['--max_side', '-1'], '--max_side')])
def test_prepare_sample_data_bad_numbers(tmp_path, args, flag, in_process):
    res = in_process(['scripts/prepare_sample_data.py', '--root', str(tmp_path / 'data'), *args])
    assert_one_line_error(res, f'error: {flag}: must be')
    assert os.listdir(tmp_path) == []


def test_prepare_sample_data_root_is_a_file(tmp_path, in_process):
    afile = tmp_path / 'afile'
    afile.write_text('x')
    res = in_process(['scripts/prepare_sample_data.py', '--root', str(afile)])
    assert_one_line_error(res, f'error: {afile}: --root is an existing file')
    assert os.listdir(tmp_path) == ['afile'] and afile.read_text() == 'x'


def test_gray_written_by_cv2_still_refused(tmp_path):
    """Sanity: the stricter decoder keeps the existing refusals."""
    cv2.imwrite(str(tmp_path / 'g.png'), np.zeros((8, 8), np.uint8))
    with pytest.raises(InputError, match='grayscale'):
        decode_checked(str(tmp_path / 'g.png'))


@pytest.mark.parametrize('args,needle', [
    (['--iterations', '0'], 'error: --iterations: 0 must be >= 1'),
    (['--iterations', '5'], 'error: --iterations: needs --continue'),
    (['--export_now'], 'error: --export_now: needs --continue'),
    (['--pair_dir', 'experiments/pretrained/next/srresnet'], 'error: --pair_dir: needs --continue'),
    (['--continue', 'baseline'], 'error: experiments/pretrained/srresnet: its target was fine-tuned from its '
     'baseline; continue the baseline of a pair without a target (e.g. --pair_dir experiments/pretrained/next/srresnet)'),
    (['--force_yml', 'datasets:train:gt_size=96', 'logger:sav:x=1'],  # both stages of a new pair: checked first
     "error: --force_yml: 'logger:sav:x=1': logger:sav is not a section of options/cpu/train_srresnet_baseline.yml"),
    (['--continue_target', '--force_yml', 'gt_size'], "error: --force_yml: 'gt_size' is not KEY=VALUE"),
    (['--continue', 'target', '--force_yml', 'a=b=c'], "error: --force_yml: 'a=b=c' is not KEY=VALUE"),
    (['--continue_target', '--force_yml', 'datasets:trian:gt_size=96'],
     "error: --force_yml: 'datasets:trian:gt_size=96': datasets:trian is not a section of "
     'options/cpu/train_srresnet_target_continue.yml'),
    (['--config_dir', '/nonexistent/opts'], 'error: --config_dir: /nonexistent/opts: no such folder'),
    (['--config_dir', '/'], 'error: /train_srresnet_baseline.yml: option file not found')])
def test_train_cpu_models_bad_arguments(tmp_path, args, needle, in_process):
    """Refused before any training starts: the bundled models and experiments/ stay as they were."""
    bundled = osp.join(REPO, 'experiments', 'pretrained')
    before, runs = snapshot(bundled), set(os.listdir(osp.join(REPO, 'experiments')))
    res = in_process(['scripts/train_cpu_models.py', '--net', 'srresnet', *args])
    assert_one_line_error(res, needle)
    assert snapshot(bundled) == before
    assert set(os.listdir(osp.join(REPO, 'experiments'))) == runs  # no training run started



def test_train_cpu_models_default_configs_are_the_repositorys(tmp_path, in_process):
    """Run from another folder that has an options/cpu of its own, the default configs are still the repository's
    (a given relative --config_dir is looked up in the working directory first)."""
    (tmp_path / 'options' / 'cpu').mkdir(parents=True)
    script = osp.join(REPO, 'scripts', 'train_cpu_models.py')
    res = in_process([script, '--net', 'srresnet', '--continue_target', '--force_yml', 'datasets:trian:x=1'],
                     cwd=str(tmp_path))
    assert_one_line_error(res, 'not a section of options/cpu/train_srresnet_target_continue.yml')
    res = in_process([script, '--net', 'srresnet', '--config_dir', 'options/cpu'], cwd=str(tmp_path))
    assert_one_line_error(res, f'error: {tmp_path}/options/cpu/train_srresnet_baseline.yml: option file not found')


def test_reproduce_models_dir_without_the_pair(tmp_path, in_process):
    """A staged pair that lacks a model is refused before any stage runs (results/ stays as it was)."""
    (tmp_path / 'srresnet').mkdir()
    (tmp_path / 'srresnet' / 'target_model.pth').write_bytes(b'')
    results = snapshot(osp.join(REPO, 'results')) if osp.isdir(osp.join(REPO, 'results')) else None
    res = in_process(['scripts/reproduce.py', '--models_dir', str(tmp_path), '--nets', 'srresnet'])
    assert_one_line_error(res, f'error: {tmp_path}/srresnet/baseline_model.pth: not found (--models_dir needs both '
                          'models of each net in --nets)')
    assert (snapshot(osp.join(REPO, 'results')) if results is not None else None) == results


def test_prepare_sample_data_crop_larger_than_every_photo(tmp_path, in_process):
    res = in_process(['scripts/prepare_sample_data.py', '--root', str(tmp_path / 'data'), '--crop_size', '100000'])
    assert_one_line_error(res, 'error: --crop_size 100000: no training sub-image')
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not osp.isdir('/proc/self'), reason='needs /proc')
def test_an_output_folder_that_cannot_be_made_is_refused_before_any_work(tmp_path):
    """os.access says yes for root under /proc: the check makes (and removes) a folder there."""
    from faig.cli.args import require_output_folder
    with pytest.raises(InputError, match=r'^/proc/x/y: cannot write here \(.*\) \(--out\)$'):
        require_output_folder('/proc/x/y', '--out')
    require_output_folder(str(tmp_path / 'new' / 'deeper'), '--out')
    assert os.listdir(tmp_path) == []  # nothing left by the check


def test_small_command_line_slips(tmp_path, in_process):
    """One line and exit 2 for each: no tool for python -m faig, a crop of 0 (it became 64), two period flags
    (one won silently), a --network_g file that is not there (it said 'must be a mapping')."""
    assert_one_line_error(in_process(['-m', 'faig']), 'TOOL: required')
    assert_one_line_error(in_process(['-m', 'faig', '--net', 'srresnet']), 'TOOL: required')
    assert in_process(['-m', 'faig', '--help']).returncode == 0
    assert_one_line_error(in_process(['scripts/reproduce.py', '--crop', '0']), '--crop', 'must be >= 1')
    assert_one_line_error(in_process(['scripts/train_cpu_models.py', '--net', 'srresnet', '--continue', 'baseline',
                                      '--continue_target']), '--continue_target', 'not allowed')
    missing = str(tmp_path / 'nofile.yml')
    assert_one_line_error(in_process(['-m', 'faig', 'random_neurons', '--network_g', missing]),
                          f'{missing}: file not found')
    assert os.listdir(tmp_path) == []


def test_labelled_set_message_names_the_callers_flags(tmp_path):
    from faig.evaluation.labelled_set import make_labelled_set
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'x.txt').write_text('x')
    with pytest.raises(InputError) as info:
        make_labelled_set(str(tmp_path / 'other'), {'recipe': 1}, flag='--set_root', overwrite_flag=None)
    assert 'choose another --set_root' in str(info.value) and '--overwrite' not in str(info.value)
    with pytest.raises(InputError, match='pass --overwrite to replace it, or choose another --out_root'):
        make_labelled_set(str(tmp_path / 'other'), {'recipe': 1})
    assert os.listdir(tmp_path / 'other') == ['x.txt']
