"""JTR's augmentations: the scale-crop keeps image, segmentation, depth and
normals aligned (depth scaled by 1/s), RandAugment changes the image only,
both are reproducible under mmengine's seed and reject bad settings."""
import numpy as np
import pytest
from mmengine.runner import set_random_seed

from mmdet3d.registry import TRANSFORMS
from nexusflow.datasets.dense import (PHOTOMETRIC_OPS, DenseRandAugment,
                                      DenseRandomScaleCrop, LoadDenseMTLSample,
                                      NYUv2MTLDataset, PackDenseMTLInputs)

NUM_CLASSES = 5


def block_scene(height=48, width=64, seed=0) -> dict:
    """A scene of 8x8-pixel blocks: block class c has depth 1 + c, a normal
    that encodes c, and its class id in the image's red channel."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, NUM_CLASSES, (height // 8, width // 8))
    seg = np.kron(blocks, np.ones((8, 8), dtype=np.int64))
    normals = rng.normal(size=(NUM_CLASSES, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    img = np.zeros((height, width, 3), dtype=np.float32)
    img[..., 0] = seg / (NUM_CLASSES - 1)
    img[..., 1] = 0.5
    return dict(img=img, img_path='scene.npy',
                gt_semantic=seg,
                gt_depth=(1.0 + seg[..., None]).astype(np.float32),
                gt_normal=normals[seg].astype(np.float32),
                gt_tasks=['semantic', 'depth', 'normal'],
                task_mask=dict(semantic=True, depth=True, normal=True))


def interior(seg: np.ndarray) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood has a single class."""
    padded = np.pad(seg, 1, mode='edge')
    same = np.ones(seg.shape, dtype=bool)
    for dy in range(3):
        for dx in range(3):
            same &= padded[dy:dy + seg.shape[0], dx:dx + seg.shape[1]] == seg
    return same


@pytest.mark.parametrize('scale', [1.2, 1.5, 2.0])
def test_scale_crop_keeps_targets_aligned_and_scales_depth(scale):
    set_random_seed(3)
    scene = block_scene()
    out = DenseRandomScaleCrop(scales=[scale])(block_scene())
    assert out['crop_scale'] == scale
    top, left, crop_h, crop_w = out['crop_bbox']
    assert (crop_h, crop_w) == (int(48 / scale), int(64 / scale))
    for key in ('img', 'gt_semantic', 'gt_depth', 'gt_normal'):
        assert out[key].shape == scene[key].shape
        assert out[key].dtype == scene[key].dtype
    seg = out['gt_semantic']
    # Depth was 1 + class everywhere: after the crop it is (1 + class) / s
    # at every pixel, so depth and segmentation moved together.
    np.testing.assert_allclose(out['gt_depth'][..., 0] * scale, 1.0 + seg,
                               rtol=1e-6)
    # Normals are resampled, not rotated or rescaled: each still is the
    # unit normal of its pixel's class.
    class_normal = {c: scene['gt_normal'][scene['gt_semantic'] == c][0]
                    for c in np.unique(scene['gt_semantic'])}
    for c in np.unique(seg):
        np.testing.assert_allclose(out['gt_normal'][seg == c],
                                   np.broadcast_to(class_normal[c],
                                                   (int((seg == c).sum()),
                                                    3)), atol=1e-6)
    # Segmentation is the crop window sampled at the nearest source pixel.
    rows = top + np.arange(48) * crop_h // 48
    cols = left + np.arange(64) * crop_w // 64
    np.testing.assert_array_equal(seg,
                                  scene['gt_semantic'][np.ix_(rows, cols)])
    # The bilinear image shows the same window: wherever a pixel and its 8
    # neighbours share a class, the image's red channel decodes to it (a
    # one-pixel shift would break this at block edges).
    decoded = np.rint(out['img'][..., 0] * (NUM_CLASSES - 1))
    inside = interior(seg)
    assert inside.mean() > 0.5
    np.testing.assert_array_equal(decoded[inside], seg[inside])


def test_scale_crop_on_the_synthetic_set_keeps_masks_and_missing_tasks(
        nyuv2_root):
    """A onelabel sample through the real loader: the unlabeled tasks stay
    absent, the task mask unchanged and invalid depth stays exactly 0."""
    pipeline = [LoadDenseMTLSample(), DenseRandomScaleCrop(scales=[1.5]),
                DenseRandAugment(), PackDenseMTLInputs()]
    dataset = NYUv2MTLDataset(data_root=nyuv2_root, label_setting='onelabel',
                              pipeline=pipeline)
    full = NYUv2MTLDataset(data_root=nyuv2_root)
    set_random_seed(0)
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        mask = sample.metainfo['task_mask']
        assert mask == dataset.get_data_info(index)['task_mask']
        for task, labeled in mask.items():
            assert (f'gt_{task}' in sample) == labeled
        assert tuple(dataset[index]['inputs'].shape) == (3, 24, 32)
        if 'gt_depth' in sample:
            depth = sample.gt_depth.numpy()
            raw = full[index]['data_samples'].gt_depth.numpy()
            # only values of the original map, divided by the scale
            gap = np.abs(depth[depth > 0][:, None] * 1.5 -
                         raw[raw > 0][None]).min(axis=1)
            assert gap.max() < 1e-4


def test_rand_augment_changes_the_image_only():
    set_random_seed(0)
    scene = block_scene()
    out = DenseRandAugment(num_ops=3, magnitude=15)(block_scene())
    assert len(out['rand_augment_ops']) == 3
    for key in ('gt_semantic', 'gt_depth', 'gt_normal'):
        np.testing.assert_array_equal(out[key], scene[key])
    assert out['task_mask'] == scene['task_mask']
    assert out['img'].shape == scene['img'].shape
    assert out['img'].dtype == np.float32
    assert out['img'].min() >= 0 and out['img'].max() <= 1


@pytest.mark.parametrize('op', sorted(PHOTOMETRIC_OPS))
def test_each_photometric_op_keeps_range_and_only_identity_is_a_no_op(op):
    rng = np.random.default_rng(1)
    img = (0.2 + 0.6 * rng.random((16, 20, 3))).astype(np.float32)
    results = DenseRandAugment(num_ops=1, magnitude=20, ops=[op])(
        dict(img=img.copy()))
    out = results['img']
    assert results['rand_augment_ops'][0][0] == op
    assert out.shape == img.shape and 0 <= out.min() and out.max() <= 1
    changed = np.abs(out - img).max() > 1e-3
    assert changed == (op != 'identity'), op


def test_rand_augment_respects_max_value():
    rng = np.random.default_rng(2)
    img = (255 * rng.random((8, 8, 3))).astype(np.float32)
    out = DenseRandAugment(ops=['brightness'], magnitude=30,
                           max_value=255.0)(dict(img=img))['img']
    assert out.max() <= 255.0 and out.max() > 1.0
    with pytest.raises(ValueError, match='max_value'):
        DenseRandAugment()(dict(img=img, img_path='x.npy'))


@pytest.mark.parametrize('transform', [
    dict(type='DenseRandomScaleCrop', scales=[1.0, 1.2, 1.5]),
    dict(type='DenseRandAugment', num_ops=2, magnitude=9)
])
def test_augmentations_are_reproducible_under_mmengine_seed(transform):
    transform = TRANSFORMS.build(transform)

    def run(seed):
        set_random_seed(seed)
        return [transform(block_scene(seed=i)) for i in range(6)]

    first, again, other = run(5), run(5), run(6)
    for a, b in zip(first, again):
        for key in ('img', 'gt_semantic', 'gt_depth', 'gt_normal'):
            np.testing.assert_array_equal(a[key], b[key])
    assert any(not np.array_equal(a['img'], b['img'])
               for a, b in zip(first, other))


@pytest.mark.parametrize('kwargs, match', [
    (dict(scales=[]), 'non-empty'),
    (dict(scales=[1.0, 0.8]), '>= 1'),
    (dict(scales=[float('nan')]), 'finite'),
])
def test_scale_crop_rejects_bad_scales(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DenseRandomScaleCrop(**kwargs)


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_ops=-1), 'num_ops'),
    (dict(magnitude=31), r'magnitude must be an int in \[0, 31\)'),
    (dict(magnitude=1.5), 'magnitude'),
    (dict(ops=['rotate']), 'geometric ops'),
    (dict(ops=[]), 'non-empty'),
    (dict(max_value=0), 'max_value'),
    (dict(num_magnitude_bins=1), 'num_magnitude_bins'),
])
def test_rand_augment_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DenseRandAugment(**kwargs)


def test_augmentations_name_a_missing_image_and_misshaped_targets():
    with pytest.raises(KeyError, match='after LoadDenseMTLSample'):
        DenseRandomScaleCrop()(dict(gt_depth=np.ones((4, 4, 1))))
    scene = block_scene()
    scene['gt_depth'] = scene['gt_depth'][:8]
    with pytest.raises(ValueError, match='gt_depth of scene.npy'):
        DenseRandomScaleCrop(scales=[1.5])(scene)
