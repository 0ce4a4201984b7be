"""What the tools know of a network comes from its spec: the module imported alone for a fast start, and the
network a ranking was made for (scripts/pair_report.py finds it from the ranking's record)."""
import importlib.util
import json
import os.path as osp

import pytest

from conftest import REPO
from faig.errors import InputError
from faig.registration import LIGHT_ARCHS
from faig.specs import NETWORKS


def load_script(name):
    spec = importlib.util.spec_from_file_location(f'script_{name}', osp.join(REPO, 'scripts', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_light_imports_are_those_the_network_specs_name():
    assert LIGHT_ARCHS == {spec.arch_type: spec.arch_module for spec in NETWORKS.values() if spec.arch_module}
    assert len(LIGHT_ARCHS) == len(NETWORKS)  # every bundled network starts fast


@pytest.mark.parametrize('net', sorted(NETWORKS))
def test_pair_report_takes_the_network_of_the_rankings(tmp_path, net):
    check_network = load_script('pair_report').check_network
    meta = tmp_path / 'meta.json'
    meta.write_text(json.dumps({'network': {'type': NETWORKS[net].arch_type}}))
    assert check_network(None, str(meta)) == net
    assert check_network(net, str(meta)) == net
    other = next(name for name in NETWORKS if name != net)
    with pytest.raises(InputError, match=f'--net {other}: the rankings were made for .*; pass --net {net}'):
        check_network(other, str(meta))


def test_pair_report_asks_for_the_network_of_rankings_of_an_unregistered_arch(tmp_path):
    check_network = load_script('pair_report').check_network
    meta = tmp_path / 'meta.json'
    meta.write_text(json.dumps({'network': {'type': 'MyOwnNet'}}))
    with pytest.raises(InputError, match='--net: the rankings .* name no registered network \\(MyOwnNet\\); pass one'):
        check_network(None, str(meta))
