"""Camera panel: boxes projected into the camera that sees them (mmdet3d's
projection), not into the one behind; camera names from the paths."""
import itertools

import numpy as np

from nexusflow.visualization import project_boxes, render_cameras
from nexusflow.visualization.camera_panel import camera_names
from helpers.visualization import (IMG_H, IMG_W, box, color_pixels, lidar2img,
                                   project)

RED, BLUE = (250, 20, 20), (20, 20, 250)
TILE = (160, 90)  # half the image size: everything drawn at zoom 0.5


def test_projection_matches_a_pinhole_camera():
    boxes = np.array([box(15, 2)])
    uv, in_front = project_boxes(boxes, lidar2img('CAM_FRONT'))
    assert in_front.tolist() == [True]
    # Corner 0 of mmdet3d's order: back (x - l/2), right (y - w/2), bottom.
    np.testing.assert_allclose(uv[0, 0], project((13, 1, -1.8), 'CAM_FRONT'),
                               atol=1e-3)
    _, in_front = project_boxes(boxes, lidar2img('CAM_BACK'))
    assert in_front.tolist() == [False]


def test_boxes_are_drawn_in_the_camera_that_sees_them():
    front_box, back_box = box(15, 2), box(-12, -1)
    images = [np.full((IMG_H, IMG_W, 3), 90, np.uint8) for _ in range(2)]
    panel = render_cameras(images,
                           [lidar2img('CAM_FRONT'), lidar2img('CAM_BACK')],
                           np.array([front_box, back_box]), [RED, BLUE],
                           TILE, ['/x/CAM_FRONT/1.jpg', '/x/CAM_BACK/2.jpg'])
    assert panel.size == (3 * TILE[0], 2 * TILE[1])
    # Front camera: top row, middle tile; back camera: bottom row, middle.
    front = (TILE[0], 0)
    back = (TILE[0], TILE[1])
    red = color_pixels(panel, RED)
    blue = color_pixels(panel, BLUE)
    assert len(red) and len(blue)
    assert ((red >= front) & (red < np.add(front, TILE))).all()
    assert ((blue >= back) & (blue < np.add(back, TILE))).all()
    # The red outline spans the projected corners (at zoom 0.5).
    corners = np.array([
        project(c, 'CAM_FRONT')
        for c in itertools.product((13, 17), (1, 3), (-1.8, -0.2))
    ]) * 0.5 + front
    lo, hi = red.min(0), red.max(0)
    assert (np.abs(lo - corners.min(0)) <= 3).all()
    assert (np.abs(hi - corners.max(0)) <= 3).all()


def test_missing_images_leave_blank_tiles():
    panel = render_cameras(None, None, np.zeros((0, 9)), [], TILE)
    assert panel.size == (3 * TILE[0], 2 * TILE[1])


def test_camera_names_from_paths_or_the_devkit_order():
    paths = ['/r/samples/CAM_BACK_LEFT/x.jpg', '/r/n008__CAM_BACK__1.jpg']
    assert camera_names(paths, 2) == ['CAM_BACK_LEFT', 'CAM_BACK']
    assert camera_names(None, 2) == ['CAM_FRONT', 'CAM_FRONT_RIGHT']
