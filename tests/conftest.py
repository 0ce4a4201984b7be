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
