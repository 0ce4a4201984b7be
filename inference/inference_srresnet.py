"""Restore the blurry and noisy test sets with a srresnet model and print PSNR per folder."""
import faig  # noqa: F401
from faig.cli_inference import main

if __name__ == '__main__':
    main('srresnet')
