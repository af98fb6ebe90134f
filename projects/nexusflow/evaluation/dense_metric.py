"""Dense multi-task metrics (segmentation, depth, normals) and Delta_m."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmdet3d.registry import METRICS

TASK_METRICS = dict(
    semantic=('miou', 'pix_acc'),
    depth=('abs_err', 'rel_err'),
    normal=('mean_angle', 'median_angle', 'within_11.25', 'within_22.5',
            'within_30'))
HIGHER_BETTER = ('miou', 'pix_acc', 'within_11.25', 'within_22.5',
                 'within_30')
LOWER_BETTER = ('abs_err', 'rel_err', 'mean_angle', 'median_angle')
ANGLE_THRESHOLDS = (11.25, 22.5, 30.0)


def delta_m(results: Dict[str, float], reference: Dict[str, float]) -> float:
    """Mean relative gain over single-task references, in percent.

    ``Delta_m = 100 / K * sum_k s_k (M_k - R_k) / R_k`` with ``s_k = +1``
    for higher-is-better metrics and -1 for lower-is-better ones, over the
    K metrics in ``reference``.

    Args:
        results (dict[str, float]): metric values.
        reference (dict[str, float]): single-task values, same names.

    Returns:
        float: Delta_m in percent (positive = better than the reference).
    """
    gains = []
    for name, ref in reference.items():
        sign = 1.0 if name in HIGHER_BETTER else -1.0
        gains.append(sign * (results[name] - ref) / ref)
    return 100.0 * float(np.mean(gains))


def _numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class DenseMTLMetric(BaseMetric):
    """mIoU / pixel accuracy, depth errors, normal angles and Delta_m.

    Statistics are accumulated over all valid pixels of the dataset:
    segmentation ignores ``ignore_index``; depth and normals ignore pixels
    whose target is 0 (all channels). The mean angle and the shares within
    11.25 / 22.5 / 30 degrees are exact; the median comes from a histogram of
    ``angle_bin`` degrees (within half a bin of ``np.median``), so memory
    does not grow with the dataset. mIoU, pixel
    accuracy and the within-shares are percentages.

    Args:
        tasks (Sequence[str]): evaluated tasks among ``semantic``,
            ``depth``, ``normal``. Defaults to all three.
        num_classes (int): segmentation classes. Defaults to 13.
        ignore_index (int): ignored label. Defaults to -1.
        reference (dict[str, float], optional): single-task (STL) values of
            some metrics; adds ``delta_m``.
        angle_bin (float): histogram bin of the median angle, degrees.
            Defaults to 0.01.
        collect_device (str): see :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): prefix of the metric names.
    """

    default_prefix = 'dense'

    def __init__(self,
                 tasks: Sequence[str] = ('semantic', 'depth', 'normal'),
                 num_classes: int = 13,
                 ignore_index: int = -1,
                 reference: Optional[Dict[str, float]] = None,
                 angle_bin: float = 0.01,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        unknown = [t for t in tasks if t not in TASK_METRICS]
        if unknown or not tasks:
            raise ValueError(f'DenseMTLMetric: tasks must be a non-empty '
                             f'subset of {list(TASK_METRICS)}, got '
                             f'{list(tasks)}')
        self.tasks = list(tasks)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.angle_bin = angle_bin
        self.num_bins = int(np.ceil(180.0 / angle_bin))
        names = [m for t in self.tasks for m in TASK_METRICS[t]]
        reference = dict(reference or {})
        for name, value in reference.items():
            if name not in names:
                raise ValueError(f'DenseMTLMetric: reference has {name!r}; '
                                 f'the metrics of tasks {self.tasks} are '
                                 f'{names}')
            if not np.isfinite(value) or value == 0:
                raise ValueError(f'DenseMTLMetric: reference[{name!r}] must '
                                 f'be finite and nonzero, got {value}')
        self.reference = reference

    def _fetch(self, sample: dict, key: str, index: int) -> np.ndarray:
        if key not in sample:
            raise ValueError(f'DenseMTLMetric: data sample {index} has no '
                             f'{key!r} (keys: {sorted(sample)}); the val set '
                             f'must be fully labeled for tasks {self.tasks}')
        return _numpy(sample[key])

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Accumulates the statistics of a batch.

        Args:
            data_batch (dict): the batch (unused).
            data_samples (Sequence[dict]): model outputs with
                ``pred_<task>`` and ``gt_<task>`` per evaluated task.
        """
        for index, sample in enumerate(data_samples):
            stats = {}
            if 'semantic' in self.tasks:
                stats['confusion'] = self._confusion(
                    self._fetch(sample, 'pred_semantic', index),
                    self._fetch(sample, 'gt_semantic', index))
            if 'depth' in self.tasks:
                stats.update(self._depth(
                    self._fetch(sample, 'pred_depth', index),
                    self._fetch(sample, 'gt_depth', index)))
            if 'normal' in self.tasks:
                stats.update(self._normal(
                    self._fetch(sample, 'pred_normal', index),
                    self._fetch(sample, 'gt_normal', index)))
            self.results.append(stats)

    def _confusion(self, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
        pred, gt = pred.reshape(-1).astype(np.int64), \
            gt.reshape(-1).astype(np.int64)
        if pred.shape != gt.shape:
            raise ValueError(f'DenseMTLMetric: pred_semantic has '
                             f'{pred.size} pixels, gt_semantic {gt.size}')
        valid = gt != self.ignore_index
        if (gt[valid] >= self.num_classes).any() or (gt[valid] < 0).any():
            raise ValueError(f'DenseMTLMetric: gt_semantic has ids outside '
                             f'[0, {self.num_classes}) besides the ignore '
                             f'index {self.ignore_index}')
        pred = np.clip(pred[valid], 0, self.num_classes - 1)
        return np.bincount(gt[valid] * self.num_classes + pred,
                           minlength=self.num_classes**2).reshape(
                               self.num_classes, self.num_classes)

    @staticmethod
    def _depth(pred: np.ndarray, gt: np.ndarray) -> dict:
        pred, gt = pred.reshape(-1).astype(np.float64), \
            gt.reshape(-1).astype(np.float64)
        valid = gt != 0
        error = np.abs(pred[valid] - gt[valid])
        return dict(depth_count=int(valid.sum()),
                    abs_sum=float(error.sum()),
                    rel_sum=float((error / np.abs(gt[valid])).sum()))

    def _normal(self, pred: np.ndarray, gt: np.ndarray) -> dict:
        pred = pred.reshape(3, -1).astype(np.float64)
        gt = gt.reshape(3, -1).astype(np.float64)
        valid = np.abs(gt).sum(axis=0) > 0
        pred, gt = pred[:, valid], gt[:, valid]
        cos = (pred * gt).sum(axis=0) / np.maximum(
            np.linalg.norm(pred, axis=0) * np.linalg.norm(gt, axis=0), 1e-12)
        angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        hist = np.bincount(
            np.minimum((angle / self.angle_bin).astype(np.int64),
                       self.num_bins - 1), minlength=self.num_bins)
        return dict(normal_count=int(valid.sum()),
                    angle_sum=float(angle.sum()),
                    angle_hist=hist,
                    within=np.array([(angle < t).sum()
                                     for t in ANGLE_THRESHOLDS]))

    def _median(self, hist: np.ndarray) -> float:
        """Median as np.median defines it, each order statistic taken at
        the centre of its bin (error <= angle_bin / 2)."""
        cumulative = np.cumsum(hist)
        count = int(cumulative[-1])

        def order_statistic(rank: int) -> float:
            index = int(np.searchsorted(cumulative, rank + 1))
            return (index + 0.5) * self.angle_bin

        return 0.5 * (order_statistic((count - 1) // 2) +
                      order_statistic(count // 2))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Turns the summed statistics into metrics.

        Args:
            results (list[dict]): per-sample statistics.

        Returns:
            dict[str, float]: the metrics of the evaluated tasks, plus
            ``delta_m`` when a reference is configured.
        """
        if not results:
            raise ValueError('DenseMTLMetric: no samples were processed')
        metrics = {}
        if 'semantic' in self.tasks:
            confusion = sum(r['confusion'] for r in results)
            inter = np.diag(confusion).astype(np.float64)
            union = confusion.sum(0) + confusion.sum(1) - inter
            present = union > 0
            metrics['miou'] = 100.0 * float(
                (inter[present] / union[present]).mean())
            metrics['pix_acc'] = 100.0 * float(
                inter.sum() / max(confusion.sum(), 1))
        if 'depth' in self.tasks:
            count = max(sum(r['depth_count'] for r in results), 1)
            metrics['abs_err'] = sum(r['abs_sum'] for r in results) / count
            metrics['rel_err'] = sum(r['rel_sum'] for r in results) / count
        if 'normal' in self.tasks:
            count = max(sum(r['normal_count'] for r in results), 1)
            hist = sum(r['angle_hist'] for r in results)
            within = sum(r['within'] for r in results)
            metrics['mean_angle'] = sum(r['angle_sum']
                                        for r in results) / count
            metrics['median_angle'] = self._median(hist)
            for threshold, hits in zip(ANGLE_THRESHOLDS, within):
                metrics[f'within_{threshold:g}'] = 100.0 * hits / count
        if self.reference:
            metrics['delta_m'] = delta_m(metrics, self.reference)
        return metrics
