"""Command lines of the analysis tools: one implementation each, parameterised by network spec.

The per-network tools are named in faig.cli.tools."""
from faig.cli.tools import ATTRIBUTION_SCRIPTS, OTHER_TOOLS, RESERVED_NAMES  # noqa: F401


def per_network_tools():
    """{tool name: main(net, argv)}: the original's scripts, every registered method, the other tools."""
    import importlib
    from faig.cli import attribution
    others = {name: getattr(importlib.import_module(module), function)
              for name, (module, function) in OTHER_TOOLS.items()}
    return {**attribution.tools(), **others}
