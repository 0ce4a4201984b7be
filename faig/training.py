"""``train.py``: check the YAML options, then run BasicSR's training pipeline.

The check turns the usual crash deep inside basicsr (unknown arch, missing data folder,
missing pretrained model) into one line naming the option file and the problem, before
any experiment folder is created.
"""
import argparse
import os.path as osp

import yaml

from faig.errors import InputError, cli


def _registry_names(registry):
    return sorted(name for name, _ in registry)


def check_options(opt_path, auto_resume=False):
    """Raise InputError for an option file that train_pipeline would fail on."""
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, MODEL_REGISTRY
    if not osp.isfile(opt_path):
        raise InputError(f'{opt_path}: option file not found')
    try:
        with open(opt_path) as f:
            opt = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise InputError(f'{opt_path}: invalid YAML ({str(exc).splitlines()[0]})') from exc
    if not isinstance(opt, dict):
        raise InputError(f'{opt_path}: expected a mapping of options')
    for key in ('name', 'model_type', 'network_g', 'datasets', 'train'):
        if key not in opt:
            raise InputError(f'{opt_path}: missing option {key!r}')

    def known(registry, kind, name):
        if name not in registry:
            raise InputError(f'{opt_path}: unknown {kind} {name!r}; registered: {", ".join(_registry_names(registry))}')

    known(MODEL_REGISTRY, 'model_type', opt['model_type'])
    known(ARCH_REGISTRY, 'network_g type', opt['network_g'].get('type'))
    for phase, dataset in opt['datasets'].items():
        known(DATASET_REGISTRY, f'dataset type (datasets.{phase})', dataset.get('type'))
        for key in ('dataroot_gt', 'dataroot_lq', 'meta_info_file'):
            path = dataset.get(key)
            if path and not osp.exists(path):
                raise InputError(f'{opt_path}: datasets.{phase}.{key} not found: {path}')
    pretrain = (opt.get('path') or {}).get('pretrain_network_g')
    if pretrain and not osp.isfile(pretrain) and not auto_resume:
        raise InputError(f'{opt_path}: path.pretrain_network_g not found: {pretrain}')
    if (opt.get('logger') or {}).get('use_tb_logger') is None:
        raise InputError(f'{opt_path}: logger.use_tb_logger must be set (true needs tensorboard)')
    return opt


@cli
def train(root_path):
    """Entry point of ``train.py``: same command line as BasicSR (-opt, --auto_resume, ...)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('-opt', required=True)
    parser.add_argument('--auto_resume', action='store_true')
    args, _ = parser.parse_known_args()
    check_options(args.opt, args.auto_resume)
    from basicsr.train import train_pipeline
    train_pipeline(root_path)
