"""The names of the per-network tools (``analysis/tools/<net>/<tool>.py``, ``inference/inference_<net>.py``,
``python -m faig <tool>``), named once here."""

# the original's attribution scripts -> the attribution method each runs
ATTRIBUTION_SCRIPTS = {'faig': 'faig', 'ig': 'ig', 'absolute_filter_change': 'abs_filter_change',
                       'random_neurons': 'random'}
# the other per-network tools -> (module, function of (net, argv))
OTHER_TOOLS = {'mask_neurons': ('faig.cli.evaluation', 'mask_main'),
               'comparison': ('faig.cli.evaluation', 'comparison_main'),
               'inference': ('faig.cli.inference', 'main')}
# names a registered attribution method may not take (each already names another tool)
RESERVED_NAMES = tuple(s for s, m in ATTRIBUTION_SCRIPTS.items() if s != m) + tuple(OTHER_TOOLS)
