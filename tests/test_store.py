"""One record for every cached result (faig.store): a change of one input -- a model, an image, a setting -- makes
the tools redo exactly the outputs made from it and reuse the rest; records of earlier versions load, records of a
later one are refused in one line."""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from conftest import write_images  # noqa: E402
from test_bad_input import FAIG, LR, NET_ARG, TOOLS, pristine, sandbox  # noqa: E402,F401  (fixtures)

from faig.errors import InputError  # noqa: E402
from faig.store import (RECORD_FORMAT, STAMP, PartialStore, RunOutputs, StampedFolder, read_record,  # noqa: E402
                        record_bytes, same_model, sha1_file, state_digest)

IG = [f'{TOOLS}/ig.py', '--network_g', NET_ARG, '--bic_folder', LR['clean'], '--blur_folder', LR['blur'],
      '--noise_folder', LR['noise'], '--total_step', '2', '--record_filters_folder', 'out/ig']
OUTPUTS = {'faig': 'out/faig', 'ig': 'out/ig'}


@pytest.fixture
def computed(monkeypatch):
    """{method: number of images it attributed} since the last reset (``computed.clear()``)."""
    from faig.attribution.methods import FAIG as FaigMethod
    from faig.attribution.methods import IG as IgMethod
    counts = {}
    for name, cls in (('faig', FaigMethod), ('ig', IgMethod)):
        real = cls.attribute

        def counted(self, *args, real=real, name=name, **kwargs):
            counts[name] = counts.get(name, 0) + 1
            return real(self, *args, **kwargs)
        monkeypatch.setattr(cls, 'attribute', counted)
    return counts


def run_tool(sandbox, monkeypatch, command, *extra):
    """The original's per-network tool in this process; its exit status."""
    from faig.cli.attribution import run_tool as tool
    monkeypatch.chdir(sandbox)
    name = osp.splitext(osp.basename(command[0]))[0]
    try:
        tool(name, 'srresnet', [*command[1:], *extra])
    except SystemExit as exc:
        return exc.code
    return 0


def files_of(sandbox):
    return {name: {f: (sandbox / folder / f).read_bytes() for f in sorted(os.listdir(sandbox / folder))}
            for name, folder in OUTPUTS.items()}


def change_baseline(sandbox):
    path = sandbox / 'experiments/srresnet/baseline_model.pth'
    params = torch.load(path, weights_only=True)['params_ema']
    torch.save({'params_ema': {k: v * 0.5 if v.ndim == 4 else v for k, v in params.items()}}, path)


def change_gt_image(sandbox):
    write_images(str(sandbox / 'datasets/Tiny/GTmod12'), [(16, 20)], seed=21)  # img0.png, other pixels


def change_clean_image(sandbox):
    write_images(str(sandbox / LR['clean']), [(8, 10)], seed=22)


@pytest.mark.parametrize('change, setting, redone', [
    (change_baseline, (), {'faig'}),  # IG reads the target model only
    (change_gt_image, (), {'faig'}),  # IG reads no GT
    (change_clean_image, (), {'ig'}),  # FAIG reads no clean LR image
    (None, ('--total_step', '3'), {'faig'}),  # a setting of FAIG's run only
], ids=['model', 'gt image', 'clean image', 'setting'])
def test_one_changed_input_redoes_exactly_the_outputs_made_from_it(sandbox, monkeypatch, computed, change, setting,
                                                                   redone):
    commands = {'faig': FAIG, 'ig': IG}
    for command in commands.values():
        assert run_tool(sandbox, monkeypatch, command) == 0
    assert computed == {'faig': 2, 'ig': 2}
    before = files_of(sandbox)
    computed.clear()
    for command in commands.values():  # nothing changed: every output is reused
        assert run_tool(sandbox, monkeypatch, command, '--resume') == 0
    assert computed == {} and files_of(sandbox) == before

    if change:
        change(sandbox)
    extra = {'faig': setting, 'ig': ()}
    for name in sorted(redone):  # without --force the results of other inputs are kept, with one line
        assert run_tool(sandbox, monkeypatch, commands[name], *extra[name], '--resume') == 2
    for name, command in commands.items():
        assert run_tool(sandbox, monkeypatch, command, *extra[name], '--resume', '--force') == 0
    assert computed == {name: 2 for name in redone}
    after = files_of(sandbox)
    for name in commands:
        assert (after[name] == before[name]) == (name not in redone), name
        assert not (sandbox / OUTPUTS[name] / '.partial').exists()


def test_records_of_earlier_versions_load_and_of_later_ones_are_refused(sandbox, monkeypatch, computed, capsys):
    assert run_tool(sandbox, monkeypatch, FAIG) == 0
    meta_path = sandbox / 'out/faig/meta.json'
    meta = json.loads(meta_path.read_text())
    assert meta['record_format'] == RECORD_FORMAT and meta['run_key']['total_step'] == 2
    computed.clear()
    earlier = {k: v for k, v in meta.items() if k != 'record_format'}  # as every version before the format wrote it
    meta_path.write_text(json.dumps(earlier, indent=2, sort_keys=True))
    assert run_tool(sandbox, monkeypatch, FAIG, '--resume') == 0
    assert computed == {}  # reused, not run again
    meta_path.write_text(json.dumps({**meta, 'record_format': RECORD_FORMAT + 1}))
    capsys.readouterr()
    assert run_tool(sandbox, monkeypatch, FAIG, '--resume') == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f'record format {RECORD_FORMAT + 1}' in err[0], err
    assert computed == {}


def test_read_record_refuses_sets_aside_or_skips(tmp_path, capsys):
    path = tmp_path / 'meta.json'
    assert read_record(str(path), 'record', bad='skip') is None
    assert read_record(str(path), 'record', bad='set_aside') is None
    with pytest.raises(InputError, match='not a readable record'):
        read_record(str(path), 'record')
    path.write_text('[1, 2]')
    with pytest.raises(InputError, match='not a record'):
        read_record(str(path), 'record')
    assert read_record(str(path), 'record', bad='set_aside') is None
    assert not path.exists() and 'set aside' in capsys.readouterr().err
    path.write_bytes(record_bytes({'a': 1}))
    assert read_record(str(path), 'record') == {'a': 1, 'record_format': RECORD_FORMAT}
    path.write_text(json.dumps({'a': 1, 'record_format': 'two'}))
    with pytest.raises(InputError, match="record format 'two'"):
        read_record(str(path), 'record')
    assert read_record(str(path), 'record', bad='skip') is None


def test_a_stamped_folder_is_fresh_for_its_key_and_unchanged_files_only(tmp_path):
    folder = StampedFolder(str(tmp_path), {'model': 'a', 'inputs': {'x.png': '1'}})
    (tmp_path / 'x.png').write_bytes(b'x')
    assert not folder.fresh(['x'])
    folder.seal(['x'])
    assert folder.fresh(['x']) and not folder.fresh(['x', 'y'])
    assert not StampedFolder(str(tmp_path), {'model': 'b', 'inputs': {'x.png': '1'}}).fresh(['x'])
    (tmp_path / 'x.png').write_bytes(b'edited')
    assert not folder.fresh(['x'])
    folder.invalidate()
    assert not (tmp_path / STAMP).exists()


def test_run_outputs_claims_commits_and_drops_partial_results(tmp_path):
    out = str(tmp_path / 'out')
    with RunOutputs(out, {'steps': 2}, ('*.txt', 'meta.json'), partial_ignore=()) as outputs:
        assert outputs.state == 'new'
        outputs.partial({'steps': 2}).put('img0', {'a': np.zeros(1)})
        outputs.commit({'a.txt': b'a', 'meta.json': json.dumps({'run_key': {'steps': 2}}).encode()})
    assert sorted(os.listdir(out)) == ['a.txt', 'meta.json']  # no lock, no partial results left
    assert json.loads(open(osp.join(out, 'meta.json')).read())['files'] == ['a.txt', 'meta.json']
    with RunOutputs(out, {'steps': 2}, ('*.txt', 'meta.json'), resume=True) as outputs:
        assert outputs.up_to_date
    with pytest.raises(InputError, match=r'other settings \(steps: 2 before, 3 now\)'):
        RunOutputs(out, {'steps': 3}, ('*.txt', 'meta.json')).__enter__()
    with RunOutputs(out, {'steps': 3}, ('*.txt', 'meta.json'), force=True) as outputs:
        assert outputs.state == 'forced'
    with pytest.raises(InputError, match='reads from'):
        RunOutputs(out, {}, (), inputs={'--input_folder': str(tmp_path)}).__enter__()
    PartialStore(out, {'steps': 3}, resume=False).put('img0', {'a': np.zeros(1)})  # a killed run of 3 steps
    with RunOutputs(out, {'steps': 3}, ('*.txt', 'meta.json'), resume=True, partial_ignore=()) as outputs:
        assert outputs.state == 'forced'  # its --resume may replace what it was started to replace


def test_a_model_is_known_by_its_tensors_or_by_the_file_an_earlier_record_named(tmp_path):
    state = {'w': torch.ones(2, 2)}
    torch.save({'params': state}, tmp_path / 'a.pth')
    torch.save({'params_ema': state}, tmp_path / 'b.pth')  # the same model in another file
    path = str(tmp_path / 'a.pth')
    assert same_model(state_digest(state), str(tmp_path / 'b.pth'), state)
    assert same_model(sha1_file(path), path, state)
    assert not same_model(sha1_file(str(tmp_path / 'b.pth')), path, state)
    assert not same_model(state_digest({'w': torch.zeros(2, 2)}), path, state)


def json_reads(path):
    """Lines of ``path`` that call ``json.load`` (a record read by hand)."""
    import ast
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == 'load'
            and isinstance(node.func.value, ast.Name) and node.func.value.id == 'json']


def test_records_are_read_through_the_store():
    from conftest import REPO
    found = {}
    for top in ('faig', 'scripts'):
        for folder, _, names in os.walk(osp.join(REPO, top)):
            for name in names:
                path = osp.join(folder, name)
                relative = osp.relpath(path, REPO)
                if name.endswith('.py') and not relative.startswith('faig/store/') and json_reads(path):
                    found[relative] = json_reads(path)
    assert found == {}, found
    assert json_reads(osp.join(REPO, 'faig/store/records.py'))  # the one reader is seen by the same parser
