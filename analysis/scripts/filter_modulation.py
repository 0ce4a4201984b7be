"""Modulate the top-1 % FAIG filters: λ·θ_target + (1−λ)·θ_baseline (see `--help`; the implementation is faig.cli.analysis)."""
from faig.cli.analysis import modulation_main

if __name__ == '__main__':
    modulation_main()
