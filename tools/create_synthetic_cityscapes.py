"""Writes a small synthetic Cityscapes set in the MTAN ``.npy`` layout.

The images are renders of synthetic 3D scenes with consistent labels
(label_7, label_19, depth); onelabel.pth comes with it.
``CityscapesMTLDataset`` loads the set unchanged.

Example:
    python tools/create_synthetic_cityscapes.py \
        --out data/synthetic_cityscapes
    python tools/create_synthetic_cityscapes.py --out data/tiny_cityscapes \
        --train 8 --val 4 --size 16 32
"""
from _bootstrap import import_nexusflow
from _dense_cli import run_synthetic_dense

import_nexusflow()
from nexusflow.testing import create_synthetic_cityscapes

if __name__ == '__main__':
    run_synthetic_dense('Cityscapes', create_synthetic_cityscapes,
                        (128, 256), __doc__)
