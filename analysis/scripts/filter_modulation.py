"""Modulate the top-1 % FAIG filters: λ·θ_target + (1−λ)·θ_baseline (see `--help`; the implementation is faig.cli_evaluation)."""
import faig  # noqa: F401
from faig.cli_evaluation import modulation_main

if __name__ == '__main__':
    modulation_main()
