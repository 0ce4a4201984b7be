import contextlib
import functools
import os
import os.path as osp
import runpy
import subprocess
import sys
import warnings

import cv2
import numpy as np
import pytest
import torch

import faig
import faig.attribution.methods
import faig.registration
import faig.specs

faig.register()  # tests build archs through BasicSR's registry

from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, MODEL_REGISTRY  # noqa: E402  (after the fixes)

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


# the registries a command line may add to (``--network_g`` registers a generic network spec, a FAIG_PLUGINS
# file its method or BasicSR arch, dataset or model), and the marks that the plugins and methods were loaded once
REGISTRIES = (faig.specs.NETWORKS, faig.specs.DEGRADATIONS,
              faig.attribution.methods.METHODS,
              *(registry._obj_map for registry in (ARCH_REGISTRY, DATASET_REGISTRY, MODEL_REGISTRY)))
LOADED_ONCE = (faig.registration._plugins_loaded, faig.attribution.methods._LOADED)


@contextlib.contextmanager
def registries_kept():
    """The registries as they are now, put back after the block (nothing registered in it stays)."""
    saved = [dict(registry) for registry in REGISTRIES]
    try:
        yield
    finally:
        for registry, before in zip(REGISTRIES, saved):
            registry.clear()
            registry.update(before)


@contextlib.contextmanager
def process_state(argv, cwd, env, first_on_path):
    """What a fresh interpreter started by ``run_script`` gives a script, for the length of one in-process run,
    then put back: ``argv``, the working folder ``cwd``, the environment with ``env`` added, one torch thread
    (OMP_NUM_THREADS=1), ``first_on_path`` first on sys.path, the registries as they were, and Python's own
    warning filters with warnings printed on stderr (pytest would collect them instead, and a subprocess prints
    them). The plugins of the run's FAIG_PLUGINS load as in a new process."""
    saved = (list(sys.argv), list(sys.path), os.getcwd(), dict(os.environ), torch.get_num_threads(),
             [list(mark) for mark in LOADED_ONCE])
    for mark in LOADED_ONCE:
        mark.clear()
    sys.argv[:] = argv
    sys.path.insert(0, first_on_path)
    os.environ.update({'OMP_NUM_THREADS': '1', **(env or {})})
    torch.set_num_threads(1)
    os.chdir(cwd)
    try:
        with registries_kept(), warnings.catch_warnings():
            warnings.resetwarnings()
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.simplefilter('ignore', category)
            warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: \
                sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
            yield
    finally:
        sys.argv[:], sys.path[:] = saved[0], saved[1]
        os.chdir(saved[2])
        os.environ.clear()
        os.environ.update(saved[3])
        torch.set_num_threads(saved[4])
        for mark, before in zip(LOADED_ONCE, saved[5]):
            mark[:] = before


@pytest.fixture
def in_process(capfd):
    """``run_script``'s twin without a new interpreter (the seconds of its imports saved): the script, or
    ``-m module``, runs as ``__main__`` in this process and the result has the same returncode, stdout and
    stderr (captured at the file descriptors, as a pipe would); an uncaught exception is raised in the test (a
    subprocess would exit 1 with its traceback). For commands whose checks need nothing of a process of their
    own: faults, locks between processes, import costs and entry points keep ``run_script``."""

    def run(args, cwd=REPO, env=None):
        args = [str(a) for a in args]
        cwd = osp.abspath(str(cwd))
        capfd.readouterr()  # only this command's output
        code = 0
        if args[0] == '-m':
            state = process_state(['-m', *args[2:]], cwd, env, cwd)
            main = functools.partial(runpy.run_module, args[1], run_name='__main__', alter_sys=True)
        else:
            script = osp.join(cwd, args[0])
            state = process_state([args[0], *args[1:]], cwd, env, osp.dirname(script))
            main = functools.partial(runpy.run_path, script, run_name='__main__')
        with state:
            try:
                main()
            except SystemExit as exc:
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:  # sys.exit('message'), as Python does it
                    print(exc.code, file=sys.stderr)
                    code = 1
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
