"""FAIG and IG under torchrun (gloo on loopback): the images are shared out over the ranks, rank 0
writes, and the files equal a one-process run's byte for byte; a rank that dies leaves a state
that --resume finishes (with any number of processes) into the same files. Two machines are two
torchrun launches (--nnodes 2), each in its own folder holding its own copy of the models and images:
a copy that differs, or a file bad on one machine only, stops both with one line and nothing written."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

import pytest
import torch

from conftest import REPO, write_images
from test_attribution import TINY_NETS, make_pair

NET_ARG = json.dumps(TINY_NETS['srresnet'])
RESULTS = ('blur_index.txt', 'noise_index.txt', 'blur_scores.npy', 'noise_scores.npy')
KILLER = '''
import os
from faig.attribution.methods import FAIG
_attribute = FAIG.attribute
_count = []


def attribute(self, images, **kwargs):
    _count.append(1)
    if os.environ.get('RANK') == '1' and len(_count) == 2:
        os._exit(9)  # rank 1 dies in the middle of its second image
    return _attribute(self, images, **kwargs)


FAIG.attribute = attribute
'''


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    baseline, target = make_pair(TINY_NETS['srresnet'], dtype=torch.float32)
    torch.save({'params_ema': baseline}, root / 'baseline.pth')
    torch.save({'params_ema': target}, root / 'target.pth')
    shapes = [(8, 10), (6, 6), (7, 9), (6, 8), (9, 6)]  # 5 images: 2 ranks get unequal shares
    write_images(str(root / 'GT'), [(2 * h, 2 * w) for h, w in shapes], seed=1)
    for folder, seed in (('blur', 2), ('noise', 3), ('clean', 4)):
        write_images(str(root / folder), shapes, seed=seed)
    (root / 'killer.py').write_text(KILLER)
    return root


def faig_args(root, out, *extra):
    return ['--network_g', NET_ARG, '--baseline_model_path', str(root / 'baseline.pth'), '--target_model_path',
            str(root / 'target.pth'), '--gt_folder', str(root / 'GT'), '--blur_folder', str(root / 'blur'),
            '--noise_folder', str(root / 'noise'), '--total_step', '3', '--layout', 'contiguous', '--device', 'cpu',
            '--record_filters_folder', str(out), *extra]


def run(args, nproc=2, env=None, tool='faig'):
    """The tool under torchrun with ``nproc`` processes."""
    command = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(nproc), '--nnodes', '1',
               '--master_addr', '127.0.0.1', '--master_port', str(free_port()), f'analysis/tools/srresnet/{tool}.py',
               *args]
    full_env = dict(os.environ, OMP_NUM_THREADS='1', FAIG_LAYOUT_CACHE='', **(env or {}))
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=full_env, timeout=600)


@pytest.fixture
def one_process(in_process):
    """``one_process(args, tool='faig')``: the tool without torchrun, in the test process."""
    return lambda args, tool='faig': in_process([f'analysis/tools/srresnet/{tool}.py', *args])


def contents(folder):
    return {name: (folder / name).read_bytes() for name in RESULTS}


def test_two_processes_write_the_files_of_one(data, one_process):
    one = one_process(faig_args(data, data / 'one'))
    assert one.returncode == 0, one.stderr[-2000:]
    two = run(faig_args(data, data / 'two'), nproc=2)
    assert two.returncode == 0, two.stderr[-3000:]
    assert contents(data / 'one') == contents(data / 'two')
    meta = json.loads((data / 'two' / 'meta.json').read_text())
    assert meta['ranks'] == 2 and len(meta['images']) == 5
    assert meta['ranks_agreed']['ranks'] == 2 and len(meta['ranks_agreed']['hosts']) == 2  # every rank's key checked
    assert [r['image'] for r in meta['images']] == [f'img{i}' for i in range(5)]
    assert '2 processes' in two.stdout and two.stdout.count('wrote ') == 1  # rank 0 alone reports


def test_ig_two_processes(data, one_process):
    args = ['--network_g', NET_ARG, '--target_model_path', str(data / 'target.pth'), '--bic_folder',
            str(data / 'clean'), '--blur_folder', str(data / 'blur'), '--noise_folder', str(data / 'noise'),
            '--total_step', '3', '--layout', 'contiguous', '--device', 'cpu']
    one = one_process([*args, '--record_filters_folder', str(data / 'ig1')], tool='ig')
    two = run([*args, '--record_filters_folder', str(data / 'ig2')], nproc=2, tool='ig')
    assert one.returncode == 0 and two.returncode == 0, (one.stderr + two.stderr)[-3000:]
    assert contents(data / 'ig1') == contents(data / 'ig2')


def test_killed_rank_resumes_to_the_same_files(data, one_process):
    if not (data / 'one' / 'blur_index.txt').exists():
        assert one_process(faig_args(data, data / 'one')).returncode == 0
    killed = run(faig_args(data, data / 'killed'), nproc=2, env={'FAIG_PLUGINS': str(data / 'killer.py')})
    assert killed.returncode != 0
    assert not (data / 'killed' / 'blur_index.txt').exists()  # nothing final written
    partial = sorted(p.name for p in (data / 'killed' / '.partial').iterdir() if p.suffix == '.npz')
    assert partial == ['img0.npz', 'img1.npz']  # the first round was stored before rank 1 died
    refused = one_process(faig_args(data, data / 'killed'))
    errors = [line for line in refused.stderr.splitlines() if line.startswith('error: ')]
    assert refused.returncode == 2 and len(errors) == 1 and '--resume' in errors[0]  # (after a note: the dead lock)
    resumed = one_process(faig_args(data, data / 'killed', '--resume'))  # one process continues a two-process run
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert contents(data / 'killed') == contents(data / 'one')
    again = run(faig_args(data, data / 'killed', '--resume'), nproc=2)
    assert again.returncode == 0 and 'nothing to do' in again.stdout


def test_error_on_every_rank_is_one_line(data):
    res = run(faig_args(data, data / 'bad', '--gt_folder', str(data / 'nope')), nproc=2)
    assert res.returncode != 0
    errors = [line for line in res.stderr.splitlines() if line.startswith('error: ')]
    assert len(errors) == 1 and 'nope' in errors[0]


BAD_ON_RANK_1 = '''
import os
from faig.attribution.methods import FAIG
from faig.errors import InputError
_attribute = FAIG.attribute


def attribute(self, images, **kwargs):
    if os.environ.get('RANK') == '1':
        raise InputError('img1.png: an image only rank 1 finds bad')
    return _attribute(self, images, **kwargs)


FAIG.attribute = attribute
'''


def test_bad_input_met_by_another_rank_leaves_nothing_to_resume(data):
    """As in one process, a run stopped by bad input removes its partial results (nothing to resume), also
    when the bad input was met by a rank other than 0; rank 0 says what it was."""
    (data / 'bad_rank1.py').write_text(BAD_ON_RANK_1)
    out = data / 'peer_bad'
    res = run(faig_args(data, out), nproc=2, env={'FAIG_PLUGINS': str(data / 'bad_rank1.py')})
    assert res.returncode != 0
    errors = [line for line in res.stderr.splitlines() if line.startswith('error: ')]
    assert errors == ['error: img1.png: an image only rank 1 finds bad'], res.stderr[-2000:]
    assert not (out / '.partial').exists() and not (out / 'blur_index.txt').exists()


SETUP_FAILS_ON_RANK_1 = '''
import os
from faig.attribution.methods import FAIG
from faig.errors import InputError
_setup = FAIG.setup


def setup(self, context):
    if os.environ.get('RANK') == '1':
        raise InputError('models/target.pth: cannot be set up on this machine')
    return _setup(self, context)


FAIG.setup = setup
'''


def test_a_rank_that_cannot_set_up_stops_every_rank(data):
    """After the output folder is claimed, a rank's failure before the first round (rank 0 was left with a gloo
    traceback and the partial folder of a run that had not begun) is one line and leaves nothing behind."""
    (data / 'setup_rank1.py').write_text(SETUP_FAILS_ON_RANK_1)
    out = data / 'no_setup'
    res = run(faig_args(data, out), nproc=2, env={'FAIG_PLUGINS': str(data / 'setup_rank1.py')})
    assert res.returncode != 0
    errors = [line for line in res.stderr.splitlines() if line.startswith('error: ')]
    assert errors == ['error: models/target.pth: cannot be set up on this machine (on rank 1, host '
                      f'{socket.gethostname()}; not on rank 0, host {socket.gethostname()})'], res.stderr[-3000:]
    assert not project_traceback(res.stderr), res.stderr[-3000:]
    assert not (out / '.partial').exists() and not (out / 'blur_index.txt').exists()


def make_node(data, folder):
    """One machine's copy of the models and images (read through relative paths, as on a real node)."""
    os.makedirs(folder / 'models')
    for name in ('baseline.pth', 'target.pth'):
        shutil.copy(data / name, folder / 'models' / name)
    for role in ('GT', 'blur', 'noise'):
        shutil.copytree(data / role, folder / role)
    return folder


def node_args(out='out', *extra):
    return ['--network_g', NET_ARG, '--baseline_model_path', 'models/baseline.pth', '--target_model_path',
            'models/target.pth', '--gt_folder', 'GT', '--blur_folder', 'blur', '--noise_folder', 'noise',
            '--total_step', '3', '--layout', 'contiguous', '--device', 'cpu', '--record_filters_folder', out, *extra]


def run_nodes(nodes, args, timeout=300):
    """The README's two-machine launch on loopback: one torchrun per node folder (its working directory),
    one process each; ``args[i]`` are node i's arguments. Returns (exit status, stdout, stderr) per node
    (None for the status of a node that did not finish within ``timeout``)."""
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS='1', FAIG_LAYOUT_CACHE='',
               PYTHONPATH=os.pathsep.join(filter(None, (REPO, os.environ.get('PYTHONPATH')))))
    procs = [subprocess.Popen([sys.executable, '-m', 'torch.distributed.run', '--nnodes', str(len(nodes)),
                               '--nproc_per_node', '1', '--node_rank', str(i), '--master_addr', '127.0.0.1',
                               '--master_port', str(port), os.path.join(REPO, 'analysis/tools/srresnet/faig.py'),
                               *args[i]], cwd=node, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True) for i, node in enumerate(nodes)]
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
            results.append((proc.returncode, out, err))
        except subprocess.TimeoutExpired:  # a node left waiting for the other: stop its launcher and workers
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            results.append((None, out, err))
            timeout = 1
    return results


def project_traceback(stderr):
    """A traceback through the project's code (torchrun's own report of a failed worker is not one)."""
    return re.search(r'File "[^"]*/(faig|analysis)/', stderr) is not None or 'gloo' in stderr.lower()


def spoil_image(data, node):
    shutil.copy(data / 'clean' / 'img2.png', node / 'noise' / 'img2.png')  # a valid image of the same size


def drop_image(data, node):
    for role in ('GT', 'blur', 'noise'):
        (node / role / 'img4.png').unlink()


def other_target(data, node):
    state = torch.load(node / 'models' / 'target.pth')
    state['params_ema'] = {k: v * 1.01 for k, v in state['params_ema'].items()}
    torch.save(state, node / 'models' / 'target.pth')


NODE_FAULTS = {  # what differs on the second machine -> a part of the one line every machine prints
    'other target weights': (other_target, (), 'models/target.pth: the target model on rank 1'),
    'an image of other content': (spoil_image, (), 'noise/img2.png: other contents on rank 1'),
    'an image set missing': (drop_image, (), 'blur/img4.png: missing on rank 1'),
    'another setting': (None, ('--total_step', '4'), 'setting total_step: 4 on rank 1'),
    'an empty image': (lambda data, node: (node / 'blur' / 'img1.png').write_bytes(b''), (),
                       'blur/img1.png: empty file (0 bytes) (on rank 1'),
    'a model file missing': (lambda data, node: (node / 'models' / 'baseline.pth').unlink(), (),
                             'models/baseline.pth: file not found (--baseline_model_path) (on rank 1'),
}


@pytest.mark.parametrize('fault', NODE_FAULTS)
def test_a_machine_that_differs_stops_every_machine(data, tmp_path, fault):
    """Every rank checks its own files and run key before any work: a machine with other weights, images or
    settings, or with a file that is bad there only, was mixed into the ranking (exit 0) or left the other
    machine with a gloo traceback and partial results; now each machine says the same one line."""
    spoil, extra, message = NODE_FAULTS[fault]
    nodes = [make_node(data, tmp_path / 'node0'), make_node(data, tmp_path / 'node1')]
    if spoil:
        spoil(data, nodes[1])
    results = run_nodes(nodes, [node_args(), node_args('out', *extra)])
    lines = []
    for status, _, stderr in results:
        assert status not in (0, None), stderr[-3000:]
        errors = [line for line in stderr.splitlines() if line.startswith('error: ')]
        assert len(errors) == 1 and message in errors[0], stderr[-3000:]
        assert not project_traceback(stderr), stderr[-3000:]
        lines.append(errors[0])
    assert lines[0] == lines[1]  # the same words on both machines
    assert not any((node / 'out').exists() for node in nodes)  # no lock, no .partial, no results


def test_two_machines_write_the_files_of_one_on_the_first(data, tmp_path, one_process):
    """The output folder is needed on rank 0's machine only (the README's recipe); meta.json records that the
    run key was checked on every rank."""
    if not (data / 'one' / 'blur_index.txt').exists():
        assert one_process(faig_args(data, data / 'one')).returncode == 0
    nodes = [make_node(data, tmp_path / 'node0'), make_node(data, tmp_path / 'node1')]
    (nodes[1] / 'results').write_text('a file, so no folder can be made under it on the second machine')
    results = run_nodes(nodes, [node_args('results/out'), node_args('results/out')])
    assert [status for status, _, _ in results] == [0, 0], results[0][2][-3000:] + results[1][2][-3000:]
    assert contents(nodes[0] / 'results' / 'out') == contents(data / 'one')
    meta = json.loads((nodes[0] / 'results' / 'out' / 'meta.json').read_text())
    assert meta['ranks'] == 2 and meta['ranks_agreed']['ranks'] == 2 and len(meta['ranks_agreed']['hosts']) == 2
    assert (nodes[1] / 'results').is_file()
