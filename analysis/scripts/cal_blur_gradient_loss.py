"""Output differences on blurry inputs from saved gradient maps (see `--help`; the implementation is faig.cli.gradient)."""
from faig.cli.gradient import gradient_loss_main

if __name__ == '__main__':
    gradient_loss_main('blur')
