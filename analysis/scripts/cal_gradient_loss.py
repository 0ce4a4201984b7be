"""Output differences on the inputs of any registered degradation from saved gradient maps
(``--degradation jpeg``; see `--degradation <name> --help`; the implementation is faig.cli.gradient)."""
from faig.cli.gradient import gradient_loss_any_main

if __name__ == '__main__':
    gradient_loss_any_main()
