"""Small shims for known incompatibilities of the pinned stack."""
import numpy as np


def patch_numpy_aliases() -> None:
    """Restores ``np.long`` for mmdet3d 1.4.0.

    mmdet3d 1.4.0's ``DataBaseSampler.sample_all`` (ObjectSample, used by the
    stock CenterPoint configs) still asks for ``np.long``, which numpy 1.24
    removed; numpy<1.24 cannot be pinned next to the rest of the stack. The
    tools call this at start-up (``tools/_bootstrap.py``); ``import
    nexusflow`` does not, so a user's program keeps numpy as it is.
    """
    # Not hasattr: numpy 1.26's module __getattr__ warns on every probe.
    if 'long' not in vars(np):
        np.long = np.int64


def patch_empty_mono3d_labels() -> None:
    """Gives images without boxes 1-D label arrays in mmdet3d 1.4.0.

    mmdet3d 1.4.0's ``NuScenesDataset.parse_ann_info`` gives an image
    without boxes (``load_type='mv_image_based'`` / ``'fov_image_based'``,
    the mono-3D configs FCOS3D, PGD, ...) ``gt_bboxes_labels`` and
    ``attr_labels`` as 0-d arrays, on which ``Pack3DDetInputs`` fails
    (``len() of a 0-d tensor``). The stock configs hide it by filtering
    such images out (``filter_empty_gt``); a domain split keeps them (an
    image whose boxes are all of unlabeled tasks is a labeled negative of
    the other tasks). Makes them arrays of length 0. Called by the tools
    (``tools/_bootstrap.py``); idempotent.
    """
    from mmdet3d.datasets import NuScenesDataset
    parse = NuScenesDataset.parse_ann_info
    if getattr(parse, '_nexusflow_empty_labels', False):
        return

    def parse_ann_info(self, info: dict) -> dict:
        ann_info = parse(self, info)
        for key in ('gt_bboxes_labels', 'attr_labels'):
            value = ann_info.get(key)
            if isinstance(value, np.ndarray) and value.ndim == 0:
                ann_info[key] = np.zeros(0, dtype=value.dtype)
        return ann_info

    parse_ann_info._nexusflow_empty_labels = True
    NuScenesDataset.parse_ann_info = parse_ann_info
