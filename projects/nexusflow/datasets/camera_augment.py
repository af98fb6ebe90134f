"""UniAD's image augmentations for multi-camera samples: photometric
distortion drawn per camera, and GridMask. Both change pixel values only;
geometry (``lidar2img``, image sizes) and labels are untouched."""
from typing import List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS


def _views(results: dict, owner: str) -> List[np.ndarray]:
    images = results.get('img')
    if not isinstance(images, list) or not all(
            isinstance(i, np.ndarray) and i.ndim == 3 for i in images):
        raise ValueError(f'{owner}: expects results["img"] to be a list of '
                         f'(H, W, C) images, one per camera (after '
                         f'LoadMultiViewImageFromFiles)')
    return images


@TRANSFORMS.register_module()
class MultiViewPhotoMetricDistortion(BaseTransform):
    """mmdet's ``PhotoMetricDistortion`` with its random draws made per
    camera, as UniAD's ``PhotoMetricDistortionMultiViewImage`` does (a
    ``MultiViewWrapper`` shares one draw across the cameras by default).

    Args:
        brightness_delta (int): delta of brightness. Defaults to 32.
        contrast_range (Sequence[float]): range of contrast. Defaults to
            (0.5, 1.5).
        saturation_range (Sequence[float]): range of saturation. Defaults
            to (0.5, 1.5).
        hue_delta (int): delta of hue. Defaults to 18.
    """

    def __init__(self,
                 brightness_delta: int = 32,
                 contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5),
                 hue_delta: int = 18) -> None:
        self.distort = TRANSFORMS.build(dict(
            type='mmdet.PhotoMetricDistortion',
            brightness_delta=brightness_delta, contrast_range=contrast_range,
            saturation_range=saturation_range, hue_delta=hue_delta))

    def transform(self, results: dict) -> dict:
        """Distorts each camera image with its own random parameters.

        Args:
            results (dict): with ``img``, a list of float32 images.

        Returns:
            dict: ``results`` with the distorted images.
        """
        images = _views(results, type(self).__name__)
        results['img'] = [
            self.distort.transform(dict(img=img.astype(np.float32)))['img']
            for img in images
        ]
        return results


@TRANSFORMS.register_module()
class MultiViewGridMask(BaseTransform):
    """GridMask (Chen et al. 2020) with UniAD's settings: with probability
    ``prob`` one grid mask (lines of period d, random phase) is applied to
    every camera of the
    sample, filling the masked pixels with ``fill``. The period is drawn
    from [2, H) and the line width is ``round(d * ratio)`` in [1, d - 1], as
    in UniAD.

    UniAD masks the normalised images, so masked pixels become 0 there;
    filling with the data preprocessor's mean gives the same normalised
    input here.

    Args:
        prob (float): probability of masking a sample. Defaults to 0.7.
        ratio (float): line width / period. Defaults to 0.5.
        use_h (bool): horizontal lines. Defaults to True.
        use_w (bool): vertical lines. Defaults to True.
        mode (int): 1 masks the lines (UniAD), 0 keeps only the lines.
            Defaults to 1.
        fill (Sequence[float], optional): per-channel value of masked
            pixels. Defaults to 0.
    """

    def __init__(self,
                 prob: float = 0.7,
                 ratio: float = 0.5,
                 use_h: bool = True,
                 use_w: bool = True,
                 mode: int = 1,
                 fill: Optional[Sequence[float]] = None) -> None:
        if not 0.0 <= prob <= 1.0 or not 0.0 < ratio < 1.0 or \
                mode not in (0, 1):
            raise ValueError(f'MultiViewGridMask: needs 0 <= prob <= 1, '
                             f'0 < ratio < 1 and mode 0 or 1, got prob={prob}'
                             f', ratio={ratio}, mode={mode}')
        self.prob, self.ratio, self.mode = prob, ratio, mode
        self.use_h, self.use_w = use_h, use_w
        self.fill = None if fill is None else np.asarray(fill, np.float32)

    def grid(self, height: int, width: int) -> np.ndarray:
        """(H, W) bool, True where pixels are masked, for a random grid."""
        # UniAD draws the period from the image height and rounds the width.
        period = np.random.randint(2, max(height, 3))
        line = min(max(int(period * self.ratio + 0.5), 1), period - 1)
        lines = np.zeros((height, width), dtype=bool)
        if self.use_h:
            start = np.random.randint(period)
            for top in range(start - period, height, period):
                lines[max(top, 0):max(top + line, 0), :] = True
        if self.use_w:
            start = np.random.randint(period)
            for left in range(start - period, width, period):
                lines[:, max(left, 0):max(left + line, 0)] = True
        return lines if self.mode == 1 else ~lines

    def transform(self, results: dict) -> dict:
        """Masks all camera images of the sample with one grid.

        Args:
            results (dict): with ``img``, a list of images of one size.

        Returns:
            dict: ``results``, images masked with probability ``prob``.
        """
        images = _views(results, type(self).__name__)
        if np.random.rand() >= self.prob:
            return results
        shapes = {img.shape[:2] for img in images}
        masks = {shape: self.grid(*shape) for shape in shapes}
        fill = 0.0 if self.fill is None else self.fill
        out = []
        for img in images:
            img = img.copy()
            img[masks[img.shape[:2]]] = fill
            out.append(img)
        results['img'] = out
        return results
