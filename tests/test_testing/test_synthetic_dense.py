"""Synthetic NYUv2 / Cityscapes: real layout, consistent geometry."""
import os.path as osp

import numpy as np

from nexusflow.testing import create_synthetic_nyuv2
from nexusflow.testing.synthetic_dense import CS_SKY, NYU_FLOOR, raycast


def test_nyuv2_layout_dtypes_and_value_ranges(nyuv2_root):
    for folder, shape in (('image', (24, 32, 3)), ('label', (24, 32)),
                          ('depth', (24, 32, 1)), ('normal', (24, 32, 3))):
        array = np.load(osp.join(nyuv2_root, 'train', folder, '0.npy'))
        assert array.shape == shape and array.dtype == np.float32
    image = np.load(osp.join(nyuv2_root, 'train', 'image', '0.npy'))
    assert 0 <= image.min() and image.max() <= 1
    normal = np.load(osp.join(nyuv2_root, 'train', 'normal', '0.npy'))
    norms = np.linalg.norm(normal, axis=-1)
    valid = norms > 0
    assert valid.mean() > 0.9
    assert np.allclose(norms[valid], 1, atol=1e-5)


def test_floor_normals_point_up_and_face_camera(nyuv2_root):
    label = np.load(osp.join(nyuv2_root, 'train', 'label', '0.npy'))
    normal = np.load(osp.join(nyuv2_root, 'train', 'normal', '0.npy'))
    floor = (label == NYU_FLOOR) & (np.abs(normal).sum(-1) > 0)
    assert floor.any()
    # y points down in the camera frame: the floor normal has y < 0.
    assert (normal[floor][:, 1] < -0.8).all()


def test_cityscapes_sky_has_no_depth(cityscapes_root):
    label = np.load(osp.join(cityscapes_root, 'train', 'label_19', '0.npy'))
    depth = np.load(osp.join(cityscapes_root, 'train', 'depth', '0.npy'))
    assert (label == CS_SKY).any()
    assert (depth[label == CS_SKY] == 0).all()
    assert (depth[label != CS_SKY] > 0).all()
    # MTAN stores inverse depth (1/m), not metres.
    assert depth.max() <= 1.0


def test_raycast_hits_box_in_front_of_wall():
    room = np.array([[-5., -5., -5.], [5., 5., 5.]])
    boxes = np.array([[[-1., -1., 2.], [1., 1., 3.]]])
    rays = np.array([[0., 0., 1.], [0.9, 0., 1.]])
    t, normal, hit = raycast(np.zeros(3), rays, room, boxes)
    assert np.allclose(t, [2.0, 5.0])
    assert hit.tolist() == [6, 5]
    assert np.allclose(normal, [[0, 0, -1], [0, 0, -1]])


def test_generation_is_seeded(tmp_path):
    a = create_synthetic_nyuv2(str(tmp_path / 'a'), 1, 1, (8, 8), seed=4)
    b = create_synthetic_nyuv2(str(tmp_path / 'b'), 1, 1, (8, 8), seed=4)
    for folder in ('image', 'depth'):
        assert np.array_equal(np.load(osp.join(a, 'val', folder, '0.npy')),
                              np.load(osp.join(b, 'val', folder, '0.npy')))
