"""``python -m faig <tool> --net <name> [flags]``: every analysis tool for any registered network.

The original per-network scripts (analysis/tools/<net>/<tool>.py) are thin wrappers of the same
functions; a network registered in faig.specs needs no scripts of its own.
"""
import sys

USAGE = ('usage: python -m faig TOOL --net NAME [flags]   (TOOL: faig, ig, absolute_filter_change, random_neurons, '
         'mask_neurons, comparison, inference; `python -m faig TOOL --net NAME --help` for its flags)')


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    from faig.cli.args import Parser
    parser = Parser(prog='python -m faig', usage=USAGE, add_help=False)
    parser.add_argument('tool', nargs='?')
    parser.add_argument('--net', default=None)
    known, rest = parser.parse_known_args(argv)
    tools = per_network_tools()
    if known.tool in (None, '-h', '--help') or (known.tool not in tools and known.tool.startswith('-')):
        print(USAGE)
        return 0
    if known.tool not in tools:
        parser.error(f'{known.tool}: unknown tool; one of {", ".join(tools)}')
    if known.net is None:
        parser.error('--net: required (a network registered in faig.specs)')
    from faig.specs import NETWORKS
    if known.net not in NETWORKS:
        parser.error(f'--net {known.net}: unknown network; registered: {", ".join(sorted(NETWORKS))}')
    sys.argv[0] = f'python -m faig {known.tool} --net {known.net}'  # shown in the tool's usage
    tools[known.tool](known.net, rest)
    return 0


def per_network_tools():
    from faig.cli import attribution, evaluation, inference
    return {**attribution.TOOLS, 'mask_neurons': evaluation.mask_main, 'comparison': evaluation.comparison_main,
            'inference': inference.main}


if __name__ == '__main__':
    sys.exit(main())
