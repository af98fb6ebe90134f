"""Loading and packing of the ``.npy`` dense multi-task samples."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from mmdet3d.registry import TRANSFORMS

# Channels of each task's target on disk (None: a plain (H, W) map).
TARGET_CHANNELS = dict(semantic=None, depth=1, normal=3)


def _load_npy(path: str, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f'{what} file not found: {path}') from None
    except ValueError as err:
        raise ValueError(f'{path}: not a plain .npy array ({err})') from None


@TRANSFORMS.register_module()
class LoadDenseMTLSample(BaseTransform):
    """Loads the image and the labeled targets of one sample.

    Reads ``img_path`` (H, W, 3) and each ``<task>_path`` in the info;
    tasks without a path (unlabeled) are not loaded. Targets: ``semantic``
    (H, W) class ids with -1 = ignore, ``depth`` (H, W, 1), ``normal``
    (H, W, 3).
    """

    def transform(self, results: dict) -> dict:
        """Adds ``img`` and ``gt_<task>`` arrays.

        Args:
            results (dict): a dataset info.

        Returns:
            dict: ``results`` with ``img`` (H, W, 3) float32 and
            ``gt_<task>`` arrays; ``gt_tasks`` lists the loaded tasks.
        """
        img = _load_npy(results['img_path'], 'image')
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'{results["img_path"]}: image must be (H, W, '
                             f'3), got {img.shape}')
        results['img'] = img.astype(np.float32)
        results['img_shape'] = img.shape[:2]
        loaded = []
        for task, channels in TARGET_CHANNELS.items():
            path = results.get(f'{task}_path')
            if path is None:
                continue
            target = _load_npy(path, task)
            if channels is None and target.ndim == 3 and \
                    target.shape[2] == 1:
                target = target[..., 0]
            elif channels is not None and target.ndim == 2:
                target = target[..., None]
            expected = img.shape[:2] + (() if channels is None else
                                        (channels, ))
            if target.shape != expected:
                raise ValueError(f'{path}: {task} target must have shape '
                                 f'{expected} (the image is {img.shape}), '
                                 f'got {target.shape}')
            # Class ids are stored as floats in the MTAN files.
            results[f'gt_{task}'] = np.rint(target).astype(np.int64) \
                if channels is None else target.astype(np.float32)
            loaded.append(task)
        results['gt_tasks'] = loaded
        return results


@TRANSFORMS.register_module()
class PackDenseMTLInputs(BaseTransform):
    """Packs an image tensor and a data sample holding the targets.

    Args:
        meta_keys (Sequence[str]): info keys copied to the metainfo.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('sample_idx', 'img_path',
                                             'img_shape', 'task_mask')
                 ) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> Dict[str, object]:
        """Packs one sample.

        Args:
            results (dict): output of :class:`LoadDenseMTLSample`.

        Returns:
            dict: ``inputs`` (3, H, W) float tensor and ``data_samples``, a
            ``BaseDataElement`` with ``gt_semantic`` (H, W) long,
            ``gt_depth`` (1, H, W) and ``gt_normal`` (3, H, W) for the
            labeled tasks.
        """
        img = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        sample = BaseDataElement(
            metainfo={k: results[k] for k in self.meta_keys if k in results})
        for task in results.get('gt_tasks', ()):
            target = torch.from_numpy(results[f'gt_{task}'])
            if target.dim() == 3:
                target = target.permute(2, 0, 1).contiguous()
            sample.set_field(target, f'gt_{task}')
        return dict(inputs=torch.from_numpy(img), data_samples=sample)


def stack_targets(data_samples: Sequence[BaseDataElement], task: str,
                  shape: Sequence[int], device: Optional[torch.device] = None
                  ) -> torch.Tensor:
    """Stacks one task's targets; samples without the task get fillers.

    The filler is -1 (ignore) for ``semantic`` and 0 (invalid) otherwise, so
    a loss masked by validity never reads it.

    Args:
        data_samples (Sequence[BaseDataElement]): packed samples.
        task (str): task name.
        shape (Sequence[int]): (H, W) of the batch.
        device (torch.device, optional): output device.

    Returns:
        Tensor: (B, H, W) long for ``semantic``, else (B, C, H, W) float.
    """
    channels = TARGET_CHANNELS[task]
    size = tuple(shape) if channels is None else (channels, ) + tuple(shape)
    out = []
    for sample in data_samples:
        if f'gt_{task}' in sample:
            out.append(sample.get(f'gt_{task}').to(device))
        elif channels is None:
            out.append(torch.full(size, -1, dtype=torch.long, device=device))
        else:
            out.append(torch.zeros(size, device=device))
    return torch.stack(out)
