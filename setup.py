"""Installs the ``nexusflow`` package from ``projects/nexusflow``.

torch and mmcv are not listed: torch must be the build that matches your
hardware, and mmcv 2.1.0 must be compiled against it (see README.md).
"""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(*names: str) -> list:
    """Reads pinned requirement lines, skipping comments and blanks."""
    reqs = []
    for name in names:
        for line in (HERE / 'requirements' / name).read_text().splitlines():
            line = line.split('#', 1)[0].strip()
            if line:
                reqs.append(line)
    return reqs


version = {}
exec((HERE / 'projects/nexusflow/version.py').read_text(), version)

setup(
    name='nexusflow',
    version=version['__version__'],
    description='NexusFlow: partially supervised multi-task learning with '
    'invertible flows, for MMDetection3D',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8,<3.12',
    package_dir={'': 'projects'},
    packages=find_packages('projects'),
    install_requires=read_requirements('runtime.txt', 'openmmlab.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        # Training curves through mmengine's TensorboardVisBackend (the
        # configs add it when tensorboard is importable).
        'tensorboard': ['tensorboard>=2.9'],
    },
    zip_safe=False,
)
