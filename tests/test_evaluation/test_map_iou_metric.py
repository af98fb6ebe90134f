import math

import numpy as np
import pytest
import torch

from mmdet3d.registry import METRICS
from nexusflow.evaluation import BEVMapIoUMetric, map_iou_counts

H = W = 32
KEYS = ('iou_lanes', 'iou_divider', 'iou_crossing', 'iou_contour',
        'iou_drivable')


def sample(pred, gt=None, location='boston-seaport', token='t0'):
    out = dict(token=token, location=location, pred_map=dict(masks=pred))
    if gt is not None:
        out['gt_map'] = dict(masks=gt)
    return out


def gt_masks():
    """A divider strip, a crossing block, a contour line, a drivable area."""
    gt = torch.zeros(4, H, W, dtype=torch.uint8)
    gt[0, 4:6, 2:22] = 1  # 2 x 20 divider
    gt[1, 10:20, 10:20] = 1  # 10 x 10 crossing
    gt[2, 25, 0:30] = 1  # 1 x 30 contour
    gt[3, 8:30, 0:30] = 1  # drivable
    return gt


def evaluate(metric, samples):
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_registered_and_gt_vs_gt_is_one():
    metric = METRICS.build(dict(type='BEVMapIoUMetric'))
    gt = gt_masks()
    res = evaluate(metric, [sample(gt.float(), gt)])
    for key in KEYS:
        assert res[f'map/{key}'] == 1.0


def test_gt_vs_empty_is_zero():
    gt = gt_masks()
    res = evaluate(BEVMapIoUMetric(),
                   [sample(torch.zeros(4, H, W, dtype=torch.bool), gt)])
    for key in KEYS:
        assert res[f'map/{key}'] == 0.0


def shift_right(masks, k):
    """Shifts masks k pixels along x, dropping what leaves the canvas."""
    out = torch.zeros_like(masks)
    out[..., k:] = masks[..., :-k]
    return out


@pytest.mark.parametrize('k', [1, 3, 7])
def test_shift_by_k_pixels_matches_hand_count(k):
    gt = gt_masks()
    res = evaluate(
        BEVMapIoUMetric(domains=None), [sample(shift_right(gt, k).float(),
                                               gt)])
    # A block h px tall and w px wide shifted k px along its width keeps
    # h * (w - k) px in common and covers h * (w + k) px together, unless
    # the shifted copy is cut at the right border (x = W).

    def block(h, x0, w):
        inter = h * (w - k)
        union = h * (min(x0 + w + k, W) - x0)
        return inter, union

    divider, crossing = block(2, 2, 20), block(10, 10, 10)
    contour, drivable = block(1, 0, 30), block(22, 0, 30)
    for key, (inter, union) in [('divider', divider),
                                ('crossing', crossing),
                                ('contour', contour),
                                ('drivable', drivable)]:
        assert math.isclose(res[f'map/iou_{key}'], inter / union), key
    # The three thing classes never overlap here, so the lanes union's
    # counts are the sums of theirs.
    lanes = [sum(c) for c in zip(divider, crossing, contour)]
    assert math.isclose(res['map/iou_lanes'], lanes[0] / lanes[1])


def test_lanes_is_union_of_thing_classes():
    gt = torch.zeros(4, H, W, dtype=torch.uint8)
    gt[0, 0:4, 0:4] = 1
    pred = torch.zeros(4, H, W)
    # Right pixels, wrong class: every class IoU is 0, lanes IoU is 1.
    pred[1, 0:4, 0:4] = 1.0
    res = evaluate(BEVMapIoUMetric(domains=None), [sample(pred, gt)])
    assert res['map/iou_divider'] == 0.0
    assert res['map/iou_crossing'] == 0.0
    assert res['map/iou_lanes'] == 1.0
    assert math.isnan(res['map/iou_drivable'])  # empty on both sides


def test_threshold_is_strictly_greater():
    gt = torch.zeros(4, H, W, dtype=torch.uint8)
    gt[:, :2, :2] = 1
    pred = torch.zeros(4, H, W)
    pred[:, :2, :2] = 0.5  # not above 0.5
    pred[:, :1, :2] = 0.51
    res = evaluate(BEVMapIoUMetric(domains=None), [sample(pred, gt)])
    assert res['map/iou_divider'] == 0.5
    res = evaluate(
        BEVMapIoUMetric(threshold=0.4, domains=None), [sample(pred, gt)])
    assert res['map/iou_divider'] == 1.0


def test_dataset_level_sum_not_mean_of_samples():
    big = torch.zeros(4, H, W, dtype=torch.uint8)
    big[0, :10, :10] = 1  # 100 px, predicted exactly
    small = torch.zeros(4, H, W, dtype=torch.uint8)
    small[0, 0, 0] = 1  # 1 px, missed
    samples = [
        sample(big.float(), big, token='a'),
        sample(torch.zeros(4, H, W), small, token='b')
    ]
    res = evaluate(BEVMapIoUMetric(domains=None), samples)
    assert math.isclose(res['map/iou_divider'], 100 / 101)  # mean = 0.5


def test_per_domain_counts_and_consistency():
    gt = gt_masks()
    shifted = shift_right(gt, 2).float()
    samples = [
        sample(gt.float(), gt, 'boston-seaport', 'a'),
        sample(shifted, gt, 'singapore-onenorth', 'b'),
        sample(shifted, gt, 'singapore-queenstown', 'c'),
    ]
    res = evaluate(BEVMapIoUMetric(), samples)
    for key in KEYS:
        assert res[f'map/boston/{key}'] == 1.0
        single = evaluate(BEVMapIoUMetric(domains=None), [samples[1]])
        assert math.isclose(res[f'map/singapore/{key}'], single[f'map/{key}'])
        # overall lies between the domains (it pools their counts)
        low, high = sorted(
            (res[f'map/boston/{key}'], res[f'map/singapore/{key}']))
        assert low <= res[f'map/{key}'] <= high
        assert low < high


def test_domain_without_samples_reports_nan():
    gt = gt_masks()
    res = evaluate(BEVMapIoUMetric(), [sample(gt.float(), gt)])
    assert set(res) == {f'map/{k}' for k in KEYS} | {
        f'map/{d}/{k}'
        for d in ('boston', 'singapore') for k in KEYS
    }
    assert all(math.isnan(res[f'map/singapore/{k}']) for k in KEYS)


def test_samples_without_gt_are_skipped():
    gt = gt_masks()
    shifted = shift_right(gt, 2).float()
    ref = evaluate(BEVMapIoUMetric(domains=None), [sample(shifted, gt)])
    res = evaluate(
        BEVMapIoUMetric(domains=None),
        [sample(shifted, gt), sample(torch.ones(4, H, W), None, token='x')])
    assert res == ref


def test_results_hold_counts_not_masks():
    metric = BEVMapIoUMetric()
    gt = gt_masks()
    metric.process({}, [sample(gt.float(), gt)])
    counts = metric.results[0]['counts']
    assert counts.shape == (2, 5) and counts.dtype == np.int64


def test_bad_input_raises_one_clear_error():
    gt = gt_masks()
    with pytest.raises(ValueError, match=r"sample 't0'.*pred_map\['masks'\]"):
        BEVMapIoUMetric().process({}, [sample(torch.zeros(3, H, W), gt)])
    with pytest.raises(ValueError, match='no pred_map'):
        BEVMapIoUMetric().process({}, [dict(token='t0', gt_map=dict(
            masks=gt))])
    with pytest.raises(ValueError, match="metainfo 'location'"):
        BEVMapIoUMetric().process({}, [dict(
            token='t0', pred_map=dict(masks=gt), gt_map=dict(masks=gt))])
    with pytest.raises(ValueError, match='threshold'):
        BEVMapIoUMetric(threshold=1.5)
    with pytest.raises(ValueError, match='domains'):
        BEVMapIoUMetric(domains=dict(boston=[]))


def test_float16_and_numpy_inputs_match_float32():
    gt = gt_masks()
    pred = shift_right(gt, 2).float() * 0.9
    ref = map_iou_counts(pred, gt)
    np.testing.assert_array_equal(map_iou_counts(pred.half(), gt), ref)
    np.testing.assert_array_equal(
        map_iou_counts(pred.numpy(), gt.numpy()), ref)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='requires CUDA')
def test_cuda_counts_match_cpu():
    gt = gt_masks()
    pred = shift_right(gt, 3).float() * 0.7
    np.testing.assert_array_equal(
        map_iou_counts(pred.cuda(), gt.cuda()), map_iou_counts(pred, gt))
    res = evaluate(BEVMapIoUMetric(domains=None),
                   [sample(pred.cuda(), gt.cuda())])
    ref = evaluate(BEVMapIoUMetric(domains=None), [sample(pred, gt)])
    assert res == ref
