#!/usr/bin/env bash
# Install everything FAIG needs on a fresh machine (idempotent: re-running is quick).
# torch/torchvision come from the local wheel store; basicsr 1.4.2 is an sdist that must
# build against the installed torch (hence --no-build-isolation).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
$PY -m pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
$PY -m pip install -q --disable-pip-version-check numpy opencv-python pyyaml tqdm matplotlib scikit-image scikit-learn scipy \
    lmdb tensorboard pytest PyWavelets
$PY -m pip install -q --disable-pip-version-check --no-build-isolation basicsr==1.4.2
# captum: the tests' independent check of FAIG's scores (its other requirements are above; --no-deps keeps torch)
$PY -m pip install -q --disable-pip-version-check --no-deps captum
$PY -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e .
$PY -c "import faig; faig.register(); import torch, basicsr; print(f'faig ready: torch {torch.__version__}, basicsr {basicsr.__version__}')"
