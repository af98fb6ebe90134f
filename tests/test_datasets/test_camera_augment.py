"""UniAD's camera augmentations change pixels only, per camera or per
sample as UniAD draws them; geometry and labels stay as loaded."""
import copy

import numpy as np
import pytest

from mmdet3d.registry import TRANSFORMS
from nexusflow.datasets import (MultiViewGridMask,
                                MultiViewPhotoMetricDistortion)


def sample(num_views: int = 6, size=(36, 64)) -> dict:
    rng = np.random.default_rng(0)
    return dict(
        img=[rng.uniform(0, 255, (*size, 3)).astype(np.float32)
             for _ in range(num_views)],
        lidar2img=[np.eye(4) * (i + 1) for i in range(num_views)],
        img_shape=size, gt_bboxes_3d=np.arange(9.0).reshape(1, 9),
        gt_labels_3d=np.array([2]), gt_instance_ids=np.array([7]))


def unchanged_except_images(before: dict, after: dict) -> None:
    for key in before:
        if key != 'img':
            np.testing.assert_array_equal(np.asarray(after[key]),
                                          np.asarray(before[key]))
    assert [i.shape for i in after['img']] == [i.shape for i in before['img']]


def test_photometric_distortion_is_drawn_per_camera():
    np.random.seed(3)
    before = sample()
    # The same picture in every camera: a shared draw would keep them equal.
    before['img'] = [before['img'][0].copy() for _ in range(6)]
    after = TRANSFORMS.build(dict(type='MultiViewPhotoMetricDistortion'))(
        copy.deepcopy(before))
    unchanged_except_images(before, after)
    changed = [not np.allclose(a, b)
               for a, b in zip(after['img'], before['img'])]
    assert sum(changed) >= 4
    distinct = {a.tobytes() for a in after['img']}
    assert len(distinct) >= 5


def test_grid_mask_masks_every_camera_alike_with_the_fill():
    np.random.seed(0)
    before = sample()
    fill = np.array([103.53, 116.28, 123.675], np.float32)
    grid_mask = MultiViewGridMask(prob=1.0, fill=fill)
    after = grid_mask(copy.deepcopy(before))
    unchanged_except_images(before, after)
    masks = [np.all(a == fill, axis=-1) & ~np.all(b == fill, axis=-1)
             for a, b in zip(after['img'], before['img'])]
    assert all(np.array_equal(m, masks[0]) for m in masks)
    assert 0.1 < masks[0].mean() < 0.95
    for a, b, m in zip(after['img'], before['img'], masks):
        np.testing.assert_array_equal(a[~m], b[~m])  # the rest untouched
    # Lines run along both axes: whole masked rows and whole masked columns.
    assert masks[0].all(axis=1).any() and masks[0].all(axis=0).any()


def test_grid_mask_probability():
    np.random.seed(1)
    grid_mask = MultiViewGridMask(prob=0.7)
    applied = 0
    for _ in range(200):
        before = sample(num_views=1, size=(8, 8))
        after = grid_mask(copy.deepcopy(before))
        applied += not np.array_equal(after['img'][0], before['img'][0])
    assert 0.6 < applied / 200 < 0.8


def test_bad_input_and_settings():
    with pytest.raises(ValueError, match='MultiViewGridMask: needs'):
        MultiViewGridMask(prob=1.5)
    with pytest.raises(ValueError, match='list of .H, W, C. images'):
        MultiViewPhotoMetricDistortion()(dict(img=np.zeros((4, 4, 3))))
