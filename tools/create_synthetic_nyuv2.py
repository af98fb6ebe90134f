"""Writes a small synthetic NYUv2 set in the MTAN ``.npy`` layout.

The images are renders of synthetic 3D scenes with consistent labels; the
onelabel / randomlabels .pth files come with it. ``NYUv2MTLDataset`` loads
the set unchanged.

Example:
    python tools/create_synthetic_nyuv2.py --out data/synthetic_nyuv2
    python tools/create_synthetic_nyuv2.py --out data/tiny_nyuv2 --train 8 \
        --val 4 --size 32 48
"""
from _bootstrap import import_nexusflow
from _dense_cli import run_synthetic_dense

import_nexusflow()
from nexusflow.testing import create_synthetic_nyuv2

if __name__ == '__main__':
    run_synthetic_dense('NYUv2', create_synthetic_nyuv2, (288, 384), __doc__)
