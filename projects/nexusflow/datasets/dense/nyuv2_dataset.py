"""NYUv2 in the MTAN preprocessed ``.npy`` layout."""
from mmdet3d.registry import DATASETS
from .dense_mtl_dataset import DenseMTLDataset

NYUV2_CLASSES = ('bed', 'books', 'ceiling', 'chair', 'floor', 'furniture',
                 'objects', 'picture', 'sofa', 'table', 'tv', 'wall',
                 'window')


@DATASETS.register_module()
class NYUv2MTLDataset(DenseMTLDataset):
    """NYUv2 for semantic segmentation (13 classes), depth and normals.

    Layout: ``root/{train,val}/{image,label,depth,normal}/{i}.npy`` with
    image (288, 384, 3) float, label (288, 384) with -1 = ignore, depth
    (288, 384, 1) with 0 = invalid and normal (288, 384, 3) with 0 =
    invalid. Official splits: 795 train / 654 val. See
    :class:`DenseMTLDataset` for the arguments.
    """

    TASK_FOLDERS = dict(semantic='label', depth='depth', normal='normal')
    METAINFO = dict(classes=NYUV2_CLASSES, num_classes=13)
