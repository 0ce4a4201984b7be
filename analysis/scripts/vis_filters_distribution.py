"""Where the top-1 % FAIG deblurring and denoising filters sit, per layer (see `--help`; the implementation is faig.cli_evaluation)."""
import faig  # noqa: F401
from faig.cli_evaluation import distribution_main

if __name__ == '__main__':
    distribution_main()
