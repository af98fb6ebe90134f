"""Cityscapes in the MTAN preprocessed ``.npy`` layout."""
from mmdet3d.registry import DATASETS
from .dense_mtl_dataset import DenseMTLDataset

NUM_CLASSES = (7, 19)


@DATASETS.register_module()
class CityscapesMTLDataset(DenseMTLDataset):
    """Cityscapes for semantic segmentation (7 or 19 classes) and depth.

    Layout: ``root/{train,val}/{image,label_7,label_19,depth}/{i}.npy`` with
    image (128, 256, 3) float, labels (128, 256) with -1 = ignore and depth
    (128, 256, 1) with 0 = invalid; 2975 train / 500 val.

    Args:
        num_classes (int): 7 or 19, picks ``label_7`` or ``label_19``.
            Defaults to 7.
        **kwargs: see :class:`DenseMTLDataset`.
    """

    TASK_FOLDERS = dict(semantic='label_7', depth='depth')

    def __init__(self, *args, num_classes: int = 7, **kwargs) -> None:
        if num_classes not in NUM_CLASSES:
            raise ValueError(f'CityscapesMTLDataset: num_classes must be one '
                             f'of {NUM_CLASSES}, got {num_classes!r}')
        # Per instance: the label folder depends on the class count.
        self.TASK_FOLDERS = dict(semantic=f'label_{num_classes}',
                                 depth='depth')
        self.num_classes = num_classes
        kwargs.setdefault('metainfo', dict(num_classes=num_classes))
        super().__init__(*args, **kwargs)
