"""What a user sees of the fixed costs of a run: building the paper's networks, answering --help and a whole
``faig.py --fast`` run import neither all of basicsr nor torchvision (seconds: docs/benchmarks.md, "Fixed costs of
a whole --fast run"), yet give the networks, scores and packages a full import gives.

A fresh interpreter shows what a run imports (conftest imports basicsr whole), so most checks run in a
subprocess and report back as JSON."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import REPO, run_script
from test_attribution import TINY_NETS, make_pair


def fresh(code):
    """Run ``code`` in a new interpreter; it prints one JSON line last, returned parsed."""
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


HEAVY = ('basicsr.data', 'basicsr.models', 'basicsr.losses', 'basicsr.train', 'basicsr.archs.edsr_arch', 'scipy',
         'torchvision.models', 'torchvision.transforms', 'torch._dynamo')

LIGHT_THEN_FULL = '''
import json, sys, torch
from faig.networks import build_network, preset
out = {}
for name in ('srresnet', 'srcnn_style'):
    opt = preset(name, 2)
    torch.manual_seed(3)
    net = build_network(opt)
    out[name] = {'cls': f'{type(net).__module__}.{type(net).__qualname__}',
                 'keys': [[k, list(v.shape)] for k, v in net.state_dict().items()],
                 'sum': float(sum(v.double().sum() for v in net.state_dict().values()))}
out['heavy_after_light'] = sorted(m for m in HEAVY if m in sys.modules)
import faig
faig.register()  # the full import now: the packages deferred by the light build run their __init__
from basicsr.utils.registry import ARCH_REGISTRY
from faig.networks import build_network
for name in ('srresnet', 'srcnn_style'):
    opt = dict(preset(name, 2))
    torch.manual_seed(3)
    net = ARCH_REGISTRY.get(opt.pop('type'))(**opt)
    out[name + '_full'] = {'cls': f'{type(net).__module__}.{type(net).__qualname__}',
                           'keys': [[k, list(v.shape)] for k, v in net.state_dict().items()],
                           'sum': float(sum(v.double().sum() for v in net.state_dict().values()))}
out['edsr'] = 'EDSR' in ARCH_REGISTRY
out['heavy_after_full'] = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps(out))
'''


def test_light_build_is_the_registry_build():
    """MSRResNet and srcnn_style_net built the light way: the class BasicSR's registry holds after the full
    import, the same state-dict keys, shapes and (same seed) initial weights; nothing heavy imported before."""
    out = fresh(f'HEAVY = {HEAVY!r}\n' + LIGHT_THEN_FULL)
    for name, cls in (('srresnet', 'basicsr.archs.srresnet_arch.MSRResNet'),
                      ('srcnn_style', 'faig.archs.srcnn_style_arch.SRCNNStyle')):
        assert out[name]['cls'] == out[f'{name}_full']['cls'] == cls
        assert out[name]['keys'] == out[f'{name}_full']['keys']
        assert out[name]['sum'] == out[f'{name}_full']['sum']
    assert out['heavy_after_light'] == []
    assert out['edsr']  # the full import registered the rest of BasicSR
    assert {'basicsr.data', 'basicsr.train', 'torchvision.models', 'basicsr.archs.edsr_arch'} <= set(
        out['heavy_after_full'])


def test_other_types_fall_back_to_the_full_import():
    out = fresh('''
import json, sys
from faig.errors import InputError
from faig.networks import build_network
net = build_network({'type': 'EDSR', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1,
                     'upscale': 2})
try:
    build_network({'type': 'NoSuchArch'})
    error = None
except InputError as exc:
    error = str(exc)
print(json.dumps({'cls': type(net).__name__, 'data': 'basicsr.data' in sys.modules, 'error': error}))
''')
    assert out['cls'] == 'EDSR' and out['data']
    assert "'NoSuchArch' is not a registered arch" in out['error'] and 'MSRResNet' in out['error']


def test_basicsr_and_torchvision_work_as_usual_after_a_light_build():
    """After building a paper network, a user's own imports of basicsr and torchvision give what a plain import
    gives (names of their __init__, submodules, BasicSR's registry with every arch), and faig.register() makes
    basicsr's training resumable on the CPU (faig.compat.load_resume_state)."""
    out = fresh('''
import json, sys
from faig.networks import build_network, preset
build_network(preset('srresnet', 2))
import basicsr
version = basicsr.__version__
from basicsr.archs import build_network as basicsr_build
from basicsr.utils import img2tensor, scandir
from torchvision.transforms.functional_tensor import rgb_to_grayscale
import torchvision
from basicsr.utils.registry import ARCH_REGISTRY
import faig, faig.compat
faig.register()
import basicsr.train
print(json.dumps({'version': version, 'tv': torchvision.__version__, 'edsr': 'EDSR' in ARCH_REGISTRY,
                  'patched': basicsr.train.load_resume_state is faig.compat.load_resume_state,
                  'gray': rgb_to_grayscale.__module__, 'build': callable(basicsr_build) and callable(img2tensor)}))
''')
    assert out['version'] and out['tv'] and out['edsr'] and out['build']
    assert out['patched']
    assert out['gray'] == 'torchvision.transforms._functional_tensor'


def test_importing_basicsr_data_after_a_light_build_registers_each_module_once():
    """``import basicsr.data`` after a light build runs basicsr's __init__ first (as a normal import would),
    and each module once: registering twice would raise in BasicSR's registry."""
    out = fresh('''
import json, sys
from faig.networks import build_network, preset
build_network(preset('srcnn_style', 2))
import basicsr.data
from basicsr.utils.registry import DATASET_REGISTRY, ARCH_REGISTRY
import faig
faig.register()
print(json.dumps({'paired': 'PairedImageDataset' in DATASET_REGISTRY, 'msr': 'MSRResNet' in ARCH_REGISTRY,
                  'train': 'basicsr.train' in sys.modules}))
''')
    assert out == {'paired': True, 'msr': True, 'train': True}


def test_importing_the_library_imports_neither_basicsr_nor_torchvision():
    out = fresh('''
import json, sys
import faig.inference
from faig import FAIG, FilterScores, masked
print(json.dumps(sorted(m for m in ('basicsr', 'torchvision') if m in sys.modules)))
''')
    assert out == []


def _tiny_faig_run(tmp_path):
    """A tiny MSRResNet pair and a one-image test set in ``tmp_path``; returns the network options, the pair and
    the command line of analysis/tools/srresnet/faig.py on them (results in ``tmp_path/out``)."""
    from conftest import write_images
    opt = TINY_NETS['srresnet']
    baseline, target = make_pair(opt, dtype=torch.float32)
    torch.save({'params': baseline}, tmp_path / 'baseline.pth')
    torch.save({'params': target}, tmp_path / 'target.pth')
    write_images(str(tmp_path / 'GT'), [(16, 20)], seed=1)
    for folder, seed in (('blur', 2), ('noise', 3)):
        write_images(str(tmp_path / folder), [(8, 10)], seed=seed)
    args = ['analysis/tools/srresnet/faig.py', '--network_g', json.dumps(opt), '--baseline_model_path',
            str(tmp_path / 'baseline.pth'), '--target_model_path', str(tmp_path / 'target.pth'), '--gt_folder',
            str(tmp_path / 'GT'), '--blur_folder', str(tmp_path / 'blur'), '--noise_folder', str(tmp_path / 'noise'),
            '--record_filters_folder', str(tmp_path / 'out')]
    return opt, (baseline, target), args


def test_fast_tool_run_imports_no_basicsr_package(tmp_path):
    """A whole faig.py run on a preset-type network: no torchvision, scipy or basicsr data/models import."""
    _, _, tool_args = _tiny_faig_run(tmp_path)
    args = [*tool_args, '--fast']
    code = (f'import json, runpy, sys\nsys.argv = {args!r}\nrunpy.run_path(sys.argv[0], run_name="__main__")\n'
            f'print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))')
    assert fresh(code) == []
    assert (tmp_path / 'out' / 'blur_index.txt').is_file()


@pytest.mark.parametrize('shape,dtype', [((5, 7, 3), np.float32), ((5, 7, 3), np.float64), ((5, 7), np.float32),
                                         ((5, 7, 1), np.float64), ((5, 7, 3), np.uint8), ((5, 7, 4), np.float32)])
def test_image_to_tensor_is_basicsr_img2tensor(shape, dtype):
    """Same values, dtype and strides (so the same convolution kernels run) as BasicSR's img2tensor."""
    from basicsr.utils import img2tensor

    from faig.inference import image_to_tensor
    rng = np.random.default_rng(0)
    img = (rng.random(shape) * (255 if dtype == np.uint8 else 1)).astype(dtype)
    ours = image_to_tensor(img)
    hwc = img[..., None] if img.ndim == 2 else img
    theirs = img2tensor(hwc, bgr2rgb=hwc.shape[2] == 3, float32=True).unsqueeze(0)
    assert ours.dtype == theirs.dtype and ours.stride() == theirs.stride()
    assert torch.equal(ours, theirs)


def test_faithful_scores_of_light_and_full_build_are_identical(tmp_path):
    """The faithful mode (riemann_left, contiguous) scores bit for bit the same whether the tool's network
    came from the light build (a fresh tool process) or from the full registry (this process)."""
    from faig.attribution.faig import discriminative, faig_image
    from faig.attribution.filters import FilterSpace
    from faig.attribution.path import ParameterPath
    from faig.data.image_io import read_image
    from faig.inference import image_to_tensor
    from faig.networks import build_network
    opt, (baseline, target), tool_args = _tiny_faig_run(tmp_path)
    res = run_script([*tool_args, '--total_step', '4', '--layout', 'contiguous'])
    assert res.returncode == 0, res.stderr
    load = {k: image_to_tensor(read_image(str(tmp_path / k / 'img0.png'))) for k in ('GT', 'blur', 'noise')}
    path = ParameterPath(build_network(opt).eval(), baseline, target)
    scores, _ = faig_image(FilterSpace(target), path, {'blur': load['blur'], 'noise': load['noise']}, load['GT'], 4)
    np.testing.assert_array_equal(np.load(tmp_path / 'out' / 'blur_scores.npy'),
                                  discriminative(scores, 'blur', 'noise'))


HELP_OF_EVERY_TOOL = '''
import contextlib, glob, io, json, runpy, sys
network_g = '{type: EDSR, num_in_ch: 3, num_out_ch: 3, num_feat: 8, num_block: 1, upscale: 2}'
scripts = sorted(glob.glob('analysis/**/*.py', recursive=True) + glob.glob('inference/*.py')
                 + glob.glob('scripts/*.py') + ['train.py'])
usage, torch_after = [], []
for script in scripts:
    for extra in ([], ['--network_g', network_g]):
        sys.argv, path = [script, '--help', *extra], list(sys.path)
        with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
            try:
                runpy.run_path(script, run_name='__main__')
            except SystemExit:
                pass
        sys.path[:] = path
        usage.append('usage:' in out.getvalue() + err.getvalue())
        if 'torch' in sys.modules and not torch_after:
            torch_after.append(' '.join(sys.argv))
print(json.dumps({'scripts': len(scripts), 'usage': all(usage), 'torch_after': torch_after,
                  'basicsr': 'basicsr' in sys.modules}))
'''


def test_help_of_every_tool_imports_neither_torch_nor_basicsr():
    """Why --help answers at once whatever the other flags (docs/benchmarks.md, section 6): every tool parses its
    arguments before importing torch, also given --network_g of an arch outside the light imports."""
    out = fresh(HELP_OF_EVERY_TOOL)
    assert out['scripts'] >= 20 and out['usage']
    assert out['torch_after'] == [] and not out['basicsr']
