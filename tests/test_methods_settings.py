"""Settings of a method are data (faig.attribution.methods.Setting) declared with the method; the command line
makes its flags of them: the built-in methods keep the original's flags and defaults, and a plugin method's
settings get flags, checks and defaults the same way."""
import pytest

from faig.attribution.methods import METHODS, AttributionMethod, Setting, get_method, register
from faig.cli.attribution import method_from_args, method_parser
from faig.specs import NETWORKS


@pytest.fixture
def plugin_method():
    """A method registered for one test (removed from the registry after it)."""
    @register
    class Smoothed(AttributionMethod):
        name = 'smoothed_test_method'
        setting_specs = (
            Setting('samples', int, 8, 'noise samples per image', low=1, high=64),
            Setting('spread', float, 0.5, 'noise level, {net} inputs', low=0.0),
            Setting('kernel', str, 'box', 'smoothing kernel', choices=('box', 'gauss')),
        )
        presets = {'quick': {'help': 'two samples', 'settings': {'samples': 2}}}

        def __init__(self, samples=8, spread=0.5, kernel='box'):
            super().__init__(samples=samples, spread=spread, kernel=kernel)

    yield Smoothed
    del METHODS[Smoothed.name]


def parse(cls, argv, net='srresnet'):
    parser, _ = method_parser(cls, net)
    return parser, parser.parse_args(argv)


def test_a_plugin_methods_settings_become_flags(plugin_method):
    parser, args = parse(plugin_method, [])
    method = method_from_args(plugin_method, args, 'srresnet')
    assert method.settings == {'samples': 8, 'spread': 0.5, 'kernel': 'box'}
    assert method.config() == {'method': 'smoothed_test_method', 'samples': 8, 'spread': 0.5, 'kernel': 'box'}
    help_text = parser.format_help()
    assert 'noise level, srresnet inputs' in help_text and '--quick' in help_text and '--gt_folder' in help_text

    _, args = parse(plugin_method, ['--samples', '64', '--spread', '2.5', '--kernel', 'gauss'])
    assert method_from_args(plugin_method, args, 'srresnet').settings == {'samples': 64, 'spread': 2.5,
                                                                          'kernel': 'gauss'}
    _, args = parse(plugin_method, ['--quick'])
    assert method_from_args(plugin_method, args, 'srresnet').settings['samples'] == 2


@pytest.mark.parametrize('argv,message', [
    (['--samples', '65'], "--samples: 65: a samples must be an integer in [1, 64]"),
    (['--samples', 'many'], "--samples: 'many' is not an integer"),
    (['--spread', '-1'], '--spread: -1 must be >= 0.0'),
    (['--spread', 'inf'], '--spread: inf is not a finite number'),
    (['--kernel', 'disk'], "--kernel: invalid choice: 'disk'"),
])
def test_a_plugin_setting_out_of_its_bounds_is_a_one_line_error(plugin_method, argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(plugin_method, argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count('\n') == 1 and err.startswith(f'error: {message}'), err


def test_the_built_in_methods_keep_the_original_flags_and_defaults():
    flags = {name: {a.dest: a.default for a in method_parser(get_method(name), 'srresnet')[0]._actions}
             for name in ('faig', 'ig', 'random')}
    assert {k: flags['faig'][k] for k in ('total_step', 'quadrature', 'precision', 'nodes_per_pass', 'fast')} == {
        'total_step': 100, 'quadrature': None, 'precision': 'fp32', 'nodes_per_pass': 1, 'fast': False}
    assert {k: flags['ig'][k] for k in ('total_step', 'quadrature')} == {'total_step': 100, 'quadrature': None}
    assert {k: flags['random'][k] for k in ('seed', 'total_neuron_nums')} == {'seed': 0, 'total_neuron_nums': None}


@pytest.mark.parametrize('net', sorted(NETWORKS))
def test_network_dependent_defaults_and_the_fast_preset(net):
    ig = get_method('ig')
    assert method_from_args(ig, parse(ig, [], net)[1], net).settings['quadrature'] == NETWORKS[net].ig_method
    faig = get_method('faig')
    method = method_from_args(faig, parse(faig, [], net)[1], net)
    assert method.settings == {'quadrature': 'riemann_left', 'total_step': 100, 'precision': 'fp32',
                               'nodes_per_pass': 1, 'image_reduce': NETWORKS[net].faig_image_reduce}
    _, args = parse(faig, ['--fast', '--total_step', '50'], net)
    fast = method_from_args(faig, args, net).settings
    assert (fast['quadrature'], fast['total_step'], args.layout) == ('gauss_legendre', 5, 'channels_last')
