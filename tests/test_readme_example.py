"""The README's Python example and the example scripts run as written."""
import os.path as osp
import re

import torch

from faig.networks import load_network, preset

from conftest import REPO, run_script

MODELS = osp.join(REPO, 'experiments', 'pretrained', 'srresnet')


def readme_python_example():
    """The first ```python block of the README's "In Python" section."""
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    section = text.split('\n### In Python\n', 1)[1].split('\n## ', 1)[0]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_readme_python_example_runs_as_written(capsys):
    code = readme_python_example()
    assert len(code.strip().splitlines()) <= 10
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(1, 3, 24, 24, generator=g)
    namespace = {
        'target_net': load_network(preset('srresnet', 2), osp.join(MODELS, 'target_model.pth')),
        'baseline_net': load_network(preset('srresnet', 2), osp.join(MODELS, 'baseline_model.pth')),
        'lr_blurry': torch.nn.functional.avg_pool2d(hr, 2), 'hr': hr,
        'lr_noisy': (torch.nn.functional.avg_pool2d(hr, 2) + 0.1 * torch.randn(1, 3, 12, 12, generator=g)).clamp(0, 1),
    }
    before = {k: v.clone() for k, v in namespace['target_net'].state_dict().items()}
    exec(compile(code, 'README.md', 'exec'), namespace)  # noqa: S102 - the README's own code
    printed = capsys.readouterr().out.strip()
    name, out_ch, in_ch = eval(printed)  # noqa: S307 - the tuple the example prints
    assert name in dict(namespace['target_net'].named_parameters()) and out_ch >= 0 and in_ch >= 0
    assert namespace['sr'].shape == hr.shape
    for k, v in namespace['target_net'].state_dict().items():
        assert torch.equal(v, before[k])


def test_own_network_example_runs(tmp_path):
    res = run_script(['examples/own_network.py', '--out', str(tmp_path / 'ranking')])
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / 'ranking' / 'blur_index.txt').is_file() and 'deblurring filters' in res.stdout
