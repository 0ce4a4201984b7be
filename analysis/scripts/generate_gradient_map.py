"""Gradient maps of the target and masked outputs, saved as npy (see `--help`; the implementation is faig.cli.gradient)."""
from faig.cli.gradient import gradient_map_main

if __name__ == '__main__':
    gradient_map_main()
