"""Where the top-1 % FAIG deblurring and denoising filters sit, per layer (see `--help`; the implementation is faig.cli.analysis)."""
from faig.cli.analysis import distribution_main

if __name__ == '__main__':
    distribution_main()
