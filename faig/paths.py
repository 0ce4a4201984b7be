"""Default locations: the user's Set14/DIV2K when present, else the bundled sample data."""
import os.path as osp

SAMPLE_TEST_ROOT = 'datasets/SampleSet'
SAMPLE_TRAIN_HR = 'datasets/SampleTrain/HR_sub'
BUNDLED_MODELS = 'experiments/pretrained'  # <net>/{baseline,target}_model.pth of the bundled pairs


def sample_data_hint(path):
    """How to make ``path`` when it is one of the bundled sample-data folders (a fresh checkout has none of them;
    ``scripts/reproduce.py`` makes them itself, a training command does not)."""
    path = osp.normpath(str(path))
    if path == osp.normpath(SAMPLE_TRAIN_HR) or path == osp.normpath(f'{SAMPLE_TEST_ROOT}/GTmod12'):
        return '; make the sample data with `python scripts/prepare_sample_data.py`'
    if osp.dirname(path) == osp.normpath(SAMPLE_TEST_ROOT):
        return ('; make the sample data with `python scripts/prepare_sample_data.py && python scripts/generate_lr.py '
                f'--ori_folder {SAMPLE_TEST_ROOT}/GTmod12`')
    return ''


def default_test_root():
    """``datasets/Set14`` if the user has it (with GTmod12), else the bundled ``datasets/SampleSet``."""
    return 'datasets/Set14' if osp.isdir('datasets/Set14/GTmod12') else SAMPLE_TEST_ROOT


def dataset_name(root):
    return osp.basename(osp.normpath(root))


def default_model(net, kind):
    """The original's ``experiments/<net>/<kind>_model.pth`` if present, else the bundled model."""
    original = f'experiments/{net}/{kind}_model.pth'
    return original if osp.isfile(original) else f'{BUNDLED_MODELS}/{net}/{kind}_model.pth'


def from_caller(path, root):
    """A path given on the command line (relative to the caller's working directory), as a tool that then changes
    to the repository ``root`` must use it: relative to ``root`` when inside it (as the defaults and the records
    name such paths), else absolute."""
    import os
    full = osp.abspath(osp.expanduser(path))
    inside = osp.relpath(full, root)
    return full if inside == '..' or inside.startswith('..' + os.sep) else inside
