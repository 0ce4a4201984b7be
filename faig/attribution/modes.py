"""Run settings of the attribution methods that the command lines offer (no torch import)."""

PRECISIONS = ('fp32', 'bf16')
LAYOUTS = ('auto', 'contiguous', 'channels_last')
CHANNELS_LAST_MARGIN = 0.97  # channels-last only when at least 3 % faster: within timing noise, keep the exact layout
LAYOUT_REPEATS = 5  # --layout auto: the best of this many timed passes of each layout counts

# The fastest settings whose top-1 % rankings (both degradations) kept >= 0.95 of the faithful N=100 ones
# on both networks (docs/benchmarks.md, sections 3b and 3c, bundled models, 48-px crops of all 6 test images:
# 5 nodes >= 0.960 everywhere; 4 nodes fell to 0.930 on SRCNN-style; 8 nodes, the earlier choice, cost 1.6x
# as much per image); bf16 lost agreement on SRCNN-style (section 4). Channels-last without measuring: at 48-px
# crops it was the faster layout on every CPU measured (sections 1, 1b, 12), and measuring (--layout auto) cost a
# user's first run more (12 passes) than choosing it can gain over a run of 40 passes.
FAST_MODE = {
    'settings': {'quadrature': 'gauss_legendre', 'total_step': 5, 'precision': 'fp32', 'layout': 'channels_last'},
    'help': 'gauss_legendre with 5 nodes, fp32, channels-last',
}
