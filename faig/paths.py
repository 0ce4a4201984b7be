"""Default locations: the user's Set14/DIV2K when present, else the bundled sample data."""
import os.path as osp

SAMPLE_TEST_ROOT = 'datasets/SampleSet'
SAMPLE_TRAIN_HR = 'datasets/SampleTrain/HR_sub'
BUNDLED_MODELS = 'experiments/pretrained'  # <net>/{baseline,target}_model.pth of the bundled pairs


def default_test_root():
    """``datasets/Set14`` if the user has it (with GTmod12), else the bundled ``datasets/SampleSet``."""
    return 'datasets/Set14' if osp.isdir('datasets/Set14/GTmod12') else SAMPLE_TEST_ROOT


def dataset_name(root):
    return osp.basename(osp.normpath(root))


def default_model(net, kind):
    """The original's ``experiments/<net>/<kind>_model.pth`` if present, else the bundled model."""
    original = f'experiments/{net}/{kind}_model.pth'
    return original if osp.isfile(original) else f'{BUNDLED_MODELS}/{net}/{kind}_model.pth'
