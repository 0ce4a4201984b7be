"""The in-memory comparison (faig.evaluation.comparison.compare) and the table it returns."""
import io
import sys

import numpy as np
import pytest
import torch

from faig import AbsoluteFilterChange, RandomFilters, masked
from faig.evaluation.comparison import COLUMNS, compare, output_maps, read_comparison
from faig.errors import InputError
from faig.evaluation.gradient_map import per_image_difference
from faig.networks import build_network

from test_attribution import TINY_NETS, make_pair

PAIR = ('blur', 'noise')


@pytest.fixture(scope='module')
def setting():
    baseline, target = make_pair(TINY_NETS['srresnet'], dtype=torch.float32)
    net = build_network(TINY_NETS['srresnet']).eval()
    net.load_state_dict(target)
    g = torch.Generator().manual_seed(3)
    inputs = {deg: torch.rand(2, 3, 8, 6, generator=g) for deg in PAIR}
    scores = {'abs_filter_change': AbsoluteFilterChange(net, baseline).attribute(degradations=PAIR),
              'random': RandomFilters(net, seed=1).attribute(degradations=PAIR)}
    return net, baseline, target, inputs, scores


def test_compare_measures_each_masking_on_every_image_and_restores_the_network(setting):
    net, baseline, target, inputs, scores = setting
    table = compare(net, baseline, scores, inputs, proportions=(10, 50))
    assert table.columns == COLUMNS
    assert all(torch.equal(v, target[k]) for k, v in net.state_dict().items())  # restored exactly
    rows = {tuple(r[:5]): r[5] for r in table.rows}
    assert len(rows) == len(table.rows) == 2 * 2 * 2 * 2 * 3  # methods × p × masked × input × (mean, 2 images)
    # one cell by hand: the random 50 % deblurring filters masked, noisy input, image 1
    reference = output_maps(net, {'1': inputs['noise'][1:2]})
    with masked(net, baseline, scores['random'].top(50, 'blur', 'noise')):
        by_hand = per_image_difference(output_maps(net, {'1': inputs['noise'][1:2]}), reference)['1']
    assert rows[('random', 50, 'blur', 'noise', '1')] == pytest.approx(by_hand) and by_hand > 0
    images = [rows[('random', 50, 'blur', 'noise', i)] for i in '01']
    assert rows[('random', 50, 'blur', 'noise', 'mean')] == pytest.approx(np.mean(images))


def test_compare_table_writes_the_csv_of_the_command_line_comparison(setting, tmp_path):
    net, baseline, _, inputs, scores = setting
    named = {deg: {f'img{i}': images[i:i + 1] for i in range(2)} for deg, images in inputs.items()}
    table = compare(net, baseline, scores, named, proportions=(10,))
    path = tmp_path / 'comparison.csv'
    table.to_csv(str(path), formats={'output_difference': '{:.6f}'})
    means, per_image = read_comparison(str(path))
    assert set(per_image[('abs_filter_change', 10, 'noise', 'blur')]) == {'img0', 'img1'}
    for record in table.records():
        key = (record['method'], record['proportion_percent'], record['masked_filters'], record['input'])
        read = means[key] if record['image'] == 'mean' else per_image[key][record['image']]
        assert read == pytest.approx(record['output_difference'], abs=1e-6)
    buffer = io.StringIO()
    table.to_csv(buffer)
    assert buffer.getvalue().splitlines()[0] == ','.join(COLUMNS)


def test_compare_refuses_inputs_of_other_images(setting):
    net, baseline, _, inputs, scores = setting
    with pytest.raises(InputError, match='images differ: 1'):
        compare(net, baseline, scores, {'blur': inputs['blur'], 'noise': inputs['noise'][:1]})


def test_dataframe_needs_pandas_and_says_so(setting, monkeypatch):
    net, baseline, _, inputs, scores = setting
    table = compare(net, baseline, {'random': scores['random']}, inputs, proportions=(10,))
    monkeypatch.setitem(sys.modules, 'pandas', None)  # as if pandas were not installed
    with pytest.raises(ImportError, match='pip install pandas'):
        table.to_dataframe()


def test_dataframe_with_pandas(setting):
    pandas = pytest.importorskip('pandas')
    net, baseline, _, inputs, scores = setting
    table = compare(net, baseline, {'random': scores['random']}, inputs, proportions=(10,))
    frame = table.to_dataframe()
    assert isinstance(frame, pandas.DataFrame) and list(frame.columns) == COLUMNS and len(frame) == len(table.rows)
