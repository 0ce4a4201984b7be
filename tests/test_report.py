"""The finding checks of results/report.md on hand-made numbers (each verdict can go both ways), their
per-image counts, the report JSON and the default-budget-vs---full section."""
import glob
import json
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch

from faig.attribution.filters import FilterSpace
from faig.attribution.ranking import rank, write_index
from faig.evaluation.comparison import METHODS, write_metric_files
from faig.errors import InputError
from faig.reporting.budgets import agreement_section, compare_reports
from faig.reporting.findings import (describe_robustness, finding_faig_beats_others, finding_further_back,
                                     finding_masking_ratio, finding_modulation, finding_more_uniform, image_rankings,
                                     image_tables, location_stats, net_findings, paper_scope, per_image_verdicts,
                                     robustness)
from faig.reporting.records import setting_name
from faig.reporting.report import write_report
from faig.store import sha1_file
from faig.tables import render

from conftest import REPO, run_script
from test_attribution import TINY_NETS, make_pair

LAMBDAS = np.linspace(0, 2, 11).tolist()
GOOD_CURVE = [abs(1 - l) for l in LAMBDAS]
BAD_CURVE = [abs(1 - l) + (0.5 if i == 2 else 0) for i, l in enumerate(LAMBDAS)]


def results_table(faig_match, faig_other, others_match):
    """Comparison results: (method, proportion, masked filters, input) -> output difference."""
    table = {}
    for p in (1, 3):
        for deg in ('blur', 'noise'):
            other = 'noise' if deg == 'blur' else 'blur'
            table[('faig', p, deg, deg)] = faig_match * p
            table[('faig', p, other, deg)] = faig_other * p
            for m in ('ig', 'abs_filter_change', 'random'):
                table[(m, p, deg, deg)] = others_match * p
                table[(m, p, other, deg)] = others_match * p
    return table


def per_image_tables():
    """Images a, b, c: c fails finding 1 (ratio 1.25), b fails finding 2 (IG ahead at 3% on noise);
    the means (ratio 3, IG 2.17 < FAIG 3 at 3%) hold both."""
    tables = {'a': results_table(1.0, 0.1, 0.5), 'b': results_table(1.0, 0.1, 0.5), 'c': results_table(1.0, 0.8, 0.5)}
    tables['b'][('ig', 3, 'noise', 'noise')] = 3.5
    per_image = {key: {stem: table[key] for stem, table in tables.items()} for key in tables['a']}
    means = {key: float(np.mean(list(values.values()))) for key, values in per_image.items()}
    return means, per_image


def stats(blur_depth, noise_depth, blur_distance, noise_distance):
    """Location statistics as faig.evaluation.location.filter_location gives them."""
    return {deg: {'filters': 4, 'mean_depth': depth, 'random_mean_depth': 0.5, 'distance_from_uniform': distance,
                  'back_half_share': depth} for deg, depth, distance in
            (('blur', blur_depth, blur_distance), ('noise', noise_depth, noise_distance))}


def test_masking_ratio_verdict():
    check = finding_masking_ratio(results_table(1.0, 0.1, 0.5))
    assert check.holds and '10.0×' in check.text and check.numbers['blur_ratio'] == 10.0
    assert not finding_masking_ratio(results_table(1.0, 0.8, 0.5)).holds


def test_faig_beats_others_names_the_failures():
    check = finding_faig_beats_others(results_table(1.0, 0.1, 0.5), [1, 3])
    assert check.holds and check.numbers['holds_at_1']
    table = results_table(1.0, 0.1, 0.5)
    table[('ig', 3, 'noise', 'noise')] = 10.0
    check = finding_faig_beats_others(table, [1, 3])
    assert not check.holds and check.numbers['holds_at_1'] and 'denoising at 3% (IG' in check.text
    assert check.numbers['failures'] == ['denoising at 3%: ig']


def test_modulation_monotone_verdict():
    assert finding_modulation(LAMBDAS, GOOD_CURVE).holds
    assert not finding_modulation(LAMBDAS, BAD_CURVE).holds
    # the λ of a run may come in any order: the verdict is that of the curve along λ
    assert finding_modulation(LAMBDAS[::-1], GOOD_CURVE[::-1]).holds
    assert not finding_modulation(LAMBDAS[::-1], BAD_CURVE[::-1]).holds


def test_location_checks_on_plain_numbers():
    assert finding_further_back(stats(0.9, 0.5, 0.6, 0.1)).holds
    assert finding_more_uniform(stats(0.9, 0.5, 0.6, 0.1)).holds
    assert not finding_further_back(stats(0.4, 0.5, 0.6, 0.1)).holds
    assert not finding_more_uniform(stats(0.9, 0.5, 0.1, 0.6)).holds


def test_location_verdicts_follow_the_rankings():
    _, target = make_pair(TINY_NETS['srresnet'])
    space = FilterSpace(target)
    first, last = space.entries[0], space.entries[-2]
    back = np.concatenate([np.arange(last.offset, last.offset + last.count), np.arange(first.offset)])
    spread = np.random.default_rng(0).permutation(space.num_filters)
    located = location_stats(space, {'blur': back, 'noise': spread})
    assert finding_further_back(located).holds and finding_more_uniform(located).holds
    assert 'mean layer depth' in finding_further_back(located).text
    located = location_stats(space, {'blur': spread, 'noise': back})
    assert not finding_further_back(located).holds and not finding_more_uniform(located).holds


def test_image_tables_keep_only_complete_images():
    per_image = {'k1': {'a': 1.0, 'b': 2.0}, 'k2': {'a': 3.0}}
    assert image_tables(per_image) == {'a': {'k1': 1.0, 'k2': 3.0}}
    assert image_tables({}) == {}


def test_robustness_counts_and_names_the_failing_images():
    means, per_image = per_image_tables()
    verdicts = per_image_verdicts(finding_masking_ratio, image_tables(per_image))
    assert verdicts == {'a': True, 'b': True, 'c': False}
    assert robustness(verdicts) == {'holds': 2, 'images': 3, 'failing': ['c']}
    assert describe_robustness(robustness(verdicts)) == 'Per image: holds on 2 of 3 images (fails on c).'
    assert robustness({}) is None
    assert 'no per-image data' in describe_robustness(None)


def test_outputs_identical_at_8_bits_are_said_to_measure_nothing(capsys):
    """Masked outputs that differ from the target's below 1/255 are identical once saved: every difference is
    0, the tables were all 0.0000 and a flat modulation curve "held" finding 4. The tables and the report
    now say that nothing was measurable, and no finding holds on zeros."""
    from faig.evaluation.comparison import markdown_tables, print_tables
    zeros = results_table(0.0, 0.0, 0.0)
    methods = ['faig', 'ig', 'abs_filter_change', 'random']
    assert 'Nothing measurable' in markdown_tables(zeros, methods, [1, 3])
    print_tables(zeros, methods, [1, 3])
    assert 'nothing measurable: every output equals its reference' in capsys.readouterr().out
    assert 'othing measurable' not in markdown_tables(results_table(1.0, 0.1, 0.5), methods, [1, 3])
    flat = [0.0] * len(LAMBDAS)
    modulation = {deg: {'lambdas': LAMBDAS, 'output_difference': flat} for deg in ('blur', 'noise')}
    findings = net_findings(zeros, {}, [1, 3], stats(0.9, 0.5, 0.6, 0.1), {}, modulation)
    for f in findings:
        if f['id'] in ('1', '2', '4_blur', '4_noise'):
            assert not f['holds'] and f['text'].startswith('Nothing measurable'), f
    assert finding_modulation(LAMBDAS, GOOD_CURVE).holds  # a curve that is 0 only at λ = 1 is measured
    assert not finding_modulation(LAMBDAS, flat).holds


def test_net_findings_mean_holds_while_some_images_fail():
    means, per_image = per_image_tables()
    location = stats(0.9, 0.5, 0.6, 0.1)
    image_location = {'a': location, 'b': location, 'c': stats(0.3, 0.5, 0.6, 0.1)}  # c: 3a fails, 3b holds
    mean_curve = list(np.mean([GOOD_CURVE, GOOD_CURVE, BAD_CURVE], 0))
    modulation = {'blur': {'lambdas': LAMBDAS, 'output_difference': mean_curve,
                           'per_image': {'a': GOOD_CURVE, 'b': GOOD_CURVE, 'c': BAD_CURVE}},
                  'noise': {'lambdas': LAMBDAS, 'output_difference': GOOD_CURVE}}  # older file: no per_image
    findings = {f['id']: f for f in net_findings(means, per_image, [1, 3], location, image_location, modulation)}
    assert list(findings) == ['1', '2', '3a', '3b', '4_blur', '4_noise']
    assert all(f['holds'] for f in findings.values())  # every mean verdict holds
    assert findings['1']['per_image'] == {'holds': 2, 'images': 3, 'failing': ['c']}
    assert findings['2']['per_image'] == {'holds': 2, 'images': 3, 'failing': ['b']}
    assert findings['3a']['per_image'] == {'holds': 2, 'images': 3, 'failing': ['c']}
    assert findings['3b']['per_image'] == {'holds': 3, 'images': 3, 'failing': []}
    assert findings['4_blur']['per_image'] == {'holds': 2, 'images': 3, 'failing': ['c']}
    assert findings['4_noise']['per_image'] is None


def test_net_findings_without_per_image_data():
    means, _ = per_image_tables()
    modulation = {deg: {'lambdas': LAMBDAS, 'output_difference': BAD_CURVE} for deg in ('blur', 'noise')}
    findings = net_findings(means, {}, [1, 3], stats(0.9, 0.5, 0.6, 0.1), {}, modulation)
    assert all(f['per_image'] is None for f in findings)
    assert [f['holds'] for f in findings] == [True, True, True, True, False, False]


def test_image_rankings_rank_blur_and_noise_from_the_difference():
    diff = np.array([0.5, -2.0, 3.0, 0.0])
    rankings = image_rankings({'x': diff})['x']
    assert rankings['blur'].tolist() == [2, 0, 3, 1]
    assert rankings['noise'].tolist() == [1, 3, 0, 2]


def test_finding_3_is_scoped_to_srresnet():
    assert paper_scope('srresnet', '3a') == ' (the paper states this for SRResNet only)'
    assert 'for information' in paper_scope('srcnn_style', '3b')
    assert paper_scope('srcnn_style', '1') == ''


def test_setting_name_follows_reproduce():
    assert setting_name({'steps': 16, 'quadrature': 'riemann_left', 'crop': 64}) == 'steps16_riemann_left_crop64'
    assert setting_name({'steps': 100, 'quadrature': 'riemann_left', 'crop': None}) == 'steps100_riemann_left_full'
    assert setting_name({'steps': 1, 'quadrature': 'q', 'crop': None, 'setting': 'mine'}) == 'mine'


def report_json(setting, verdicts, sha='x'):
    return {'setting': setting, 'generated': 'now', 'nets': {'srresnet': {'target_sha1': sha, 'findings': [
        {'id': fid, 'holds': ok, 'per_image': {'holds': 6 if ok else 2, 'images': 6, 'failing': []}}
        for fid, ok in verdicts.items()]}}}


def test_agreement_section_marks_the_disagreeing_finding():
    default = report_json('steps16_riemann_left_crop64', {'1': True, '2': True, '3a': False})
    full = report_json('steps100_riemann_left_full', {'1': True, '2': False, '3a': False}, sha='y')
    assert compare_reports(default, full) == [('srresnet', '1', True, True), ('srresnet', '2', True, False),
                                              ('srresnet', '3a', False, False)]
    text = render(agreement_section(default, full))
    assert 'agree on 2 of 3 findings' in text
    assert '| srresnet | 2 | holds (6/6 images) | does not hold (2/6 images) | **no** |' in text
    assert '| srresnet | 3a | does not hold (2/6 images) | does not hold (2/6 images) | yes |' in text
    assert 'different models for srresnet' in text


def test_agreement_section_never_shows_old_models_verdicts_as_the_current_ones():
    """After a swap: runs of the old pair are left out (both) or named (one), with the command that redoes them."""
    default = report_json('steps16_riemann_left_crop64', {'1': True, '2': True})
    full = report_json('steps100_riemann_left_full', {'1': True, '2': False})
    old = {'srresnet': {'target_sha1': 'x', 'baseline_sha1': None}}
    assert 'agree on 1 of 2 findings' in render(agreement_section(default, full, old))
    new = {'srresnet': {'target_sha1': 'new', 'baseline_sha1': None}}
    text = render(agreement_section(default, full, new))
    assert 'agree on 0 of 0 findings' in text and '| srresnet |' not in text
    assert 'Not compared for srresnet: both runs were made with other models' in text
    assert '`python scripts/reproduce.py --full --nets srresnet`' in text
    fresh = report_json('steps16_riemann_left_crop64', {'1': True, '2': True}, sha='new')
    text = render(agreement_section(fresh, full, new))
    assert 'Note: the --full run of srresnet was made with other models than the ones there now (rerun ' \
           '`python scripts/reproduce.py --full --nets srresnet`)' in text and '| srresnet | 2 |' in text
    assert 'retrained in between' not in text
    # a baseline swapped alone is caught too (entries that record it)
    for report in (default, full):
        report['nets']['srresnet']['baseline_sha1'] = 'b_old'
    text = render(agreement_section(default, full, {'srresnet': {'target_sha1': 'x', 'baseline_sha1': 'b_new'}}))
    assert 'Not compared for srresnet' in text


# ---- write_report on a small results tree -----------------------------------------------------------

def fake_run(root, nets, blur_curves, results='results'):
    """A results tree for ``nets`` in ``results``: 4 conv layers × 100 filters (1% = 4 filters), images a, b, c."""
    state = {f'conv{i}.weight': torch.zeros(10, 10, 3, 3) for i in range(4)}
    space = FilterSpace(state)
    diff = np.random.default_rng(0).normal(0, 0.01, space.num_filters)
    diff[300:304] = 10  # top deblurring filters: all in the last layer
    diff[[0, 100, 200, 350]] = -10  # top denoising filters: one per layer, as spread as random filters
    scores = {'a': diff, 'b': diff, 'c': -diff}  # c: the other way round (3a and 3b fail)
    total = sum(scores.values())
    _, per_image = per_image_tables()
    for net in nets:
        torch.save({'params': state}, osp.join(make_dir(root, f'experiments/pretrained/{net}'), 'target_model.pth'))
        for kind in ('baseline', 'target'):
            with open(osp.join(make_dir(root, f'{results}/report'), f'{net}_{kind}_psnr.json'), 'w') as f:
                json.dump({'psnr': {'Blur2_LRbicx2': 30.0 if kind == 'target' else 28.0}}, f)
        write_metric_files(per_image, osp.join(root, f'{results}/Interpret/metrics/{net}/set'), METHODS, (1, 3))
        search = osp.join(root, f'{results}/Interpret/neuron-search/{net}/set/faig')
        write_index(osp.join(search, 'blur_index.txt'), rank(total))
        write_index(osp.join(search, 'noise_index.txt'), rank(-total))
        np.savez(osp.join(search, 'per_image_scores.npz'), **scores)
        for method, seconds in (('faig', 2.0), ('ig', 1.0)):  # attribution time per image, as the pipeline records it
            with open(osp.join(make_dir(root, f'{results}/Interpret/neuron-search/{net}/set/{method}'), 'meta.json'),
                      'w') as f:
                json.dump({'device': 'cpu', 'images': [{'image': s, 'seconds': seconds * (i + 1)}
                                                       for i, s in enumerate('abc')]}, f)
        for deg, kind in (('blur', 'deblur'), ('noise', 'denoise')):
            folder = make_dir(root, f'{results}/Interpret/modulation/{net}/set/faig/4kernels/Modulation-{kind}-filter')
            curves = blur_curves if deg == 'blur' else {s: GOOD_CURVE for s in 'abc'}
            with open(osp.join(folder, 'differences.json'), 'w') as f:
                json.dump({'lambdas': LAMBDAS, 'output_difference': list(np.mean(list(curves.values()), 0)),
                           'per_image': curves}, f)


def make_dir(root, sub):
    path = osp.join(root, sub)
    os.makedirs(path, exist_ok=True)
    return path


def test_write_report_per_image_counts_json_and_budget_comparison(tmp_path):
    root = str(tmp_path)
    nets = ('srresnet', 'srcnn_style')
    fake_run(root, nets, {'a': GOOD_CURVE, 'b': GOOD_CURVE, 'c': BAD_CURVE})
    settings = {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64, 'timings': {'x': 1.0}, 'device': 'cpu'}
    path = write_report(root, nets, 'set', settings)
    text = open(path).read()
    data = json.load(open(osp.join(root, 'results/report_steps16_riemann_left_crop64.json')))
    findings = {f['id']: f for f in data['nets']['srresnet']['findings']}
    assert all(f['holds'] for f in findings.values())
    assert findings['1']['per_image'] == {'holds': 2, 'images': 3, 'failing': ['c']}
    assert findings['2']['per_image'] == {'holds': 2, 'images': 3, 'failing': ['b']}
    assert findings['3a']['per_image'] == findings['3b']['per_image'] == {'holds': 2, 'images': 3, 'failing': ['c']}
    assert findings['3a']['numbers']['mean_depth_blur'] == 1.0
    assert findings['4_blur']['per_image'] == {'holds': 2, 'images': 3, 'failing': ['c']}
    assert findings['4_noise']['per_image'] == {'holds': 3, 'images': 3, 'failing': []}
    assert 'Device: cpu.' in text
    assert ('**srresnet** — 1. Masking 1% FAIG filters removes the matching function and keeps the other: '
            '**holds**.') in text
    assert 'Per image: holds on 2 of 3 images (fails on c).' in text
    assert '(the paper states this for SRResNet only):' in text
    assert '(the paper states this for SRResNet only; reported here for information):' in text
    assert '## Default budget vs --full\n\nNot compared yet' in text and '| srresnet | 4_blur |' not in text
    assert findings['1']['verdicts'] == {'a': True, 'b': True, 'c': False}

    # the --full run, where the mean of the deblurring modulation curve is no longer monotone: its records go to
    # the reference folder, one per network
    fake_run(root, nets, {'a': BAD_CURVE, 'b': BAD_CURVE, 'c': GOOD_CURVE})
    write_report(root, nets, 'set', {'steps': 100, 'quadrature': 'riemann_left', 'crop': None, 'reference': True,
                                     'timings': {'srresnet FAIG': 600.0, 'srcnn_style FAIG': 60.0}})
    assert not osp.exists(osp.join(root, 'results/report_steps100_riemann_left_full.json'))
    record = json.load(open(osp.join(root, 'results/reference/srresnet/report_steps100_riemann_left_full.json')))
    assert list(record['nets']) == ['srresnet']
    assert record['nets']['srresnet']['stage_seconds'] == {'srresnet FAIG': 600.0}
    assert record['nets']['srresnet']['wall_seconds'] == {'faig': {'a': 2.0, 'b': 4.0, 'c': 6.0},
                                                         'ig': {'a': 1.0, 'b': 2.0, 'c': 3.0}, 'device': 'cpu'}
    text = open(path).read()
    assert '## Default budget vs --full' in text and 'agree on 10 of 12 findings' in text
    assert '| srresnet | 4_blur | holds (2/3 images) | does not hold (1/3 images) | **no** |' in text
    assert '| srcnn_style | 1 | holds (2/3 images) | holds (2/3 images) | yes |' in text
    assert 'Device:' not in text
    # every verdict at both budgets, per image, and the ones that differ named
    assert '| finding | budget | means | a | b | c |' in text
    assert '| 4_blur | default | holds | holds | holds | does not hold |\n' \
           '| 4_blur | --full | does not hold | does not hold | does not hold | holds |' in text
    assert '| 2 | --full | holds | holds | does not hold | holds |' in text
    assert ('Verdicts of srresnet that differ between the budgets: 4_blur on the means (default: holds, --full: does '
            'not hold); 4_blur on a (default: holds, --full: does not hold); 4_blur on b (default: holds, --full: does '
            'not hold); 4_blur on c (default: does not hold, --full: holds).') in text
    # the wall time per image of both budgets, and the stages the --full run computed
    assert '**srresnet: attribution wall time per image (s)** (default: cpu; --full: cpu)' in text
    assert '| image | FAIG, default | IG, default | FAIG, --full | IG, --full |' in text
    assert '| c | 6.0 | 3.0 | 6.0 | 3.0 |' in text and '| all images | 12.0 | 6.0 | 12.0 | 6.0 |' in text
    assert 'Stage times of the --full run that wrote the record of srresnet (a resumed stage: its last sitting): ' \
           'FAIG 600 s.' in text


def test_write_report_without_per_image_files(tmp_path):
    root = str(tmp_path)
    fake_run(root, ('srresnet',), {'a': GOOD_CURVE, 'b': GOOD_CURVE, 'c': GOOD_CURVE})
    os.remove(osp.join(root, 'results/Interpret/neuron-search/srresnet/set/faig/per_image_scores.npz'))
    write_report(root, ('srresnet',), 'set', {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64})
    data = json.load(open(osp.join(root, 'results/report_steps16_riemann_left_crop64.json')))
    findings = {f['id']: f for f in data['nets']['srresnet']['findings']}
    assert findings['3a']['holds'] and findings['3a']['per_image'] is None
    assert findings['1']['per_image']['images'] == 3
    text = open(osp.join(root, 'results/report.md')).read()
    assert text.count('no per-image data') == 2  # 3a and 3b
    assert 'No stage ran in this run' in text and '| stage | seconds |' not in text  # nothing timed: said so
    write_report(root, ('srresnet',), 'set', {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64,
                                              'timings': {'srresnet FAIG': 12.34}})
    text = open(osp.join(root, 'results/report.md')).read()
    assert '| stage | seconds |\n|---|---|\n| srresnet FAIG | 12.3 |' in text and 'No stage ran' not in text



def test_write_report_of_some_nets_keeps_the_other_nets_of_the_same_setting(tmp_path):
    """reproduce.py --nets: a --full run split by network keeps one reference record per network, and the
    default budget is compared with both."""
    root = str(tmp_path)
    fake_run(root, ('srresnet', 'srcnn_style'), {'a': GOOD_CURVE, 'b': GOOD_CURVE, 'c': BAD_CURVE})
    full = {'steps': 100, 'quadrature': 'riemann_left', 'crop': None, 'reference': True}
    reference = {net: osp.join(root, f'results/reference/{net}/report_steps100_riemann_left_full.json')
                 for net in ('srresnet', 'srcnn_style')}
    write_report(root, ('srcnn_style',), 'set', full)
    first = open(reference['srcnn_style'], 'rb').read()
    assert not osp.exists(reference['srresnet'])
    fake_run(root, ('srresnet',), {'a': BAD_CURVE, 'b': BAD_CURVE, 'c': GOOD_CURVE})
    path = write_report(root, ('srresnet',), 'set', full)
    data = json.load(open(reference['srresnet']))
    assert list(data['nets']) == ['srresnet']
    assert open(reference['srcnn_style'], 'rb').read() == first  # kept as it was, with the time of its own run
    assert not {f['id']: f for f in data['nets']['srresnet']['findings']}['4_blur']['holds']
    assert '**srcnn_style**' not in open(path).read()  # report.md shows the nets of this run

    # a rerun of one net replaces only its own record; the default budget then compares with both
    write_report(root, ('srcnn_style',), 'set', full)
    assert json.load(open(reference['srresnet'])) == data
    write_report(root, ('srresnet', 'srcnn_style'), 'set', {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64})
    assert 'agree on 12 of 12 findings' in open(path).read()  # 6 findings of each net: both were compared

    # srcnn_style's pair swapped, then only srresnet rerun: the old srcnn_style verdicts of both runs are left out
    torch.save({'params': {'conv0.weight': torch.ones(10, 10, 3, 3)}},
               osp.join(root, 'experiments/pretrained/srcnn_style/target_model.pth'))
    write_report(root, ('srresnet',), 'set', {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64})
    text = open(path).read()
    assert 'agree on 6 of 6 findings' in text and 'Not compared for srcnn_style: both runs were made' in text
    assert '| srcnn_style |' not in text


def test_write_report_of_a_staged_pair_reads_and_names_its_models(tmp_path):
    """reproduce.py --models_dir: the filter space and the sha1 come from that folder's targets; the report is
    written in the staged pair's results folder and the bundled pairs' results stay byte for byte."""
    from faig.specs import ResultsLayout, results_in, study_results_folder
    root = str(tmp_path)
    results = study_results_folder('experiments/pretrained/next')
    assert results == 'results/staged/experiments/pretrained/next'
    assert study_results_folder('a-b/c') != study_results_folder('a/b-c')
    outside = study_results_folder('../../elsewhere/next')
    assert outside.startswith('results/staged/outside/next-') and '..' not in outside
    fake_run(root, ('srresnet',), {'a': GOOD_CURVE, 'b': GOOD_CURVE, 'c': GOOD_CURVE})  # the bundled pair's run
    bundled = write_report(root, ('srresnet',), 'set', {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64})
    before = {p: open(p, 'rb').read() for p in glob.glob(osp.join(root, 'results', '*.*'))}
    fake_run(root, ('srresnet',), {'a': BAD_CURVE, 'b': BAD_CURVE, 'c': BAD_CURVE}, results)
    staged = make_dir(root, 'experiments/pretrained/next/srresnet')
    os.rename(osp.join(root, 'experiments/pretrained/srresnet/target_model.pth'), osp.join(staged, 'target_model.pth'))
    settings = {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64}
    with results_in(results):
        assert ResultsLayout('srresnet', 'set').metrics() == f'{results}/Interpret/metrics/srresnet/set'
        with pytest.raises(InputError, match="pretrained/srresnet/target_model.pth: checkpoint not found"):
            write_report(root, ('srresnet',), 'set', settings)  # (not the bundled target read instead)
        path = write_report(root, ('srresnet',), 'set', {**settings, 'models_dir': 'experiments/pretrained/next'})
    assert ResultsLayout('srresnet', 'set').root == 'results/Interpret'  # the default again after the study
    assert path == osp.join(root, results, 'report.md') and path != bundled
    text = open(path).read()
    assert 'Models: `experiments/pretrained/next/<net>/{baseline,target}_model.pth`.' in text
    assert 'were made with the bundled pairs, not with `experiments/pretrained/next`' in text
    assert '## Finding 2: weights' not in text
    data = json.load(open(osp.join(root, results, 'report_steps16_riemann_left_crop64.json')))
    assert data['models_dir'] == 'experiments/pretrained/next'
    assert data['nets']['srresnet']['target_sha1'] == sha1_file(osp.join(staged, 'target_model.pth'))
    # the staged run's modulation curves (BAD) are read, not the bundled run's (GOOD)
    assert not {f['id']: f for f in data['nets']['srresnet']['findings']}['4_blur']['holds']
    assert {p: open(p, 'rb').read() for p in glob.glob(osp.join(root, 'results', '*.*'))} == before


def test_report_json_keeps_other_nets_only_of_the_same_models(tmp_path):
    """A run of one net keeps the other nets' entries of report_<setting>.json only when they were made with the
    same models folder (a staged pair's verdicts are never relabelled as the bundled pairs')."""
    root = str(tmp_path)
    fake_run(root, ('srresnet', 'srcnn_style'), {'a': GOOD_CURVE, 'b': GOOD_CURVE, 'c': GOOD_CURVE})
    settings = {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64}
    json_path = osp.join(root, 'results/report_steps16_riemann_left_crop64.json')
    write_report(root, ('srresnet', 'srcnn_style'), 'set', settings)
    data = json.load(open(json_path))
    data['models_dir'] = 'experiments/pretrained/next'  # as a --models_dir run before results/staged/ existed
    with open(json_path, 'w') as f:
        json.dump(data, f)
    write_report(root, ('srresnet',), 'set', settings)
    data = json.load(open(json_path))
    assert list(data['nets']) == ['srresnet'] and data['models_dir'] == 'experiments/pretrained'
    write_report(root, ('srcnn_style',), 'set', settings)  # the same models folder: srresnet's entry is kept
    assert list(json.load(open(json_path))['nets']) == ['srresnet', 'srcnn_style']



@pytest.mark.parametrize('flags, flag', [(['--quadrature', 'foo'], '--quadrature'), (['--steps', '-3'], '--steps'),
                                         (['--steps', '0'], '--steps')])
def test_reproduce_bad_settings_are_one_line_before_any_stage(flags, flag):
    """reproduce.py checks its FAIG settings before the data and inference stages (they used to reach the
    quadrature as a traceback, minutes in, after a stage had been marked started)."""
    res = run_script([osp.join(REPO, 'scripts/reproduce.py'), *flags])
    assert res.returncode == 2 and res.stdout == ''
    assert res.stderr.count('\n') == 1 and res.stderr.startswith(f'error: {flag}:')


def test_per_image_scores_keep_images_named_like_savez_arguments(tmp_path):
    """Image names are file entries, not keyword arguments: 'file' and 'allow_pickle' are kept like any other,
    and ordinary names give the bytes np.savez gives."""
    import io

    from faig.attribution.ranking import npz_bytes
    from faig.reporting.records import read_per_image_scores
    arrays = {name: np.arange(4, dtype=np.float32) + i for i, name in enumerate(('file', 'allow_pickle', 'img 1'))}
    path = tmp_path / 'per_image_scores.npz'
    path.write_bytes(npz_bytes(arrays))
    read = read_per_image_scores(str(path), 4)
    assert sorted(read) == sorted(arrays) and all(np.array_equal(read[k], arrays[k]) for k in arrays)
    buffer = io.BytesIO()
    np.savez(buffer, a=arrays['img 1'], b=arrays['file'])
    assert npz_bytes({'a': arrays['img 1'], 'b': arrays['file']}) == buffer.getvalue()



# ---- the report as a reader sees it: summary first, every table rendering --------------------------------

UNESCAPED_PIPE = re.compile(r'(?<!\\)\|')


def markdown_tables(text):
    """[[row cells]] of every table in ``text`` (runs of lines that start with '|'), split on unescaped pipes."""
    tables, current = [], []
    for line in text.splitlines() + ['']:
        if line.startswith('|'):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables


def cells(row):
    return [c.strip().replace('\\|', '|') for c in UNESCAPED_PIPE.split(row)[1:-1]]


def report_with_every_section(tmp_path, monkeypatch):
    """A default-budget report with a --full reference, a retraining study (a selection labelled |θ−θ̄| ahead of
    FAIG) and a degradation-prediction record for both nets; returns (root, report text)."""
    import shutil

    import faig.reporting.studies
    import faig.reporting.summary
    from test_retrain import synthetic_study
    for module in (faig.reporting.studies, faig.reporting.summary):  # the fixtures' models are stand-ins
        monkeypatch.setattr(module, 'other_models_note', lambda *args, **kwargs: None)
    root = str(tmp_path)
    nets = ('srresnet', 'srcnn_style')
    fake_run(root, nets, {'a': BAD_CURVE, 'b': BAD_CURVE, 'c': GOOD_CURVE})
    write_report(root, nets, 'set', {'steps': 100, 'quadrature': 'riemann_left', 'crop': None, 'reference': True})
    study = synthetic_study()
    run = dict(study['runs']['r_faig'], selection='abs_filter_change')
    run['psnr'] = {t: {i: v + 1.0 for i, v in images.items()} for t, images in run['psnr'].items()}
    study['runs']['r_abs'] = run
    for net in nets:
        folder = make_dir(root, f'results/retrain_study/{net}')
        with open(osp.join(folder, 'study.json'), 'w') as f:
            json.dump(study, f)
        shutil.copy(osp.join(REPO, 'results/degradation_prediction/srresnet/prediction.json'),
                    make_dir(root, f'results/degradation_prediction/{net}'))
    fake_run(root, nets, {'a': GOOD_CURVE, 'b': GOOD_CURVE, 'c': BAD_CURVE})
    path = write_report(root, nets, 'set', {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64,
                                            'timings': {'srresnet | odd stage': 1.0}})
    return root, open(path).read()


def test_every_table_of_the_report_renders(tmp_path, monkeypatch):
    """Every row of every table has the columns of its header: a '|' inside a cell (|θ−θ̄|) is escaped."""
    _, text = report_with_every_section(tmp_path, monkeypatch)
    tables = markdown_tables(text)
    assert len(tables) > 20
    for table in tables:
        counts = [len(UNESCAPED_PIPE.findall(row)) for row in table]
        assert len(set(counts)) == 1, table
        assert re.fullmatch(r'\|(---\|)+', table[1]), table
    retraining = text.split('## Finding 2: weights')[1].split('\n## ')[0]
    assert '| \\|θ−θ̄\\| |' in retraining
    assert cells([r for r in retraining.splitlines() if 'θ' in r][0])[0] == '|θ−θ̄|'
    assert '| srresnet \\| odd stage | 1.0 |' in text
    # a method ahead of FAIG is listed as such, never next to a verdict as if it were the finding
    assert 'selections that recover more than FAIG: |θ−θ̄|' in retraining
    assert 'recovering more than FAIG' not in text


def test_the_report_opens_with_a_summary_that_matches_the_records(tmp_path, monkeypatch):
    from faig.evaluation.prediction_study import headline
    from faig.evaluation.retraining import findings as retraining_findings
    from faig.reporting.summary import anchor, retraining_title
    root, text = report_with_every_section(tmp_path, monkeypatch)
    assert [line for line in text.splitlines() if line.startswith('## ')][0] == '## Summary'
    table = markdown_tables(text.split('## Summary')[1])[0]
    assert cells(table[0]) == ['finding', 'network', 'budget', 'verdict (on the means)', 'holds per image',
                               'key number', 'section']
    records = {'default': json.load(open(osp.join(root, 'results/report_steps16_riemann_left_crop64.json'))),
               '--full': {net: json.load(open(osp.join(root, f'results/reference/{net}/'
                                                             'report_steps100_riemann_left_full.json')))
                          for net in ('srresnet', 'srcnn_style')}}
    study = json.load(open(osp.join(root, 'results/retrain_study/srresnet/study.json')))
    checks = {retraining_title(c['id']): c for c in retraining_findings(study)}
    prediction = headline(json.load(open(osp.join(root, 'results/degradation_prediction/srresnet/prediction.json'))))
    headings = {anchor(line) for line in text.splitlines() if line.startswith('#')}
    seen = set()
    for row in table[2:]:
        finding, net, budget, verdict, count, key, link = cells(row)
        assert verdict in ('holds', 'does not hold') and link[len('[details]('):-1] in headings
        seen.add((budget.split(' ')[0], net))
        if budget.startswith(('default', '--full')):
            record = records['default'] if budget.startswith('default') else records['--full'][net]
            f = [f for f in record['nets'][net]['findings'] if f['title'] == finding][0]
            per = f['per_image']
            assert verdict == ('holds' if f['holds'] else 'does not hold')
            assert count == f'{per["holds"]}/{per["images"]}'
        elif budget == 'retraining study':
            c = checks[finding]
            assert verdict == ('holds' if c['holds'] else 'does not hold')
            assert count == f'{c["per_image"]["holds"]}/{c["per_image"]["images"]}'
        else:
            assert budget == 'prediction study' and verdict == ('holds' if prediction['goal_met'] else 'does not hold')
            assert f'{100 * prediction["filters"]:.1f} %' in key and f'{100 * prediction["classical"]:.1f} %' in key
    assert seen == {(b, n) for b in ('default', '--full', 'retraining', 'prediction')
                    for n in ('srresnet', 'srcnn_style')}
    rows = [cells(r) for r in table[2:]]
    # the key numbers: the masking ratio, FAIG against the best other method at 1 %, a curve's break
    ratio = [r for r in rows if r[0].startswith('1.') and r[2].startswith('default')][0]
    assert ratio[5] == 'masking ratio: blurry input 3.0×, noisy input 3.0× (holds at ≥ 2× on both)'
    at1 = [r for r in rows if r[0].startswith('2.') and r[2].startswith('default')][0]
    assert at1[5] == ('at 1 %, deblurring: FAIG 1.0000 vs best other IG 0.5000; '
                      'denoising: FAIG 1.0000 vs best other IG 0.5000')
    broken = [r for r in rows if 'deblurring filters is monotone' in r[0] and r[2].startswith('--full')][0]
    assert broken[3] == 'does not hold' and 'not monotone from λ=0.2 to λ=0.4 (0.8000 → 0.9333)' in broken[5]
    retrain = [r for r in rows if r[2] == 'retraining study' and r[0].startswith('2 (retraining)')][0]
    assert 'more than FAIG: |θ−θ̄|' in retrain[5]


def test_headings_links_follow_github():
    from faig.reporting.summary import anchor
    assert anchor('## Default budget vs --full') == '#default-budget-vs---full'
    assert anchor('## Finding 2: weights, locations, connections') == '#finding-2-weights-locations-connections'
    assert anchor('### Findings on srcnn_style') == '#findings-on-srcnn_style'


def test_only_a_reference_run_writes_the_reference_records(tmp_path):
    """A default-budget run (or any run that is not --full) reads results/reference/ and never writes there."""
    root = str(tmp_path)
    nets = ('srresnet', 'srcnn_style')
    fake_run(root, nets, {'a': GOOD_CURVE, 'b': GOOD_CURVE, 'c': GOOD_CURVE})
    default = {'steps': 16, 'quadrature': 'riemann_left', 'crop': 64}
    write_report(root, nets, 'set', default)
    path = write_report(root, nets, 'set', {'steps': 100, 'quadrature': 'riemann_left', 'crop': None})
    assert not osp.exists(osp.join(root, 'results/reference'))
    # a --full record where an earlier version kept it: not compared, and the command that records it is named
    assert 'Not compared yet' in open(path).read()
    assert '`results/report_steps100_riemann_left_full.json` is the record of a --full run of an earlier version' \
        in open(path).read()
    write_report(root, ('srresnet',), 'set', {'steps': 100, 'quadrature': 'riemann_left', 'crop': None,
                                              'reference': True})
    before = {p: open(p, 'rb').read() for p in glob.glob(osp.join(root, 'results/reference/**'), recursive=True)
              if osp.isfile(p)}
    assert list(before) == [osp.join(root, 'results/reference/srresnet/report_steps100_riemann_left_full.json')]
    fake_run(root, nets, {'a': BAD_CURVE, 'b': BAD_CURVE, 'c': BAD_CURVE})
    path = write_report(root, nets, 'set', default)
    write_report(root, nets, 'set', {**default, 'steps': 32})
    after = {p: open(p, 'rb').read() for p in glob.glob(osp.join(root, 'results/reference/**'), recursive=True)
             if osp.isfile(p)}
    assert after == before
    assert '| srresnet | 4_blur | does not hold (0/3 images) | holds (3/3 images) | **no** |' in open(path).read()


def test_reference_folder_is_not_ignored_by_git():
    import subprocess
    res = subprocess.run(['git', 'check-ignore', '-q', 'results/reference/srresnet/report_x.json'], cwd=REPO)
    assert res.returncode == 1  # 1: not ignored (0 would be ignored)


def test_summary_says_why_a_study_has_no_rows():
    from faig.reporting.summary import summary_section
    text = render(summary_section(['srresnet', 'srcnn_style'], [], {'srresnet': 'left out (other models)',
                                                                     'srcnn_style': None}, {}))
    assert '| 2 (retraining). Weights, locations, connections | srresnet | retraining study | left out (other models) |' \
        in text
    assert '| srcnn_style | retraining study | not recorded yet |' in text
