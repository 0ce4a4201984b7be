"""``faig <tool> --net <name> [flags]`` (or ``python -m faig ...``): every analysis tool for any registered network.

The original per-network scripts (analysis/tools/<net>/<tool>.py) are thin wrappers of the same
functions; a network registered in faig.specs needs no scripts of its own.

``python -m faig <tool> --network_g <yaml file or inline yaml>`` (no ``--net``) runs a tool on any
BasicSR arch: the network is named by its ``type``, lower-cased (``MSRResNet`` -> ``msrresnet``: its
default model paths experiments/<name>/..., its output folders .../<name>/...), with the generic
spec of faig.specs.generic_network (FAIG per-image sum, left-Riemann IG, random_neurons' default
filter count = the network's own). ``--net NAME --network_g ...`` with an unregistered NAME does the
same under NAME; a registered NAME keeps its spec. ``--network_g`` is passed on to the tool when
the tool takes it (its --help lists it); a tool that does not (one that never builds the network)
gets only the name, and random_neurons then its default filter count from the spec.
"""
import contextlib
import io
import os.path as osp
import sys

from faig.cli import ATTRIBUTION_SCRIPTS, OTHER_TOOLS, per_network_tools
from faig.cli.args import Parser
from faig.cli.study import main as study_main
from faig.errors import InputError, cli
from faig.networks import build_network, network_class, parse_network_option
from faig.specs import NETWORKS, generic_network, register_network

USAGE = ('usage: {prog} study --network_g YAML --baseline A.pth --target B.pth --images DIR --out DIR [flags]   '
         '(the whole study of any network on any photos; `{prog} study --help`)\n'
         '       {prog} TOOL (--net NAME | --network_g YAML) [flags]   (TOOL: '
         f'{", ".join([*ATTRIBUTION_SCRIPTS, *OTHER_TOOLS])}, or any registered '
         'attribution method; NAME: a network registered '
         'in faig.specs; YAML: a BasicSR network_g, file or inline, for any registered arch; '
         '`{prog} TOOL --net NAME --help` for its flags)')


def program():
    """How the command was called: ``faig`` (the console script) or ``python -m faig``."""
    return 'faig' if osp.basename(sys.argv[0]) == 'faig' else 'python -m faig'


@cli
def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = program()
    if argv[:1] == ['study']:  # the one-command study of any network and folder of photos
        return study_main(argv[1:], prog=f'{prog} study')
    usage = USAGE.format(prog=prog)
    parser = Parser(prog=prog, usage=usage, add_help=False)
    parser.add_argument('tool', nargs='?')
    parser.add_argument('--net', default=None)
    parser.add_argument('--network_g', default=None)
    known, rest = parser.parse_known_args(argv)
    helping = any(a in ('-h', '--help') for a in rest)
    if known.tool in ('-h', '--help') or (known.tool is None and helping):
        print(usage)
        return 0
    tools = per_network_tools()
    if known.tool is None or (known.tool not in tools and known.tool.startswith('-')):
        parser.error(f'TOOL: required, one of {", ".join(tools)}')
    if known.tool not in tools:
        parser.error(f'{known.tool}: unknown tool; one of {", ".join(tools)}')
    registered = ', '.join(sorted(NETWORKS))
    net, generic = known.net, False
    if net is None and known.network_g is None:
        parser.error(f'--net: required (a network registered in faig.specs: {registered}; or describe any BasicSR '
                     'arch with --network_g)')
    if net not in NETWORKS:
        if known.network_g is None:
            parser.error(f'--net {net}: unknown network; registered: {registered} (or describe it with --network_g)')
        net, generic = register_generic(net, known.network_g, check=not helping)
    tool = tools[known.tool]
    if known.network_g is not None:
        if not generic or takes_flag(tool, net, '--network_g'):
            rest = ['--network_g', known.network_g, *rest]
        elif known.tool == 'random_neurons' and not helping:  # it cannot see the network: its spec gives the count
            register_generic(net, known.network_g, count=True)
    # shown in the tool's usage and in its errors' "(see ... --help)"
    sys.argv[0] = f'{prog} {known.tool} ' + ('--network_g ...' if generic else f'--net {net}')
    tool(net, rest)
    return 0


def register_generic(name, network_g, count=False, check=True):
    """Register the generic spec of the ``--network_g`` network (named ``name``, else its type lower-cased;
    ``count``: with its filter count; ``check``: that its arch is known, which imports basicsr, seconds that
    ``--help`` does not wait for). Returns (name, True); a registered name keeps its spec: (name, False)."""
    opt = parse_network_option(network_g)
    if check:
        network_class(opt['type'])  # an unknown arch before the missing models of a network it cannot be
    name = name or str(opt['type']).lower()
    if name in NETWORKS and not count:
        return name, False
    register_network(generic_network(name, opt, count_filters(opt) if count else 0))
    return name, True


def count_filters(opt):
    """Number of filters (conv kernel slices, Linear weights, ...) of the network of ``opt``, as the tools'
    filter space (``space_for_network`` of the network) counts them."""
    from faig.attribution.filters import space_for_network  # imports torch: not on the way to --help
    try:
        return space_for_network(build_network(opt)).num_filters
    except ValueError as exc:
        raise InputError(f'--network_g: {exc}') from None


def takes_flag(tool, net, flag):
    """Whether ``tool`` lists ``flag`` in its --help (parsers are built before any heavy import)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            tool(net, ['--help'])
        except SystemExit:
            pass
    return any(word.strip(',[]') == flag for word in out.getvalue().split())
