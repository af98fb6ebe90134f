"""Track head: box codes, matching cost, MOTR-style assignment, losses."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmdet3d.registry import MODELS, TASK_UTILS
from mmdet3d.structures import LiDARInstance3DBoxes
from nexusflow.hosts.uniad import decode_boxes, encode_boxes

PC_RANGE = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
GT_BOXES = torch.tensor([[5.0, 10.0, -1.5, 4.5, 1.9, 1.6, 0.3, 1.0, 0.5],
                         [-20.0, 3.0, -1.0, 0.8, 0.7, 1.8, -2.0, 0.0, 0.0]])


def make_head(num_layers: int = 2):
    torch.manual_seed(0)
    head = MODELS.build(dict(
        type='UniADTrackHead', num_classes=3, embed_dims=16, num_query=4,
        num_layers=num_layers, num_heads=2, num_points=1, ffn_dims=16,
        pc_range=PC_RANGE, query_update=dict(num_heads=2, ffn_dims=16,
                                             memory_len=2)))
    head.init_weights()
    return head.eval()


def gt(ids=(7, 9), count: int = 2) -> InstanceData:
    return InstanceData(
        bboxes_3d=LiDARInstance3DBoxes(GT_BOXES[:count], box_dim=9),
        labels_3d=torch.tensor([0, 2])[:count],
        instance_ids=torch.tensor(ids)[:count])


def carried_track(head, obj_id: int) -> InstanceData:
    """One track carried from a previous frame, holding ``obj_id``."""
    instances, outputs = head(torch.randn(1, 16, 8, 8), head.empty_tracks())
    instances.obj_ids = torch.tensor([obj_id, -1, -1, -1])
    return head.next_tracks(instances, outputs, instances.obj_ids >= 0)


def test_box_codes_round_trip_and_l1_cost():
    codes = encode_boxes(GT_BOXES)
    assert codes.shape == (2, 10)
    assert torch.allclose(codes[0, 2], torch.tensor(-1.5 + 0.8))
    assert torch.allclose(decode_boxes(codes), GT_BOXES, atol=1e-5)
    cost = TASK_UTILS.build(dict(type='Box3DL1Cost', weight=0.25))
    pred = codes.flip(0) + 0.1
    matrix = cost(InstanceData(bboxes=pred), InstanceData(bboxes=codes))
    manual = (pred[:, None, :8] - codes[None, :, :8]).abs().sum(-1) * 0.25
    assert torch.allclose(matrix, manual)
    with pytest.raises(ValueError, match=r'\(N, 9\)'):
        encode_boxes(torch.zeros(3, 7))


def test_tracked_query_keeps_its_instance_and_fresh_ones_take_the_rest():
    head = make_head()
    tracks = carried_track(head, obj_id=7)
    with torch.no_grad():
        instances, outputs = head(torch.randn(1, 16, 8, 8), tracks)
    codes = encode_boxes(GT_BOXES)
    # Fresh query 0 sits exactly on instance 7, fresh query 2 near 9; 7 is
    # held by the track, so fresh query 0 must stay background.
    outputs['box_codes'][-1][1] = codes[0]
    outputs['box_codes'][-1][3] = codes[1] + 0.05
    assigned = head.assign(instances, outputs, gt())
    assert assigned.tolist() == [0, -1, -1, 1, -1]

    losses, obj_ids = head.loss(instances, outputs, gt())
    assert obj_ids.tolist() == [7, -1, -1, 9, -1]
    assert set(losses) == {'loss_track_cls', 'loss_track_bbox',
                           'd0.loss_track_cls', 'd0.loss_track_bbox'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())


def test_track_of_a_vanished_instance_becomes_background():
    head = make_head()
    tracks = carried_track(head, obj_id=5)
    with torch.no_grad():
        instances, outputs = head(torch.randn(1, 16, 8, 8), tracks)
    _, obj_ids = head.loss(instances, outputs, gt())
    assert obj_ids[0] == -1
    assert sorted(obj_ids[1:].tolist()) == [-1, -1, 7, 9]


def test_labeled_empty_frame_is_all_background():
    head = make_head(num_layers=1)
    instances, outputs = head(torch.randn(1, 16, 8, 8), head.empty_tracks())
    losses, obj_ids = head.loss(instances, outputs, gt(count=0))
    assert obj_ids.tolist() == [-1] * 4
    assert losses['loss_track_bbox'].item() == 0.0
    assert losses['loss_track_cls'].item() > 0
    losses['loss_track_cls'].backward()
    assert head.query_embedding.weight.grad.abs().sum() > 0


def test_zero_loss_and_parameter_tie_reach_every_parameter():
    head = make_head(num_layers=1)
    head.train()
    instances, outputs = head(torch.randn(1, 16, 8, 8), head.empty_tracks())
    losses = head.zero_loss(outputs)
    total = sum(losses.values()) + head.parameter_tie()
    assert total.item() == 0.0
    total.backward()
    for name, param in head.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().max() == 0, name


def test_gt_without_instance_ids_fails_clearly():
    head = make_head(num_layers=1)
    instances, outputs = head(torch.randn(1, 16, 8, 8), head.empty_tracks())
    bad = InstanceData(bboxes_3d=LiDARInstance3DBoxes(GT_BOXES, box_dim=9),
                       labels_3d=torch.tensor([0, 2]))
    with pytest.raises(ValueError, match='instance_ids.*PackTrackMapInputs'):
        head.loss(instances, outputs, bad)
    with pytest.raises(ValueError, match=r'bev must be \(1, 16, H, W\)'):
        head(torch.randn(2, 16, 8, 8), head.empty_tracks())


def test_diverged_predictions_fail_clearly():
    head = make_head(num_layers=1)
    with torch.no_grad():
        instances, outputs = head(torch.randn(1, 16, 8, 8),
                                  head.empty_tracks())
    outputs['box_codes'][-1][2, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN or inf'):
        head.loss(instances, outputs, gt())
