"""Output differences on blurry inputs from saved gradient maps (see `--help`; the implementation is faig.cli_evaluation)."""
import faig  # noqa: F401
from faig.cli_evaluation import gradient_loss_main

if __name__ == '__main__':
    gradient_loss_main('blur')
