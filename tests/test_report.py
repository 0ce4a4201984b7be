"""The finding checks of results/report.md on hand-made numbers (each verdict can go both ways)."""
import numpy as np

from faig.attribution.filters import FilterSpace
from faig.report import finding_faig_beats_others, finding_location, finding_masking_ratio, finding_modulation

from test_attribution import TINY_NETS, make_pair


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


def test_masking_ratio_verdict():
    holds, text = finding_masking_ratio(results_table(1.0, 0.1, 0.5))
    assert holds and '10.0×' in text
    holds, _ = finding_masking_ratio(results_table(1.0, 0.8, 0.5))
    assert not holds


def test_faig_beats_others_names_the_failures():
    ok, at1, _ = finding_faig_beats_others(results_table(1.0, 0.1, 0.5), [1, 3])
    assert ok and at1
    table = results_table(1.0, 0.1, 0.5)
    table[('ig', 3, 'noise', 'noise')] = 10.0
    ok, at1, text = finding_faig_beats_others(table, [1, 3])
    assert not ok and at1 and 'denoising at 3% (IG' in text


def test_modulation_monotone_verdict():
    lambdas = np.linspace(0, 2, 11).tolist()
    good = {'lambdas': lambdas, 'output_difference': [abs(1 - l) for l in lambdas]}
    assert finding_modulation(good)[0]
    bad = dict(good, output_difference=[abs(1 - l) + (0.3 if i == 2 else 0) for i, l in enumerate(lambdas)])
    assert not finding_modulation(bad)[0]


def test_location_verdicts_follow_the_rankings():
    _, target = make_pair(TINY_NETS['srresnet'])
    space = FilterSpace(target)
    first, last = space.entries[0], space.entries[-2]
    back = np.concatenate([np.arange(last.offset, last.offset + last.count), np.arange(first.offset)])
    spread = np.random.default_rng(0).permutation(space.num_filters)
    further_back, more_uniform, text = finding_location(space, {'blur': back, 'noise': spread})
    assert further_back and more_uniform and 'mean layer depth' in text
    further_back, more_uniform, _ = finding_location(space, {'blur': spread, 'noise': back})
    assert not further_back and not more_uniform
