"""A new attribution method in one file: registered from outside the package (FAIG_PLUGINS), it runs
through ``python -m faig``, the per-network comparison and the report (scripts/pair_report.py, the
report section of a study run by hand) with no other change."""
import csv
import json
import os

import numpy as np
import pytest
import torch

from conftest import REPO, save_model_pair, write_test_set
from test_attribution import TINY_NETS, make_pair

NET_ARG = json.dumps(TINY_NETS['srresnet'])
PLUGIN = '''
"""First-order Taylor attribution: |(θ_baseline − θ_target) ⊙ ∇L(θ_target)| per filter."""
import torch

from faig.attribution.methods import AttributionMethod, register


@register
class FirstOrder(AttributionMethod):
    name, label, color = 'first_order', 'first-order', 'tab:purple'
    models = ('baseline', 'target')
    image_roles = ('gt', )

    def setup(self, context):
        super().setup(context)
        self.net = context.net.to(context.device)
        self.delta = {k: (context.baseline[k] - context.target[k]).to(context.device) for k in context.target}

    def attribute(self, images, progress=False):
        params = dict(self.net.named_parameters())
        scores = {}
        for deg in self.context.degradations:
            loss = ((images['gt'] - self.net(images[deg])) ** 2).sum()
            grads = dict(zip(params, torch.autograd.grad(loss, list(params.values()))))
            attribution = {e.name: grads[e.name] * self.delta[e.name] for e in self.context.space.entries}
            scores[deg] = self.context.space.per_filter(attribution).float().cpu().numpy()
        return {'scores': scores}

    def combine(self, results):
        a, b = self.context.degradations
        diff = sum(r['scores'][a] - r['scores'][b] for r in results)
        return {a: diff, b: -diff}
'''


def test_a_method_in_one_file_runs_through_cli_and_comparison(tmp_path, in_process):
    (tmp_path / 'first_order.py').write_text(PLUGIN)
    env = {'FAIG_PLUGINS': str(tmp_path / 'first_order.py')}
    baseline, target = make_pair(TINY_NETS['srresnet'], dtype=torch.float32)
    save_model_pair(tmp_path / 'experiments' / 'srresnet', baseline, target)
    data = tmp_path / 'datasets' / 'Tiny'
    write_test_set(data, [(8, 10), (6, 6)])
    search = 'results/Interpret/neuron-search/srresnet/Tiny'
    images = ['--gt_folder', str(data / 'GTmod12'), '--blur_folder', str(data / 'Blur2_LRbicx2'), '--noise_folder',
              str(data / 'LRbicx2_noise0.1'), '--layout', 'contiguous']

    def run(*args):
        res = in_process(list(args), cwd=tmp_path, env=env)
        assert res.returncode == 0, res.stderr[-3000:]
        return res

    help_text = run('-m', 'faig', 'first_order', '--net', 'srresnet', '--help').stdout
    for flag in ('--gt_folder', '--baseline_model_path', '--resume', '--record_filters_folder', '--layout'):
        assert flag in help_text
    run('-m', 'faig', 'first_order', '--net', 'srresnet', '--network_g', NET_ARG, *images,
        '--record_filters_folder', f'{search}/first_order')
    # FAIG with one left-Riemann node is the first-order Taylor term: the plugin's scores, computed apart
    run(os.path.join(REPO, 'analysis/tools/srresnet/faig.py'), '--network_g', NET_ARG, *images, '--total_step', '1',
        '--record_filters_folder', f'{search}/faig')
    mine = np.load(tmp_path / search / 'first_order' / 'blur_scores.npy')
    faig = np.load(tmp_path / search / 'faig' / 'blur_scores.npy')
    np.testing.assert_allclose(mine, faig, rtol=1e-4, atol=1e-6 * np.abs(faig).max())
    meta = json.loads((tmp_path / search / 'first_order' / 'meta.json').read_text())
    assert meta['method'] == 'first_order' and len(meta['images']) == 2 and meta['baseline'] and meta['inputs']

    run(os.path.join(REPO, 'analysis/tools/srresnet/comparison.py'), '--network_g', NET_ARG, '--dataset', 'Tiny',
        '--methods', 'faig', 'first_order', '--proportions', '1', '10')
    rows = list(csv.DictReader(open(tmp_path / 'results/Interpret/metrics/srresnet/Tiny/comparison.csv')))
    assert {r['method'] for r in rows} == {'faig', 'first_order'}
    table = (tmp_path / 'results/Interpret/metrics/srresnet/Tiny/comparison.md').read_text()
    assert '| first_order |' in table

    run(os.path.join(REPO, 'scripts/pair_report.py'), '--net', 'srresnet', '--rankings', f'{search}/faig', '--metrics',
        'results/Interpret/metrics/srresnet/Tiny', '--target_model_path', 'experiments/srresnet/target_model.pth',
        '--out', 'report.md')
    report = (tmp_path / 'report.md').read_text()
    assert 'first-order' in report and 'FAIG' in report  # the plugin is among the methods FAIG is compared with
    # its own inputs are never its output; the rankings must be of the network named
    pair = [os.path.join(REPO, 'scripts/pair_report.py'), '--net', 'srresnet', '--rankings', f'{search}/faig',
            '--metrics', 'results/Interpret/metrics/srresnet/Tiny', '--target_model_path',
            'experiments/srresnet/target_model.pth']
    kept = {p: (tmp_path / p).read_bytes() for p in (f'{search}/faig/meta.json', 'experiments/srresnet/target_model.pth',
                                                     'results/Interpret/metrics/srresnet/Tiny/comparison.md')}
    for out, words in ((f'{search}/faig/meta.json', '--rankings'), ('experiments/srresnet/target_model.pth',
                                                                     '--target_model_path'),
                       ('results/Interpret/metrics/srresnet/Tiny/comparison.md', '--metrics'), ('.', 'a folder')):
        res = in_process([*pair, '--out', out], cwd=tmp_path, env=env)
        assert res.returncode == 2 and res.stderr.count('\n') == 1 and words in res.stderr, res.stderr
    wrong = in_process([*pair[:2], 'srcnn_style', *pair[3:], '--out', 'other.md'], cwd=tmp_path, env=env)
    assert wrong.returncode == 2 and 'made for MSRResNet' in wrong.stderr and '--net srresnet' in wrong.stderr
    assert all((tmp_path / p).read_bytes() == data for p, data in kept.items())
    assert not (tmp_path / 'other.md').exists()


def test_a_plugin_cannot_replace_a_built_in_method(tmp_path):
    """A plugin class of the same class and method name as a built-in one (FAIG, 'faig') replaced it silently:
    the rankings then called 'faig' were the plugin's. It is refused, naming the plugin and the method."""
    from faig.attribution.methods import METHODS, load_methods
    from faig.registration import import_plugin
    from faig.errors import InputError
    load_methods()
    built_in = METHODS['faig']
    (tmp_path / 'shadow.py').write_text(
        'from faig.attribution.methods import AttributionMethod, register\n\n\n'
        '@register\nclass FAIG(AttributionMethod):\n    name = "faig"\n')
    with pytest.raises(InputError, match=r"shadow.py: this plugin \(FAIG_PLUGINS\) failed to load: ValueError: FAIG: "
                       r"the attribution method name 'faig' is taken by FAIG \(faig.attribution.methods\)"):
        import_plugin(str(tmp_path / 'shadow.py'))
    assert METHODS['faig'] is built_in


def test_a_method_may_not_take_the_name_of_a_tool(tmp_path, in_process):
    """The command line lists methods beside the other tools: a plugin method named ``comparison`` is refused
    in one line (the library itself does not care about tool names)."""
    plugin = tmp_path / 'named_like_a_tool.py'
    plugin.write_text(PLUGIN.replace("name, label, color = 'first_order'", "name, label, color = 'comparison'"))
    res = in_process(['-m', 'faig', 'faig', '--net', 'srresnet', '--help'], env={'FAIG_PLUGINS': str(plugin)})
    assert res.returncode == 2 and res.stderr.strip() == (
        'error: comparison: the name of a tool; the attribution method FirstOrder needs another name'), res.stderr
