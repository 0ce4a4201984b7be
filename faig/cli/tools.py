"""The names of the per-network tools (``analysis/tools/<net>/<tool>.py``, ``inference/inference_<net>.py``,
``python -m faig <tool>``), named once here."""
from faig.attribution.methods import METHODS, PAPER_METHODS

# the original's attribution scripts -> the attribution method each runs (its class names the script)
ATTRIBUTION_SCRIPTS = {METHODS[name].script: name for name in PAPER_METHODS}
# the other per-network tools -> (module, function of (net, argv))
OTHER_TOOLS = {'mask_neurons': ('faig.cli.evaluation', 'mask_main'),
               'comparison': ('faig.cli.evaluation', 'comparison_main'),
               'inference': ('faig.cli.inference', 'main')}
# names a registered attribution method may not take (each already names another tool)
RESERVED_NAMES = tuple(s for s, m in ATTRIBUTION_SCRIPTS.items() if s != m) + tuple(OTHER_TOOLS)
