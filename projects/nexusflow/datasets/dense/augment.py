"""JTR's training augmentations for the dense benchmarks: the MTAN-style
random scale-crop and a photometric RandAugment, both keeping every dense
target aligned with the image."""
import math
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdet3d.registry import TRANSFORMS
from .transforms import TARGET_CHANNELS


def _check_image(results: dict, name: str) -> np.ndarray:
    if 'img' not in results:
        raise KeyError(f'{name}: the results have no "img"; put it after '
                       f'LoadDenseMTLSample in the pipeline')
    img = results['img']
    if not isinstance(img, np.ndarray) or img.ndim != 3 or \
            img.shape[2] != 3:
        raise ValueError(f'{name}: "img" of {results.get("img_path")} must '
                         f'be an (H, W, 3) array, got '
                         f'{getattr(img, "shape", type(img))}')
    return img


def _resize(array: np.ndarray, size: Tuple[int, int],
            mode: str) -> np.ndarray:
    """Resizes an (H, W) or (H, W, C) array, keeping dtype and layout."""
    tensor = torch.from_numpy(np.ascontiguousarray(array)).double()
    tensor = tensor[None, None] if array.ndim == 2 else tensor.permute(
        2, 0, 1)[None]
    kwargs = dict(align_corners=False) if mode == 'bilinear' else {}
    out = F.interpolate(tensor, size=size, mode=mode, **kwargs)[0]
    out = out[0] if array.ndim == 2 else out.permute(1, 2, 0)
    return out.numpy().astype(array.dtype)


@TRANSFORMS.register_module()
class DenseRandomScaleCrop(BaseTransform):
    """Zooms into a random window: crop 1/s of the image, resize it back.

    As in the MTAN / MTPSL / JTR training code, a scale ``s`` is drawn from
    ``scales`` and a window of ``(int(H / s), int(W / s))`` at a random
    position is cut from the image and from every loaded target, then
    resized to (H, W). The image is resized bilinearly; segmentation, depth
    and normals by nearest neighbour, so class ids stay ids, invalid zeros
    do not bleed into valid depth and normals stay unit vectors. Depth is
    divided by ``s`` (magnifying by ``s`` is what moving the camera ``s``
    times closer does); camera-frame normals are unchanged.

    Unlabeled tasks have no ``gt_<task>`` and stay absent; ``task_mask`` is
    not touched. Adds ``crop_scale`` and ``crop_bbox`` (top, left, height,
    width). Randomness comes from ``np.random``, which mmengine seeds
    (``randomness=dict(seed=...)``, per dataloader worker).

    Args:
        scales (Sequence[float]): scales to draw from, each >= 1; 1 keeps
            the sample as it is. Defaults to (1.0, 1.2, 1.5) (MTAN).
    """

    def __init__(self, scales: Sequence[float] = (1.0, 1.2, 1.5)) -> None:
        scales = tuple(float(s) for s in scales)
        if not scales or not all(math.isfinite(s) and s >= 1.0
                                 for s in scales):
            raise ValueError(f'DenseRandomScaleCrop: scales must be a '
                             f'non-empty list of finite numbers >= 1 (a '
                             f'crop cannot exceed the image), got {scales}')
        self.scales = scales

    @cache_randomness
    def _draw(self, height: int, width: int) -> Tuple[float, Tuple[int, ...]]:
        """A scale and a crop window (top, left, height, width)."""
        scale = self.scales[np.random.randint(len(self.scales))]
        crop_h = max(1, int(height / scale))
        crop_w = max(1, int(width / scale))
        top = np.random.randint(height - crop_h + 1)
        left = np.random.randint(width - crop_w + 1)
        return scale, (top, left, crop_h, crop_w)

    def transform(self, results: dict) -> dict:
        """Crops and resizes the image and the loaded targets.

        Args:
            results (dict): output of :class:`LoadDenseMTLSample`.

        Returns:
            dict: ``results`` with the same shapes, zoomed in.
        """
        img = _check_image(results, type(self).__name__)
        height, width = img.shape[:2]
        scale, (top, left, crop_h, crop_w) = self._draw(height, width)
        window = (slice(top, top + crop_h), slice(left, left + crop_w))
        size = (height, width)
        results['img'] = _resize(img[window], size, 'bilinear')
        for task in TARGET_CHANNELS:
            key = f'gt_{task}'
            if key not in results:
                continue
            target = results[key]
            if target.shape[:2] != (height, width):
                raise ValueError(f'{type(self).__name__}: {key} of '
                                 f'{results.get("img_path")} has shape '
                                 f'{target.shape}, the image {img.shape}')
            target = _resize(target[window], size, 'nearest')
            if task == 'depth':
                target = target / np.float32(scale)
            results[key] = target
        results['crop_scale'] = scale
        results['crop_bbox'] = (top, left, crop_h, crop_w)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scales={self.scales})'


def _gray(img: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, (H, W, 1)."""
    return (img @ np.array([0.299, 0.587, 0.114], dtype=img.dtype))[...,
                                                                    None]


def _blend(img: np.ndarray, base: np.ndarray, factor: float) -> np.ndarray:
    """PIL's ImageEnhance: 0 gives ``base``, 1 the image, > 1 extrapolates."""
    return base + factor * (img - base)


def _smooth(img: np.ndarray) -> np.ndarray:
    """PIL's SMOOTH filter (3x3, centre weight 5), borders kept."""
    out = img.copy()
    if min(img.shape[:2]) < 3:
        return out
    acc = np.zeros_like(img[1:-1, 1:-1])
    for dy in range(3):
        for dx in range(3):
            weight = 5.0 if dy == dx == 1 else 1.0
            acc += weight * img[dy:dy + img.shape[0] - 2,
                                dx:dx + img.shape[1] - 2]
    out[1:-1, 1:-1] = acc / 13.0
    return out


def _to_levels(img: np.ndarray, max_value: float) -> np.ndarray:
    """The 8-bit levels the discrete ops act on."""
    return np.clip(np.floor(img / max_value * 255.0 + 0.5), 0,
                   255).astype(np.int64)


def _equalize_channel(levels: np.ndarray) -> np.ndarray:
    """PIL-style histogram equalisation of one channel of 8-bit levels."""
    hist = np.bincount(levels.ravel(), minlength=256)
    nonzero = hist[hist > 0]
    step = (nonzero.sum() - nonzero[-1]) // 255
    if step == 0:
        return levels
    lut = np.minimum((np.cumsum(hist) - hist + step // 2) // step, 255)
    return lut[levels]


def _posterize(img: np.ndarray, bits: int, max_value: float) -> np.ndarray:
    mask = (0xFF << (8 - bits)) & 0xFF
    return (_to_levels(img, max_value) & mask) / 255.0 * max_value


def _autocontrast(img: np.ndarray, max_value: float) -> np.ndarray:
    low = img.min(axis=(0, 1), keepdims=True)
    high = img.max(axis=(0, 1), keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    return np.where(high > low, (img - low) / span * max_value, img)


def _equalize(img: np.ndarray, max_value: float) -> np.ndarray:
    levels = _to_levels(img, max_value)
    out = np.stack([_equalize_channel(levels[..., c]) for c in range(3)],
                   axis=-1)
    return out / 255.0 * max_value


# Photometric ops of RandAugment: name -> (op(img, value, max_value), how
# the magnitude bin maps to ``value``: 'signed' = +-linspace(0, 0.9),
# 'bits', 'threshold' or None). Geometric ops are left out on purpose.
PHOTOMETRIC_OPS: Dict[str, Tuple[Callable, str]] = dict(
    identity=(lambda img, v, m: img, None),
    brightness=(lambda img, v, m: img * (1.0 + v), 'signed'),
    color=(lambda img, v, m: _blend(img, _gray(img), 1.0 + v), 'signed'),
    contrast=(lambda img, v, m: _blend(img, _gray(img).mean(), 1.0 + v),
              'signed'),
    sharpness=(lambda img, v, m: _blend(img, _smooth(img), 1.0 + v),
               'signed'),
    posterize=(lambda img, v, m: _posterize(img, int(v), m), 'bits'),
    solarize=(lambda img, v, m: np.where(img >= v * m, m - img, img),
              'threshold'),
    autocontrast=(lambda img, v, m: _autocontrast(img, m), None),
    equalize=(lambda img, v, m: _equalize(img, m), None))


@TRANSFORMS.register_module()
class DenseRandAugment(BaseTransform):
    """RandAugment (Cubuk et al., 2020) with its photometric ops only.

    ``num_ops`` ops, drawn uniformly with replacement from ``ops``, are
    applied in turn to the image at one shared magnitude (the strengths of
    the original: enhance factors ``1 +- 0.9 * magnitude / (bins - 1)``
    with a random sign, posterize to ``8 - round(4 * magnitude /
    (bins - 1))`` bits, solarize above ``1 - magnitude / (bins - 1)`` of the
    range). The shear / translate / rotate ops of the original are left out
    because they would move the image against its dense targets; targets
    and ``task_mask`` are not touched. Images are floats in
    ``[0, max_value]`` (the MTAN ``.npy`` images are in [0, 1]); the output
    is clipped to that range. Randomness comes from ``np.random``, which
    mmengine seeds.

    Args:
        num_ops (int): ops per image. Defaults to 2.
        magnitude (int): strength bin in ``[0, num_magnitude_bins)``.
            Defaults to 9.
        num_magnitude_bins (int): number of strength bins. Defaults to 31.
        ops (Sequence[str], optional): subset of :data:`PHOTOMETRIC_OPS`;
            defaults to all of them.
        max_value (float): top of the image range. Defaults to 1.0.
    """

    def __init__(self,
                 num_ops: int = 2,
                 magnitude: int = 9,
                 num_magnitude_bins: int = 31,
                 ops: Sequence[str] = tuple(PHOTOMETRIC_OPS),
                 max_value: float = 1.0) -> None:
        name = type(self).__name__
        if not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(f'{name}: num_ops must be an int >= 0, got '
                             f'{num_ops!r}')
        if not isinstance(num_magnitude_bins, int) or num_magnitude_bins < 2:
            raise ValueError(f'{name}: num_magnitude_bins must be an int '
                             f'>= 2, got {num_magnitude_bins!r}')
        if not isinstance(magnitude, int) or \
                not 0 <= magnitude < num_magnitude_bins:
            raise ValueError(f'{name}: magnitude must be an int in [0, '
                             f'{num_magnitude_bins}), got {magnitude!r}')
        ops = [ops] if isinstance(ops, str) else list(ops)
        unknown = [op for op in ops if op not in PHOTOMETRIC_OPS]
        if unknown or not ops:
            raise ValueError(f'{name}: ops must be a non-empty subset of '
                             f'{list(PHOTOMETRIC_OPS)} (geometric ops would '
                             f'misalign the dense targets), got {ops}')
        if not (math.isfinite(max_value) and max_value > 0):
            raise ValueError(f'{name}: max_value must be > 0, got '
                             f'{max_value!r}')
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins
        self.ops = ops
        self.max_value = float(max_value)

    def _value(self, kind: str, negate: bool) -> float:
        level = self.magnitude / (self.num_magnitude_bins - 1)
        if kind == 'signed':
            return -0.9 * level if negate else 0.9 * level
        if kind == 'bits':
            return float(8 - int(round(4 * level)))
        if kind == 'threshold':
            return 1.0 - level
        return 0.0

    @cache_randomness
    def _draw(self) -> List[Tuple[str, float]]:
        """The ops of one image, each with its value."""
        chosen = np.random.randint(len(self.ops), size=self.num_ops)
        negate = np.random.rand(self.num_ops) < 0.5
        return [(self.ops[i], self._value(PHOTOMETRIC_OPS[self.ops[i]][1],
                                          bool(n)))
                for i, n in zip(chosen, negate)]

    def transform(self, results: dict) -> dict:
        """Applies the drawn ops to ``img``.

        Args:
            results (dict): a sample with ``img`` (H, W, 3) float.

        Returns:
            dict: ``results`` with the new ``img`` (same shape and dtype)
            and ``rand_augment_ops``, the applied ``(name, value)`` pairs.
        """
        name = type(self).__name__
        img = _check_image(results, name)
        if img.size and (img.min() < 0 or
                         img.max() > self.max_value * (1 + 1e-3)):
            raise ValueError(f'{name}: {results.get("img_path")} has values '
                             f'in [{img.min():.3g}, {img.max():.3g}], '
                             f'outside [0, max_value={self.max_value:g}]; '
                             f'set max_value to the image range')
        out = img.astype(np.float64)
        applied = self._draw()
        for op, value in applied:
            out = np.clip(PHOTOMETRIC_OPS[op][0](out, value, self.max_value),
                          0.0, self.max_value)
        results['img'] = out.astype(img.dtype)
        results['rand_augment_ops'] = applied
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_ops={self.num_ops}, '
                f'magnitude={self.magnitude}, '
                f'num_magnitude_bins={self.num_magnitude_bins}, '
                f'ops={self.ops}, max_value={self.max_value})')
