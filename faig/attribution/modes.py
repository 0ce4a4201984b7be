"""Run settings of the attribution methods that the command lines offer (no torch import)."""

PRECISIONS = ('fp32', 'bf16')
LAYOUTS = ('auto', 'contiguous', 'channels_last')

# Chosen from docs/benchmarks.md (sections 3 and 4): the fastest settings whose top-1 % ranking
# agreed with the faithful N=100 ranking on both networks.
FAST_MODE = {
    'settings': {'quadrature': 'gauss_legendre', 'total_step': 8, 'precision': 'fp32', 'layout': 'auto'},
    'help': 'gauss_legendre with 8 nodes, fp32, layout measured (auto)',
}
