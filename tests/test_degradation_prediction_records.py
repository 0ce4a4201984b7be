"""The committed degradation-prediction records load without a rerun and the code reproduces them; a record of
another format, or a file that is not one, is refused in one line.

The refit uses the per-image numbers each record holds: every prediction and every summary must come out as
recorded, and every threshold to the last few bits (np.log10 may round differently with another vector width).
"""
import json
import os
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from conftest import REPO, load_script  # noqa: E402

from faig.errors import InputError  # noqa: E402
from faig.evaluation.degradation_predictor import PREDICTORS  # noqa: E402
from faig.evaluation.prediction_inputs import InputImage  # noqa: E402
from faig.evaluation.prediction_study import STUDY_FORMAT, fit_study, read_study, summaries  # noqa: E402

RECORDS = osp.join(REPO, 'results', 'degradation_prediction')
NETS = sorted(d for d in os.listdir(RECORDS) if osp.isfile(osp.join(RECORDS, d, 'prediction.json')))


def thresholds(calibration):
    return [calibration['thresholds'][d][side]['value'] if side else calibration['thresholds'][d]['value']
            for d in calibration['degradations'] for side in ((None,) if d == calibration['first'] else
                                                               ('absent', 'present'))]


def test_there_are_committed_records():
    assert NETS, RECORDS


@pytest.mark.parametrize('net', NETS)
def test_committed_record_is_reproduced_from_its_numbers(net):
    study = read_study(osp.join(RECORDS, net, 'prediction.json'))
    assert 'format' not in study  # committed before records carried a version: read as format 1
    calibration_split = [r for r in study['records'] if r['split'] == 'calibration']
    entries = [InputImage(r['image'], r['image'], r['true'], r['level']) for r in calibration_split]
    values = {key: {r['image']: r[key] for r in calibration_split} for key in PREDICTORS}
    trained = [lv['name'] for lv in study['levels'] if lv['trained']]
    fitted = fit_study(values, entries, trained, tuple(study['degradations']))
    for cal_key, by_predictor in fitted.items():
        for key, calibration in by_predictor.items():
            recorded = study['calibrations'][cal_key][key]
            refit = calibration.to_json()
            assert (refit['first'], refit['features'], refit['counts']) == \
                (recorded['first'], recorded['features'], recorded['counts'])
            assert thresholds(refit) == pytest.approx(thresholds(recorded), rel=1e-12)
            assert [calibration.predict([r[key]])[0] for r in study['records']] == \
                [r['predicted'][cal_key][key] for r in study['records']]
    assert summaries(study['records'], study['labels'], 'test') == study['summary']
    assert summaries(study['records'], study['labels'], 'calibration') == study['summary_calibration_split']


def report_only(tmp_path, study_bytes, capsys):
    """``--report_only`` on a copy of a record: (exit code or None, stderr lines, the folder)."""
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'prediction.json').write_bytes(study_bytes)
    script = load_script('predict_degradation_study', REPO)
    cwd = os.getcwd()
    try:
        script.main(['--report_only', '--out', str(out)])
        code = None
    except SystemExit as exc:
        code = exc.code
    finally:
        os.chdir(cwd)
    return code, capsys.readouterr().err.strip().splitlines(), out


@pytest.mark.parametrize('net', NETS)
def test_committed_record_renders_its_committed_markdown(net, tmp_path, capsys):
    with open(osp.join(RECORDS, net, 'prediction.json'), 'rb') as f:
        code, err, out = report_only(tmp_path, f.read(), capsys)
    assert code is None and not err
    with open(osp.join(RECORDS, net, 'prediction.md'), 'rb') as f:
        assert (out / 'prediction.md').read_bytes() == f.read()
    for name in ('scatter.png', 'confusion.png', 'level_scatter.png'):
        assert (out / name).read_bytes()[:4] == b'\x89PNG'


@pytest.mark.parametrize('case', ['newer format', 'foreign record', 'not an object', 'not JSON'])
def test_other_records_are_refused_in_one_line(case, tmp_path, capsys):
    with open(osp.join(RECORDS, NETS[0], 'prediction.json')) as f:
        study = json.load(f)
    if case == 'newer format':
        data = json.dumps({**study, 'format': STUDY_FORMAT + 1}).encode()
        problem = f'a degradation-prediction record of format {STUDY_FORMAT + 1}; this version reads format ' \
                  f'{STUDY_FORMAT}'
    elif case == 'foreign record':
        data = json.dumps({'net': study['net'], 'selections': {}}).encode()
        problem = 'not a degradation-prediction record (no degradations, labels, levels, calibrations, summary, ' \
                  'records)'
    elif case == 'not an object':
        data = b'[1, 2]'
        problem = 'not a degradation-prediction record'
    else:
        data = b'{"net": '
        problem = 'not a readable degradation-prediction record (JSONDecodeError)'
    code, err, out = report_only(tmp_path, data, capsys)
    path = out / 'prediction.json'
    assert code == 2 and len(err) == 1 and err[0].startswith(f'error: {path}: {problem}'), err
    assert sorted(os.listdir(out)) == ['prediction.json']
    with pytest.raises(InputError):
        read_study(str(path))


def test_a_record_of_this_format_loads(tmp_path):
    with open(osp.join(RECORDS, NETS[0], 'prediction.json')) as f:
        study = json.load(f)
    path = tmp_path / 'prediction.json'
    path.write_text(json.dumps({**study, 'format': STUDY_FORMAT}))
    assert read_study(str(path))['summary'] == study['summary']
