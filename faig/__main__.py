"""``python -m faig``: the ``faig`` command (faig.cli.main)."""
import sys

from faig.cli.main import main

if __name__ == '__main__':
    sys.exit(main())
