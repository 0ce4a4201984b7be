"""Restore the degraded test sets with a srcnn_style model and print PSNR per folder (faig.cli.inference)."""
from faig.cli.inference import main

if __name__ == '__main__':
    main('srcnn_style')
