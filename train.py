"""Train a network with BasicSR: ``python train.py -opt options/<config>.yml [--auto_resume]``.

The option file (with its ``--force_yml`` overrides) is checked first (faig.training.check_options:
unknown or typo'd keys, wrong values, missing files, a training set too small for one batch or with
images smaller than gt_size, pretrained models that do not load or do not fit their network); a bad one
gives one ``error: <yml>: ...`` line, exit status 2, and no experiments/ or tb_logger/ folder.
``--auto_resume`` resumes from the newest intact training state: broken newer ones are renamed to
``<iter>.state.corrupt`` with a ``notice:`` line each (faig.compat.load_resume_state).
"""
import os.path as osp

from faig.training import train  # registers the project's archs/datasets when it checks the options

if __name__ == '__main__':
    train(osp.dirname(osp.abspath(__file__)))
