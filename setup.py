#!/usr/bin/env python
"""FAIG on BasicSR. Install torch/torchvision and basicsr first (see README.md), then
``pip install -e .``."""
from setuptools import find_packages, setup


def requirements():
    with open('requirements.txt') as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


setup(
    name='faig',
    version='0.1.0',
    description='Filter Attribution based on Integral Gradients (FAIG) for blind SR networks, on BasicSR',
    long_description=open('README.md', encoding='utf-8').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(include=('faig', 'faig.*')),
    python_requires='>=3.9',
    install_requires=requirements(),
)
