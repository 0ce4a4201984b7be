"""Train a network with BasicSR: ``python train.py -opt options/<config>.yml [--auto_resume]``.

The option file is checked first (faig.training.check_options: unknown or typo'd keys, wrong
values, missing files); a bad one gives one ``error: <yml>: ...`` line, exit status 2, and no
experiments/ or tb_logger/ folder.
"""
import os.path as osp

from faig.training import train  # registers the project's archs/datasets when it checks the options

if __name__ == '__main__':
    train(osp.dirname(osp.abspath(__file__)))
