"""FAIG and IG under torchrun (gloo on loopback): the images are shared out over the ranks, rank 0
writes, and the files equal a one-process run's byte for byte; a rank that dies leaves a state
that --resume finishes (with any number of processes) into the same files."""
import json
import os
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


def run(args, nproc=1, env=None, tool='faig'):
    script = f'analysis/tools/srresnet/{tool}.py'
    if nproc == 1:
        command = [sys.executable, script, *args]
    else:
        command = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(nproc), '--nnodes', '1',
                   '--master_addr', '127.0.0.1', '--master_port', str(free_port()), script, *args]
    full_env = dict(os.environ, OMP_NUM_THREADS='1', FAIG_LAYOUT_CACHE='', **(env or {}))
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=full_env, timeout=600)


def contents(folder):
    return {name: (folder / name).read_bytes() for name in RESULTS}


def test_two_processes_write_the_files_of_one(data):
    one = run(faig_args(data, data / 'one'))
    assert one.returncode == 0, one.stderr[-2000:]
    two = run(faig_args(data, data / 'two'), nproc=2)
    assert two.returncode == 0, two.stderr[-3000:]
    assert contents(data / 'one') == contents(data / 'two')
    meta = json.loads((data / 'two' / 'meta.json').read_text())
    assert meta['ranks'] == 2 and len(meta['images']) == 5
    assert [r['image'] for r in meta['images']] == [f'img{i}' for i in range(5)]
    assert '2 processes' in two.stdout and two.stdout.count('wrote ') == 1  # rank 0 alone reports


def test_ig_two_processes(data):
    args = ['--network_g', NET_ARG, '--target_model_path', str(data / 'target.pth'), '--bic_folder',
            str(data / 'clean'), '--blur_folder', str(data / 'blur'), '--noise_folder', str(data / 'noise'),
            '--total_step', '3', '--layout', 'contiguous', '--device', 'cpu']
    one = run([*args, '--record_filters_folder', str(data / 'ig1')], tool='ig')
    two = run([*args, '--record_filters_folder', str(data / 'ig2')], nproc=2, tool='ig')
    assert one.returncode == 0 and two.returncode == 0, (one.stderr + two.stderr)[-3000:]
    assert contents(data / 'ig1') == contents(data / 'ig2')


def test_killed_rank_resumes_to_the_same_files(data):
    if not (data / 'one' / 'blur_index.txt').exists():
        assert run(faig_args(data, data / 'one')).returncode == 0
    killed = run(faig_args(data, data / 'killed'), nproc=2, env={'FAIG_PLUGINS': str(data / 'killer.py')})
    assert killed.returncode != 0
    assert not (data / 'killed' / 'blur_index.txt').exists()  # nothing final written
    partial = sorted(p.name for p in (data / 'killed' / '.partial').iterdir() if p.suffix == '.npz')
    assert partial == ['img0.npz', 'img1.npz']  # the first round was stored before rank 1 died
    refused = run(faig_args(data, data / 'killed'))
    errors = [line for line in refused.stderr.splitlines() if line.startswith('error: ')]
    assert refused.returncode == 2 and len(errors) == 1 and '--resume' in errors[0]  # (after a note: the dead lock)
    resumed = run(faig_args(data, data / 'killed', '--resume'))  # one process continues a two-process run
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
