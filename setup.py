#!/usr/bin/env python
"""FAIG on BasicSR. Install torch/torchvision and basicsr first (see README.md), then
``pip install -e .``.

The install requirements are ranges, so that installing FAIG keeps a researcher's torch; the exact
versions of the reproduction are in requirements.txt and scripts/setup.sh."""
import os.path as osp

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    'torch>=2.1',  # torch.func (batched path nodes)
    'torchvision',
    'basicsr>=1.4.2,<1.5',  # faig/compat.py fixes 1.4.2 for current torch/torchvision
    'numpy',
    'opencv-python',
    'pyyaml',
    'tqdm',
    'matplotlib',
    'scikit-image',
    'scikit-learn',  # the degradation predictor's metrics
    'scipy',
]

setup(
    name='faig',
    version='0.1.0',
    description='Filter Attribution based on Integral Gradients (FAIG) for blind SR networks, on BasicSR',
    long_description=open('README.md', encoding='utf-8').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(include=('faig', 'faig.*')),
    python_requires='>=3.9',
    install_requires=INSTALL_REQUIRES,
    entry_points={'console_scripts': ['faig = faig.cli.main:main']},
)
