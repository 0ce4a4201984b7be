"""Train a network with BasicSR: ``python train.py -opt options/<config>.yml [--auto_resume]``."""
import os.path as osp

import faig  # noqa: F401  (basicsr fixes + registration of the project's archs/datasets)
from faig.training import train

if __name__ == '__main__':
    train(osp.dirname(osp.abspath(__file__)))
