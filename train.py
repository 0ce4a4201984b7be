"""Train a network with BasicSR: ``python train.py -opt options/<config>.yml [--auto_resume]``.

The option file (with its ``--force_yml`` overrides) is checked first (faig.training.CHECKS: unknown or typo'd
keys, wrong values, missing files, a training set too small for one batch or with images smaller than gt_size,
pretrained models that do not load or do not fit their network); a bad one gives one ``error: <yml>: ...`` line,
exit status 2, and no experiments/ or tb_logger/ folder. ``--force_yml`` values are read as YAML reads them
(``no`` is false, ``[1, 2]`` a list, a path with brackets is quoted: ``key="[v2] a.pth"``), never evaluated as
BasicSR's own parser does. One run per experiment at a time; checkpoints are written whole or not at all, and a
failed write (full disk, no permission) stops the run with one ``error:`` line and exit status 2.
``--auto_resume`` resumes from the newest intact training state: broken newer ones are renamed to
``<iter>.state.corrupt`` with a ``notice:`` line each (faig.compat.load_resume_state).
"""
import os.path as osp

from faig.cli.train import train

if __name__ == '__main__':
    train(osp.dirname(osp.abspath(__file__)))
