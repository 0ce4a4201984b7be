"""Write docs/results.md from the committed records (faig.reporting.results_page).

    python scripts/results_page.py           # rewrite docs/results.md
    python scripts/results_page.py --check   # exit 1 when docs/results.md differs from the records
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from faig.data.image_io import write_bytes  # noqa: E402  (after the sys.path entry above)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='only compare: exit 1 when the page is out of date')
    args = parser.parse_args(argv)
    from faig.reporting.results_page import PAGE, results_page  # the records' reader loads torch: not for --help
    text = results_page(ROOT)
    path = osp.join(ROOT, PAGE)
    if args.check:
        with open(path, encoding='utf-8') as f:
            current = f.read()
        print(f'{PAGE}: ' + ('up to date' if current == text else 'out of date (python scripts/results_page.py)'))
        return 0 if current == text else 1
    write_bytes(path, text.encode())
    print(f'-> {PAGE}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
