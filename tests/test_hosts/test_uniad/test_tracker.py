"""Track id bookkeeping at inference: RuntimeTracker and the head's
predict path on hand-made query outputs."""
import math

import pytest
import torch

from mmdet3d.registry import MODELS
from nexusflow.hosts.uniad import RuntimeTracker, encode_boxes

PC_RANGE = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_static_object_keeps_its_id_through_short_misses():
    tracker = RuntimeTracker(score_thresh=0.4, filter_score_thresh=0.35,
                             miss_tolerance=3)
    ids = torch.tensor([-1, -1])
    misses = torch.zeros(2, dtype=torch.long)
    history = []
    # Query 0 is the static object: born, two weak frames, back again.
    # Query 1 stays below the birth threshold until the last frame.
    for s0, s1 in [(0.9, 0.1), (0.8, 0.39), (0.2, 0.3), (0.3, 0.1),
                   (0.7, 0.5)]:
        ids, misses = tracker.update(torch.tensor([s0, s1]), ids, misses)
        history.append(ids.tolist())
    assert [h[0] for h in history] == [0, 0, 0, 0, 0]
    assert [h[1] for h in history] == [-1, -1, -1, -1, 1]
    assert misses.tolist() == [0, 0]


def test_track_dies_after_miss_tolerance_and_ids_are_not_reused():
    tracker = RuntimeTracker(miss_tolerance=2)
    ids, misses = tracker.update(torch.tensor([0.9]), torch.tensor([-1]),
                                 torch.tensor([0]))
    ids, misses = tracker.update(torch.tensor([0.1]), ids, misses)
    assert ids.tolist() == [0] and misses.tolist() == [1]
    ids, misses = tracker.update(torch.tensor([0.1]), ids, misses)
    assert ids.tolist() == [-1]
    ids, _ = tracker.update(torch.tensor([0.9]), ids, misses)
    assert ids.tolist() == [1]
    tracker.reset()
    ids, _ = tracker.update(torch.tensor([0.9]), torch.tensor([-1]),
                            torch.tensor([0]))
    assert ids.tolist() == [0]


def test_bad_thresholds_and_shapes_fail_clearly():
    with pytest.raises(ValueError, match='filter_score_thresh'):
        RuntimeTracker(score_thresh=0.3, filter_score_thresh=0.5)
    with pytest.raises(ValueError, match='miss_tolerance'):
        RuntimeTracker(miss_tolerance=0)
    with pytest.raises(ValueError, match='same'):
        RuntimeTracker().update(torch.ones(2), torch.ones(3).long(),
                                torch.zeros(2).long())


def ego_pose(y: float) -> torch.Tensor:
    pose = torch.eye(4, dtype=torch.float64)
    pose[1, 3] = y
    return pose


def test_head_keeps_one_id_for_a_static_object_across_frames():
    """Hand-made decoder outputs of a static car while the ego drives 2 m
    per frame along +y: the car is born from a fresh query in frame 0 and
    then only its carried track scores high."""
    torch.manual_seed(0)
    head = MODELS.build(dict(
        type='UniADTrackHead', num_classes=3, embed_dims=16, num_query=4,
        num_layers=1, num_heads=2, num_points=1, ffn_dims=16,
        pc_range=PC_RANGE, query_update=dict(num_heads=2, ffn_dims=16,
                                             memory_len=2)))
    head.eval()
    tracker = head.new_tracker()
    tracks = head.empty_tracks()
    car_global = torch.tensor([3.0, 20.0, -1.0])
    prev_pose, reported = None, []
    for frame in range(4):
        pose = ego_pose(2.0 * frame)
        if prev_pose is not None:
            prev2curr = torch.linalg.inv(pose) @ prev_pose
            tracks = head.propagate(tracks, prev2curr, dt=0.5)
        car = car_global - pose[:3, 3].float()
        if len(tracks):
            # The carried reference follows the ego motion to the car.
            low, high = torch.tensor(PC_RANGE[:3]), torch.tensor(PC_RANGE[3:])
            expected = (car - low) / (high - low)
            assert torch.allclose(tracks.ref[0], expected, atol=1e-4)
        with torch.no_grad():
            instances, outputs = head(torch.randn(1, 16, 8, 8), tracks)
        num = len(instances)
        logits = torch.full((num, 3), logit(0.05))
        is_car = 0 if frame == 0 else len(tracks) - 1
        logits[is_car, 1] = logit(0.8)
        box = torch.tensor([[*car[:2], car[2] - 0.75, 4.0, 2.0, 1.5, 0.1,
                             0.0, 0.0]])
        codes = encode_boxes(box).expand(num, -1).clone()
        outputs.update(cls_scores=[logits], box_codes=[codes])
        results, tracks = head.predict(instances, outputs, tracker)
        reported.append(results.track_ids.tolist())
        assert results.labels_3d.tolist() == [1]
        assert torch.allclose(results.bboxes_3d.tensor, box, atol=1e-5)
        assert len(tracks) == 1 and tracks.obj_ids.tolist() == [0]
        prev_pose = pose
    assert reported == [[0], [0], [0], [0]]
