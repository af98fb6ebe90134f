"""Track head: box codes, matching cost, UniAD's assignment, losses, ego
query and carry-over recipe."""
import math
import os

import pytest
import torch
from mmengine.structures import InstanceData

from mmdet3d.registry import MODELS, TASK_UTILS
from mmdet3d.structures import LiDARInstance3DBoxes
from nexusflow.hosts.uniad import UniADTrackHead, decode_boxes, encode_boxes
from nexusflow.hosts.uniad.ego_motion import ego_gt_box

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


def frame_losses(head, instances, outputs, gt_instances, ego_box=None):
    targets = head.targets(instances, outputs, gt_instances, ego_box)
    norms = head.normalizers(targets['counts'])
    return head.loss(outputs, targets, norms), targets


def test_tracked_query_keeps_its_instance_and_fresh_ones_take_the_rest():
    head = make_head()
    tracks = carried_track(head, obj_id=7)
    with torch.no_grad():
        instances, outputs = head(torch.randn(1, 16, 8, 8), tracks)
    codes = encode_boxes(GT_BOXES)
    # Fresh query 0 sits exactly on instance 7, fresh query 2 near 9; 7 is
    # held by the track, so fresh query 0 must stay background.
    for layer in range(2):
        outputs['box_codes'][layer][1] = codes[0]
        outputs['box_codes'][layer][3] = codes[1] + 0.05
    losses, targets = frame_losses(head, instances, outputs, gt())
    for layer in targets['layers']:
        assert layer['gt_index'].tolist() == [0, -1, -1, 1, -1]
        assert layer['labels'].tolist() == [0, 3, 3, 2, 3]
    assert targets['obj_ids'].tolist() == [7, -1, -1, 9, -1]
    # One track and one new match: 2 classification and 2 box targets.
    assert targets['counts'].tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert set(losses) == {'loss_track_cls', 'loss_track_bbox',
                           'd0.loss_track_cls', 'd0.loss_track_bbox'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())


def test_each_layer_matches_its_own_predictions():
    head = make_head()
    with torch.no_grad():
        instances, outputs = head(torch.randn(1, 16, 8, 8),
                                  head.empty_tracks())
    codes = encode_boxes(GT_BOXES[:1])
    outputs['box_codes'][0][2] = codes[0]
    outputs['box_codes'][1][1] = codes[0]
    _, targets = frame_losses(head, instances, outputs, gt(count=1))
    assert targets['layers'][0]['gt_index'].tolist() == [-1, -1, 0, -1]
    assert targets['layers'][1]['gt_index'].tolist() == [-1, 0, -1, -1]
    assert targets['obj_ids'].tolist() == [-1, 7, -1, -1]


def test_track_of_a_vanished_instance_is_background_and_keeps_its_id():
    head = make_head()
    tracks = carried_track(head, obj_id=5)
    with torch.no_grad():
        instances, outputs = head(torch.randn(1, 16, 8, 8), tracks)
    _, targets = frame_losses(head, instances, outputs, gt())
    last = targets['layers'][-1]
    assert last['gt_index'][0] == -1 and last['labels'][0] == 3
    assert targets['obj_ids'][0] == 5
    assert sorted(targets['obj_ids'][1:].tolist()) == [-1, -1, 7, 9]
    # The gone track still counts as a classification target (UniAD).
    assert targets['counts'][-1].tolist() == [3.0, 2.0]


def test_labeled_empty_frame_is_all_background():
    head = make_head(num_layers=1)
    instances, outputs = head(torch.randn(1, 16, 8, 8), head.empty_tracks())
    losses, targets = frame_losses(head, instances, outputs, gt(count=0))
    assert targets['obj_ids'].tolist() == [-1] * 4
    assert losses['loss_track_bbox'].item() == 0.0
    assert losses['loss_track_cls'].item() > 0
    losses['loss_track_cls'].backward()
    assert head.query_embedding.weight.grad.abs().sum() > 0


def ego_head():
    torch.manual_seed(0)
    head = MODELS.build(dict(
        type='UniADTrackHead', num_classes=3, embed_dims=16, num_query=4,
        num_layers=1, num_heads=2, num_points=1, ffn_dims=16,
        with_ego_query=True, pc_range=PC_RANGE,
        query_update=dict(num_heads=2, ffn_dims=16, memory_len=2)))
    head.init_weights()
    return head.eval()


def test_ego_query_learns_the_ego_box():
    head = ego_head()
    instances, outputs = head(torch.randn(1, 16, 8, 8), head.empty_tracks())
    rig = torch.eye(4)
    rig[:3, :3] = torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0],
                                [0.0, 0.0, 1.0]])  # LiDAR +y = ego forward
    box = ego_gt_box(rig, torch.tensor([3.0, 0.5]))
    assert torch.allclose(box, torch.tensor([[0.0, 0.0, -0.78, 4.08, 1.73,
                                              1.56, math.pi / 2, 3.0, 0.5]]))
    with pytest.raises(ValueError, match='ego box'):
        head.targets(instances, outputs, gt(count=0))
    losses, targets = frame_losses(head, instances, outputs, gt(count=0),
                                   box)
    assert targets['counts'].tolist() == [[1.0, 1.0]]
    assert losses['loss_track_bbox'] > 0
    losses['loss_track_bbox'].backward()
    assert head.query_embedding.weight.grad[4].abs().sum() > 0
    # A perfect ego box leaves no box loss.
    outputs['ego']['box_codes'][0] = encode_boxes(box).detach()
    losses, _ = frame_losses(head, instances, outputs, gt(count=0), box)
    assert losses['loss_track_bbox'].item() == pytest.approx(0.0)


def carry_case(head, **recipe):
    """A frame with a track on instance 7 whose box is exact and a fresh
    query on instance 9 whose box is 3 m off."""
    for key, value in recipe.items():
        setattr(head, key, value)
    tracks = carried_track(head, obj_id=7)
    with torch.no_grad():
        instances, outputs = head(torch.randn(1, 16, 8, 8), tracks)
    codes = encode_boxes(GT_BOXES)
    for layer in range(2):
        outputs['box_codes'][layer][0] = codes[0]
        outputs['box_codes'][layer][2] = codes[1] + torch.tensor(
            [3.0] + [0.0] * 9)
        outputs['cls_scores'][layer][4] = 5.0  # the best free query
    _, targets = frame_losses(head, instances, outputs, gt())
    return head.carry(instances, outputs, targets, gt())


def test_carry_keeps_tracks_above_the_iou_gate_only():
    head = make_head()
    carried = carry_case(head, random_drop=0.0, fp_ratio=0.0)
    assert carried.obj_ids.tolist() == [7]
    assert carried.iou.tolist() == pytest.approx([1.0])
    carried = carry_case(head, random_drop=0.0, fp_ratio=0.0,
                         carry_iou_thresh=-1.0)
    assert sorted(carried.obj_ids.tolist()) == [7, 9]


def test_carry_drops_and_injects_false_positives():
    head = make_head()
    assert len(carry_case(head, random_drop=1.0, fp_ratio=0.0)) == 0
    carried = carry_case(head, random_drop=0.0, fp_ratio=1.0)
    # The kept track plus the best-scoring free query, still free.
    assert carried.obj_ids.tolist() == [7, -1]
    torch.manual_seed(0)
    counts = [len(carry_case(head, random_drop=0.5, fp_ratio=0.0))
              for _ in range(40)]
    assert 8 < sum(counts) < 32


def _normalizer_worker(rank: int, port: int, queue) -> None:
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=2)
    counts = torch.tensor([[6.0, 4.0]]) if rank == 0 else torch.zeros(1, 2)
    from nexusflow.hosts.uniad import UniADTrackHead
    queue.put((rank, UniADTrackHead.normalizers(counts).tolist()))
    dist.destroy_process_group()


def test_normalizers_average_over_processes():
    import torch.multiprocessing as mp
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    port = 29000 + os.getpid() % 1000
    procs = [ctx.Process(target=_normalizer_worker, args=(r, port, queue))
             for r in range(2)]
    for proc in procs:
        proc.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    # A process without labels contributes zero targets to the mean.
    assert results == {0: [[3.0, 2.0]], 1: [[3.0, 2.0]]}
    assert UniADTrackHead.normalizers(torch.zeros(2, 2)).tolist() == \
        [[1.0, 1.0]] * 2


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
        head.targets(instances, outputs, bad)
    with pytest.raises(ValueError, match=r'bev must be \(1, 16, H, W\)'):
        head(torch.randn(2, 16, 8, 8), head.empty_tracks())


def test_diverged_predictions_fail_clearly():
    head = make_head(num_layers=1)
    with torch.no_grad():
        instances, outputs = head(torch.randn(1, 16, 8, 8),
                                  head.empty_tracks())
    outputs['box_codes'][-1][2, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN or inf'):
        head.targets(instances, outputs, gt())
