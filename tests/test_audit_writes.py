"""Every tool, run as a user runs it, writes, renames and removes only inside its output folders and the system
temporary folder. Each command runs in a subprocess under an audit hook (``sys.addaudithook``) that records every
file opened for writing, created, removed or renamed, and every folder made or removed, outside those folders; the
sandbox (tiny models and images, tests/test_bad_input.py) is not in the temporary folder the tool is given. A
folder built whole (faig.store.build_whole_folder) is built in a hidden sibling, ``.<name>.incomplete-*``, that
then takes its place: that sibling counts as the output folder."""
import json
import os
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from conftest import REPO, run_script  # noqa: E402
from test_bad_input import FAIG, NET_ARG, TOOLS, pristine, sandbox  # noqa: E402,F401  (fixtures)

# installs the hook, then runs the tool (argv[1]) as its own __main__; the findings go to stderr at exit
AUDITED = r'''
import atexit, os, runpy, sys
ALLOWED = [os.path.realpath(p) for p in os.environ['AUDIT_ALLOWED'].split(os.pathsep)] + ['/dev/null']
# a folder built whole is made in a hidden sibling that then takes its place (faig.store.build_whole_folder)
BUILDS = [os.path.join(os.path.dirname(a), '.' + os.path.basename(a) + '.incomplete-') for a in ALLOWED]
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# event: (how many of its first arguments are paths, the position of its dir_fd argument or None)
PATH_EVENTS = {'os.remove': (1, 1), 'os.rmdir': (1, 1), 'shutil.rmtree': (1, None), 'os.mkdir': (1, 2),
               'os.truncate': (1, None), 'os.chmod': (1, 2), 'os.rename': (2, 2), 'os.symlink': (2, 3),
               'os.link': (2, 2), 'shutil.move': (2, None), 'shutil.copyfile': (2, None)}
outside = []

def where(path):
    """The real path of ``path``'s folder, then its own name: a link removed or replaced is not followed."""
    path = os.path.abspath(os.fsdecode(path))
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))

def allowed(path, event):
    real = where(path)
    if event in ('os.mkdir', 'os.rmdir') and any(a.startswith(real.rstrip(os.sep) + os.sep) for a in ALLOWED):
        return True  # a folder on the way to an output folder (made to reach it)
    return (any(real == a or real.startswith(a.rstrip(os.sep) + os.sep) for a in ALLOWED)
            or any(real.startswith(b) for b in BUILDS))

def hook(event, args):
    if event == 'open':
        path, mode, flags = args
        writing = any(c in mode for c in 'wax+') if isinstance(mode, str) else bool((flags or 0) & WRITE)
        paths = [path] if writing else []
    elif event in PATH_EVENTS:
        count, dir_fd = PATH_EVENTS[event]
        if dir_fd is not None and len(args) > dir_fd and args[dir_fd] not in (None, -1):
            return  # relative to an open folder: inside shutil.rmtree, whose own event names the folder
        paths = list(args[:count])
    else:
        return
    for path in paths:
        if isinstance(path, (str, bytes, os.PathLike)) and not allowed(path, event):
            outside.append(f'{event} {where(path)}')

atexit.register(lambda: os.write(2, ('\nAUDIT ' + repr(sorted(set(outside))) + '\n').encode()))
sys.addaudithook(hook)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''

MODELS = ['--baseline_model_path', 'experiments/srresnet/baseline_model.pth',
          '--target_model_path', 'experiments/srresnet/target_model.pth']
# (name, command, output folders (relative to the sandbox)); each runs in the sandbox as it is made, in this order
TOOL_RUNS = [
    ('faig', FAIG[:-1] + ['results/Interpret/neuron-search/srresnet/Tiny/faig'],
     ['results/Interpret/neuron-search/srresnet/Tiny/faig']),
    ('ig', [f'{TOOLS}/ig.py', '--network_g', NET_ARG, '--bic_folder', 'datasets/Tiny/Linear_LRbicx2',
            '--blur_folder', 'datasets/Tiny/Blur2_LRbicx2', '--noise_folder', 'datasets/Tiny/LRbicx2_noise0.1',
            '--total_step', '2', '--record_filters_folder', 'out/ig'], ['out/ig']),
    ('absolute_filter_change', [f'{TOOLS}/absolute_filter_change.py', *MODELS, '--record_filters_folder', 'out/abs'],
     ['out/abs']),
    ('random_neurons', [f'{TOOLS}/random_neurons.py', '--network_g', NET_ARG, '--record_filters_folder', 'out/rnd'],
     ['out/rnd']),
    ('comparison', [f'{TOOLS}/comparison.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--proportions', '10',
                    '--methods', 'faig', 'random'], ['results/Interpret']),
    ('mask_neurons', [f'{TOOLS}/mask_neurons.py', '--network_g', NET_ARG, '--dataset', 'Tiny', '--methods', 'random',
                      '--proportions', '10', '--srresnet_mask_save_folder', 'out/mask'], ['out/mask']),
    ('inference', ['inference/inference_srresnet.py', '--network_g', NET_ARG, '--dataroot', 'datasets/Tiny',
                   '--save_root', 'out/inf', '--psnr_json', 'out/psnr/psnr.json'], ['out/inf', 'out/psnr']),
    ('filter_modulation', ['analysis/scripts/filter_modulation.py', '--network_g', NET_ARG, '--dataset', 'Tiny',
                           '--neuron_txt', 'rankings/blur_index.txt', '--lambdas', '0', '0.5',
                           '--save_folder', 'out/mod'], ['out/mod']),
    ('vis_filters_distribution', ['analysis/scripts/vis_filters_distribution.py', '--dataset', 'Tiny',
                                  '--save_path', 'out/dist/d.png'], ['out/dist']),
    ('generate_gradient_map', ['analysis/scripts/generate_gradient_map.py', '--dataset', 'Tiny'],
     ['results/Interpret']),
    ('cal_blur_gradient_loss', ['analysis/scripts/cal_blur_gradient_loss.py', '--network_g', NET_ARG, '--dataset',
                                'Tiny', '--methods', 'random', '--proportions', '10', '--total_neuron_nums', '136',
                                '--save_folder', 'out/loss'], ['out/loss']),
    ('make_degradation_set', ['scripts/make_degradation_set.py', '--gt_folder', 'datasets/Tiny/GTmod12', '--out_root',
                              'out/degset', '--crop', '4', '--crops_per_photo', '1'], ['out/degset']),
    ('predict_degradation', ['analysis/scripts/predict_degradation.py', '--network_g', NET_ARG, '--dataset', 'Tiny',
                             '--calibration', 'out/degset/calibration', '--input_folder', 'out/degset/test/blur/blur2',
                             '--proportion', '10', '--save_csv', 'out/pred/p.csv'], ['out/pred']),
    ('generate_lr', ['scripts/generate_lr.py', '--ori_folder', 'datasets/Tiny/GTmod12', '--save_blur_folder',
                     'out/lr/b', '--save_noise_folder', 'out/lr/n', '--save_bic_folder', 'out/lr/bic',
                     '--save_linear_folder', 'out/lr/lin'], ['out/lr']),
    ('extract_subimages', ['scripts/extract_subimages.py', '--input', 'datasets/Tiny/GTmod12', '--save_folder',
                           'out/sub', '--crop_size', '8', '--step', '4', '--n_thread', '1'], ['out/sub']),
    ('create_lmdb', ['scripts/create_lmdb.py', '--input', 'datasets/Tiny/GTmod12', '--output', 'out/gt.lmdb'],
     ['out']),
]


@pytest.fixture(scope='module')
def audited_runs(pristine, tmp_path_factory):
    """The result of every tool run (in one sandbox, in order: the comparison uses faig's ranking)."""
    import shutil
    root = tmp_path_factory.mktemp('audit')
    shutil.copytree(pristine, root / 'work')
    system_tmp = root / 'system-tmp'  # the system temporary folder the tools are given (the sandbox is not in it)
    os.makedirs(system_tmp)
    results = {}
    for name, command, outputs in TOOL_RUNS:
        allowed = os.pathsep.join([str(system_tmp), *(str(root / 'work' / out) for out in outputs)])
        env = {'AUDIT_ALLOWED': allowed, 'TMPDIR': str(system_tmp), 'MPLCONFIGDIR': str(system_tmp / 'mpl'),
               'TORCHINDUCTOR_CACHE_DIR': str(system_tmp / 'inductor'),  # (else /tmp/torchinductor_<user>)
               'PYTHONDONTWRITEBYTECODE': '1'}
        results[name] = run_script(['-c', AUDITED, osp.join(REPO, command[0]), *command[1:]], cwd=root / 'work',
                                   env=env)
    return results


@pytest.mark.parametrize('name', [run[0] for run in TOOL_RUNS])
def test_a_tool_writes_only_into_its_output_folders(audited_runs, name):
    res = audited_runs[name]
    assert res.returncode == 0, res.stderr[-3000:]
    report = [line for line in res.stderr.splitlines() if line.startswith('AUDIT ')]
    assert len(report) == 1, res.stderr[-3000:]
    outside = eval(report[0][len('AUDIT '):], {})  # a list of strings, written by the hook above
    assert outside == [], f'{name} touched files outside its output folders: {json.dumps(outside, indent=1)}'


def test_the_hook_sees_writes_outside(sandbox, tmp_path):
    """The hook itself: a write, a rename and a removal outside the allowed folders are all reported."""
    script = tmp_path / 'bad.py'
    script.write_text('import os\nopen("x.txt", "w").write("x")\nos.replace("x.txt", "y.txt")\nos.remove("y.txt")\n'
                      f'open({str(tmp_path / "ok" / "z.txt")!r}, "w").write("ok")\n')
    os.makedirs(tmp_path / 'ok')
    res = run_script(['-c', AUDITED, str(script)], cwd=sandbox,
                     env={'AUDIT_ALLOWED': str(tmp_path / 'ok'), 'TMPDIR': str(tmp_path / 'ok')})
    report = eval(next(line for line in res.stderr.splitlines() if line.startswith('AUDIT '))[len('AUDIT '):], {})
    assert sorted({entry.split()[0] for entry in report}) == ['open', 'os.remove', 'os.rename']
