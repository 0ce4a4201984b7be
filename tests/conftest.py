import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

import faig

faig.register()  # tests build archs through BasicSR's registry

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# --layout auto measures each case once per machine and keeps it in ~/.cache: tests measure afresh
os.environ['FAIG_LAYOUT_CACHE'] = ''


def smooth_image(rng, h, w):
    """A smooth random colour image (uint8 BGR), like a photo at low frequency."""
    small = rng.uniform(0, 255, size=(max(h // 8, 2), max(w // 8, 2), 3)).astype(np.float32)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def write_images(folder, shapes, seed=0, prefix='img'):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for i, (h, w) in enumerate(shapes):
        cv2.imwrite(osp.join(folder, f'{prefix}{i}.png'), smooth_image(rng, h, w))
    return folder


LR_FOLDERS = ('Blur2_LRbicx2', 'LRbicx2_noise0.1', 'Linear_LRbicx2')


def write_test_set(data, lr_shapes, folders=LR_FOLDERS[:2], scale=2):
    """A tiny test set under ``data``: ``GTmod12`` (seed 1, ``scale`` x the LR shapes) and one folder of LR
    images per name in ``folders`` (seeds 2, 3, ...). Returns the folder paths (str) by name."""
    paths = {'GTmod12': write_images(osp.join(str(data), 'GTmod12'), [(scale * h, scale * w) for h, w in lr_shapes],
                                     seed=1)}
    for seed, folder in enumerate(folders, start=2):
        paths[folder] = write_images(osp.join(str(data), folder), lr_shapes, seed=seed)
    return paths


def save_model_pair(folder, baseline, target):
    """``baseline_model.pth`` and ``target_model.pth`` (``params_ema``) in ``folder``, as the bundled pairs."""
    import torch
    os.makedirs(folder, exist_ok=True)
    torch.save({'params_ema': baseline}, osp.join(str(folder), 'baseline_model.pth'))
    torch.save({'params_ema': target}, osp.join(str(folder), 'target_model.pth'))


def load_script(name, root):
    """scripts/<name>.py as a module whose ROOT (where it reads and writes) is ``root``."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'script_{name}', osp.join(REPO, 'scripts', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROOT = str(root)
    return module


def run_script(args, cwd=REPO, env=None):
    """Run a project script in a subprocess; returns the CompletedProcess (text output)."""
    full_env = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=full_env)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
