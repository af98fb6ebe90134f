"""DenseMTLMetric on hand-computed inputs; Delta_m sign conventions."""
import math

import numpy as np
import pytest
import torch

from nexusflow.evaluation import DenseMTLMetric, delta_m
from nexusflow.evaluation.dense_metric import HIGHER_BETTER, LOWER_BETTER


def _normal_map(vectors):
    """(N, 3) unit vectors -> (3, 1, N) normal map."""
    array = torch.tensor(vectors, dtype=torch.float32)
    return array.T.reshape(3, 1, -1)


def _angle_vector(degrees):
    rad = math.radians(degrees)
    return [math.sin(rad), 0.0, math.cos(rad)]


def test_segmentation_miou_and_pixel_accuracy():
    metric = DenseMTLMetric(tasks=['semantic'], num_classes=3)
    # gt:   0 0 1 2 -1   pred: 0 1 1 1 2
    metric.process({}, [dict(
        pred_semantic=torch.tensor([[0, 1, 1, 1, 2]]),
        gt_semantic=torch.tensor([[0, 0, 1, 2, -1]]))])
    out = metric.compute_metrics(metric.results)
    # IoU: class 0 = 1/2, class 1 = 1/3, class 2 = 0/1.
    assert out['miou'] == pytest.approx(100 * (1 / 2 + 1 / 3 + 0) / 3)
    assert out['pix_acc'] == pytest.approx(100 * 2 / 4)


def test_classes_absent_everywhere_do_not_count():
    metric = DenseMTLMetric(tasks=['semantic'], num_classes=13)
    metric.process({}, [dict(pred_semantic=torch.tensor([[4, 4]]),
                             gt_semantic=torch.tensor([[4, 4]]))])
    assert metric.compute_metrics(metric.results)['miou'] == 100.0


def test_depth_errors_skip_invalid_pixels_and_pool_over_samples():
    metric = DenseMTLMetric(tasks=['depth'])
    metric.process({}, [
        dict(pred_depth=torch.tensor([[[1.0, 5.0, 3.0]]]),
             gt_depth=torch.tensor([[[2.0, 0.0, 3.0]]])),
        dict(pred_depth=torch.tensor([[[4.0]]]),
             gt_depth=torch.tensor([[[2.0]]]))])
    out = metric.compute_metrics(metric.results)
    # valid errors 1, 0, 2 over gts 2, 3, 2.
    assert out['abs_err'] == pytest.approx(3 / 3)
    assert out['rel_err'] == pytest.approx((0.5 + 0 + 1) / 3)


def test_normal_angles_and_thresholds():
    metric = DenseMTLMetric(tasks=['normal'])
    angles = [5.0, 15.0, 25.0, 40.0]
    gt = _normal_map([[0, 0, 1]] * 4 + [[0, 0, 0]])
    pred = _normal_map([_angle_vector(a) for a in angles] + [[1, 0, 0]])
    # Predictions need not be unit length.
    metric.process({}, [dict(pred_normal=pred * 3, gt_normal=gt)])
    out = metric.compute_metrics(metric.results)
    assert out['mean_angle'] == pytest.approx(np.mean(angles), abs=1e-3)
    assert out['median_angle'] == pytest.approx(20.0, abs=0.02)
    assert out['within_11.25'] == pytest.approx(25.0)
    assert out['within_22.5'] == pytest.approx(50.0)
    assert out['within_30'] == pytest.approx(75.0)


def test_median_of_odd_count_is_the_middle_value():
    metric = DenseMTLMetric(tasks=['normal'])
    angles = [3.0, 17.0, 60.0]
    metric.process({}, [dict(
        pred_normal=_normal_map([_angle_vector(a) for a in angles]),
        gt_normal=_normal_map([[0, 0, 1]] * 3))])
    out = metric.compute_metrics(metric.results)
    assert out['median_angle'] == pytest.approx(17.0, abs=0.011)


def test_delta_m_signs():
    reference = dict(miou=40.0, abs_err=0.5, mean_angle=20.0)
    better = dict(miou=44.0, abs_err=0.45, mean_angle=18.0)
    worse = dict(miou=36.0, abs_err=0.55, mean_angle=22.0)
    assert delta_m(better, reference) == pytest.approx(10.0)
    assert delta_m(worse, reference) == pytest.approx(-10.0)
    assert delta_m(reference, reference) == 0.0
    assert set(HIGHER_BETTER).isdisjoint(LOWER_BETTER)


def test_metric_reports_delta_m_from_config_reference():
    metric = DenseMTLMetric(tasks=['depth'],
                            reference=dict(abs_err=2.0, rel_err=1.0))
    metric.process({}, [dict(pred_depth=torch.tensor([[[2.0]]]),
                             gt_depth=torch.tensor([[[1.0]]]))])
    out = metric.compute_metrics(metric.results)
    # abs_err 1 vs 2 (+50 %), rel_err 1 vs 1 (0 %).
    assert out['delta_m'] == pytest.approx(25.0)


def test_bad_configuration_and_missing_keys():
    with pytest.raises(ValueError, match='tasks'):
        DenseMTLMetric(tasks=['edges'])
    with pytest.raises(ValueError, match="'abs_err'"):
        DenseMTLMetric(tasks=['semantic'], reference=dict(abs_err=1.0))
    with pytest.raises(ValueError, match='nonzero'):
        DenseMTLMetric(tasks=['depth'], reference=dict(abs_err=0.0))
    metric = DenseMTLMetric(tasks=['semantic', 'depth'])
    with pytest.raises(ValueError, match="'gt_depth'"):
        metric.process({}, [dict(pred_semantic=torch.zeros(1, 1),
                                 gt_semantic=torch.zeros(1, 1),
                                 pred_depth=torch.zeros(1, 1, 1))])
    with pytest.raises(ValueError, match=r'outside \[0, 3\)'):
        DenseMTLMetric(tasks=['semantic'], num_classes=3).process(
            {}, [dict(pred_semantic=torch.zeros(1, 1),
                      gt_semantic=torch.full((1, 1), 5))])
