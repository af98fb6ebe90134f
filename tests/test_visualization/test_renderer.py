"""Whole frames: size, both BEV panels and the cameras drawn, a track's
colour stable across frames, trails in the moving ego's frame, a GIF per
scene."""
import numpy as np
from PIL import Image

from nexusflow.visualization import SceneWriter, TrackMapRenderer, track_color
from nexusflow.visualization.palette import BACKGROUND, GT_BOX
from nexusflow.visualization.renderer import GAP, HEADER
from helpers.visualization import (box, color_pixels, has_color, make_frame,
                                   pose)


def bev_pixel(renderer, frame, xy, panel):
    """Picture pixel of a LiDAR point in the GT (0) or prediction (1)
    panel."""
    canvas = renderer.canvas(frame)
    col, row = canvas.world_to_pixel([xy])[0]
    return col + panel * (canvas.size[0] + GAP), row + HEADER


def test_frame_size_and_panels():
    renderer = TrackMapRenderer()
    frame = make_frame([box(20, 5)], [7], gt_boxes=[box(-10, 3)])
    image = renderer.render(frame)
    (width, height), (tile_w, tile_h) = renderer.layout(frame)
    # 200 x 200 cells at 2 px, two panels; tiles keep the 16:9 images.
    assert image.size == (width, height) == (804, HEADER + 400 + GAP + 302)
    assert (tile_w, tile_h) == (268, 151)
    pixels = np.asarray(image)
    gt_panel = pixels[HEADER:HEADER + 400, :400]
    pred_panel = pixels[HEADER:HEADER + 400, 404:]
    cameras = pixels[HEADER + 404:]
    for panel in (gt_panel, pred_panel, cameras):
        assert (panel != BACKGROUND).any(-1).mean() > 0.05  # not blank
    assert has_color(image, GT_BOX, bev_pixel(renderer, frame, (-10, 3), 0))
    assert has_color(image, track_color(7),
                     bev_pixel(renderer, frame, (20, 5), 1))
    # The tracked box ahead is projected into the front camera (top middle).
    drawn = color_pixels(cameras, track_color(7))
    assert len(drawn) and (drawn[:, 0] >= tile_w).all() and \
        (drawn[:, 0] < 2 * tile_w).all() and (drawn[:, 1] < tile_h).all()


def test_track_colour_is_stable_across_frames():
    renderer = TrackMapRenderer(trail_length=0)
    seen = []
    # Same ids, different order and positions, a new id in frame 1.
    for idx, (boxes, ids) in enumerate([
        ([box(10, 0), box(-10, 8)], [4, 9]),
        ([box(-6, 12), box(15, 2), box(0, -20)], [9, 4, 31]),
    ]):
        frame = make_frame(boxes, ids, frame_idx=idx)
        image = renderer.render(frame)
        for b, track_id in zip(boxes, ids):
            assert has_color(image, track_color(track_id),
                             bev_pixel(renderer, frame, b[:2], 1))
        seen.append({t: tuple(track_color(t)) for t in ids})
    assert seen[0][4] == seen[1][4] and seen[0][9] == seen[1][9]
    assert len({track_color(t) for t in range(50)}) == 50


def test_trails_follow_the_track_in_the_moving_ego_frame():
    renderer = TrackMapRenderer(trail_length=3)
    color = track_color(5)
    # The ego drives 4 m along global x; the object stands still at global
    # (30, 10), so in the LiDAR frame it comes 4 m closer.
    first = make_frame([box(30, 10)], [5], frame_idx=0,
                       lidar2global=pose(0, 0))
    renderer.render(first)
    # What the second frame draws: the first centre, moved into its frame.
    assert renderer.trails.past([5], pose(4, 0))[0].tolist() == [[26, 10]]
    second = make_frame([box(26, 10)], [5], frame_idx=1,
                        lidar2global=pose(4, 0))
    image = renderer.render(second)
    # A new scene starts without trails.
    other = make_frame([box(0, 10)], [5], scene='scene-b')
    renderer.render(other)
    assert renderer.trails.past([5], pose())[0].tolist() == [[0, 10]]
    assert has_color(image, color, bev_pixel(renderer, second, (26, 10), 1))


def test_old_trail_points_are_drawn(tmp_path):
    renderer = TrackMapRenderer(trail_length=5, show_ids=False)
    for idx, x in enumerate([40, 30, 20]):
        image = renderer.render(make_frame([box(x, -10)], [2],
                                           frame_idx=idx))
    frame = make_frame([box(20, -10)], [2])
    # Dots at the past centres, 10 m and 20 m ahead of the current box.
    for x in (30, 40):
        assert has_color(image, track_color(2),
                         bev_pixel(renderer, frame, (x, -10), 1), radius=1)


def test_scene_writer_gives_a_gif_per_scene(tmp_path):
    writer = SceneWriter(str(tmp_path), gif_zoom=0.25)
    for scene, frames in (('scene-a', 3), ('scene-b', 2)):
        for idx in range(frames):
            writer.add(make_frame([box(10 + idx, 0)], [1], scene=scene,
                                  frame_idx=idx))
    gifs = writer.close()
    assert [g.rsplit('/', 1)[-1] for g in gifs] == ['scene-a.gif',
                                                    'scene-b.gif']
    assert sorted(p.name for p in (tmp_path / 'scene-a').iterdir()) == [
        '000.png', '001.png', '002.png']
    for gif, frames in zip(gifs, (3, 2)):
        with Image.open(gif) as image:
            assert image.n_frames == frames
            assert image.size == (201, 186)  # a quarter of 804 x 744
