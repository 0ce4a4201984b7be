"""Restore the degraded test sets with a srresnet model and print PSNR per folder (faig.cli.inference)."""
from faig.cli.inference import main

if __name__ == '__main__':
    main('srresnet')
