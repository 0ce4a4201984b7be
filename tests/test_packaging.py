"""A normal (non-editable) install of the wheel holds every sub-package, the public API imports, and the
``faig`` command answers; the install requirements are ranges (they never replace a researcher's torch)."""
import os
import shutil
import subprocess
import sys
import zipfile

from conftest import REPO


def test_wheel_installs_and_public_api_imports(tmp_path):
    source = tmp_path / 'src'  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        '.git', 'datasets', 'results', 'experiments', 'build', '*.egg-info', '__pycache__', '.pytest_cache', 'tb_logger'))
    build = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w',
                            str(tmp_path / 'dist'), str(source)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next((tmp_path / 'dist').glob('faig-*.whl'))
    names = zipfile.ZipFile(wheel).namelist()
    for package in ('faig', 'faig/attribution', 'faig/evaluation', 'faig/cli', 'faig/archs', 'faig/data',
                    'faig/models'):
        assert f'{package}/__init__.py' in names, package
    info = next(n.rpartition('/')[0] for n in names if n.endswith('.dist-info/METADATA'))
    metadata = zipfile.ZipFile(wheel).read(f'{info}/METADATA').decode()
    requires = {line.split(':', 1)[1].strip().split(';')[0].replace(' ', '') for line in metadata.splitlines()
                if line.startswith('Requires-Dist:')}
    assert {'torch>=2.1', 'basicsr<1.5,>=1.4.2', 'torchvision', 'numpy'} <= requires, requires
    assert not any('==' in r for r in requires), requires  # exact versions are the reproduction's
    entry_points = zipfile.ZipFile(wheel).read(f'{info}/entry_points.txt').decode()
    assert 'faig = faig.cli.main:main' in entry_points, entry_points
    site = tmp_path / 'site'
    install = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', str(site),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    code = ('import faig, faig.attribution as A, faig.evaluation as E\n'
            'from faig.attribution import FilterSpace, ParameterPath, integrate_gradients, faig_image, ig_image, '
            'absolute_filter_change, random_rankings\n'
            'from faig.evaluation import substitute_filters, modulate_filters, gradient_map, output_difference\n'
            'from faig.networks import build_network, preset\n'
            'from faig import FAIG, IG, AbsoluteFilterChange, RandomFilters, FilterScores, masked, modulated\n'
            'import torch\n'
            'net = build_network(preset("srcnn_style", 2))\n'
            'print(faig.__file__)\n'
            'print(FilterSpace(net.state_dict()).num_filters)')
    run = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(site)))
    assert run.returncode == 0, run.stderr[-3000:]
    installed_at, filters = run.stdout.split()[-2:]
    assert installed_at.startswith(str(site))  # the wheel's copy, not the checkout
    assert int(filters) == 156224
    command = subprocess.run([str(site / 'bin' / 'faig'), '--help'], cwd=tmp_path, capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=str(site)))
    assert command.returncode == 0, command.stderr[-3000:]
    assert command.stdout.startswith('usage: faig study') and '\n       faig TOOL' in command.stdout, command.stdout
    for tool in ('faig', 'ig', 'absolute_filter_change', 'random_neurons', 'mask_neurons', 'comparison', 'inference'):
        assert f' {tool},' in command.stdout or f' {tool};' in command.stdout, tool
    tool = subprocess.run([str(site / 'bin' / 'faig'), 'random_neurons', '--net', 'srresnet', '--help'], cwd=tmp_path,
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(site)))
    assert tool.returncode == 0 and tool.stdout.startswith('usage: faig random_neurons --net srresnet'), tool.stdout
