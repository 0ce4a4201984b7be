"""ig for the srcnn_style network (see `--help`; the implementation is faig.cli.attribution)."""
import os.path as osp
import sys

# This folder holds a script named faig.py: keep it off the path so `import faig` finds the package.
sys.path[:] = [p for p in sys.path if osp.abspath(p or '.') != osp.dirname(osp.abspath(__file__))]

from faig.cli.attribution import run_tool  # noqa: E402

if __name__ == '__main__':
    run_tool('ig', 'srcnn_style')
