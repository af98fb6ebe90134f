"""UniADPanopticMapHead at CPU-test size: losses and matching on hand-made
targets, partial labels, the zero loss, the panoptic merge and the tiny
config fragment."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData
from torch.testing import assert_close

import nexusflow  # noqa: F401
from mmdet3d.registry import MODELS
from nexusflow.hosts.uniad.panoptic_assigner import PanopticMatcher, dice_cost
from nexusflow.hosts.uniad.panoptic_merge import merge_panoptic, top_things

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TINY = osp.join(REPO, 'configs', '_base_', 'map_heads',
                'uniad_panoptic_tiny.py')
SIZE = 12  # BEV and canvas side


def tiny_head(seed: int = 0, canvas=(SIZE, SIZE)):
    cfg = copy.deepcopy(Config.fromfile(TINY).panoptic_map_head)
    cfg.canvas_size = canvas
    torch.manual_seed(seed)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def box_of(mask):
    ys, xs = torch.nonzero(mask, as_tuple=True)
    return torch.stack([xs.min(), ys.min(), xs.max(), ys.max()]).float()


def make_target(labels, rects, drivable_rows=(6, 12), size=SIZE):
    """Things as filled rectangles ``(x1, y1, x2, y2)`` (inclusive pixels)
    with UniAD's instance boxes (min / max pixel coordinates)."""
    masks = torch.zeros(len(labels), size, size, dtype=torch.uint8)
    for mask, (x1, y1, x2, y2) in zip(masks, rects):
        mask[y1:y2 + 1, x1:x2 + 1] = 1
    drivable = torch.zeros(size, size, dtype=torch.uint8)
    drivable[drivable_rows[0]:drivable_rows[1]] = 1
    bboxes = torch.stack([box_of(m) for m in masks]) if len(labels) else \
        torch.zeros(0, 4)
    return dict(instances=InstanceData(
        labels=torch.as_tensor(labels, dtype=torch.long), masks=masks,
        bboxes=bboxes), drivable=drivable)


TARGET = make_target([0, 2, 1],
                     [(1, 1, 4, 2), (6, 0, 10, 3), (2, 7, 5, 10)])


def oracle_preds(head, target, swap=False, logit=20.0):
    """Predictions that match ``target`` exactly: query k is GT element k
    (its class at +logit, the others at -logit, its normalised box); the
    other queries are confident background."""
    layers = head.transformer.decoder.num_layers
    queries, dims = head.num_query, head.embed_dims
    labels = target['instances'].labels
    bboxes = target['instances'].bboxes
    cls = torch.full((layers, 1, queries, 3), -logit)
    boxes = torch.full((layers, 1, queries, 4), 0.5)
    boxes[..., 2:] = 0.1
    for k, label in enumerate(labels):
        cls[:, 0, k, (int(label) + int(swap)) % 3] = logit
        x1, y1, x2, y2 = bboxes[k] / SIZE
        boxes[:, 0, k] = torch.stack([(x1 + x2) / 2, (y1 + y2) / 2,
                                      x2 - x1, y2 - y1])
    query = torch.zeros(1, queries, dims)
    query[0, :, 0] = torch.arange(queries).float()  # the oracle's index
    return dict(cls_scores=cls.requires_grad_(), bbox_preds=boxes,
                query=query, memory=torch.zeros(1, SIZE * SIZE, dims),
                bev_hw=(SIZE, SIZE))


def oracle_masks(head, target):
    """A stand-in for the mask decoders that returns the GT mask of each
    thing query (by the index the oracle query carries) and the drivable
    area, at every layer."""
    masks = target['instances'].masks.float().flatten(1)
    drivable = target['drivable'].float().flatten()

    def decode(memory, thing_query):
        index = thing_query[..., 0].long()
        things = masks[index.clamp(max=len(masks) - 1)]
        things = things * (index < len(masks))[..., None]
        stuff = drivable[None, None].expand(len(memory), 1, -1)
        stuff_query = torch.zeros(len(memory), 1, head.embed_dims)
        return (things, [things] * head.thing_decoder.num_layers, stuff,
                [stuff] * head.stuff_decoder.num_layers,
                [stuff_query] * head.stuff_decoder.num_layers)

    return decode


@pytest.fixture
def oracle_head():
    head = tiny_head()
    head.decode_masks = oracle_masks(head, TARGET)
    with torch.no_grad():  # the stuff branches say "drivable present"
        for branch in head.cls_stuff_branches:
            branch.weight.zero_()
            branch.bias.fill_(20.0)
    return head


def test_a_perfect_prediction_gives_zero_loss(oracle_head):
    losses = oracle_head.loss(oracle_preds(oracle_head, TARGET), [TARGET])
    assert sorted(losses) == sorted(oracle_head.loss_names())
    assert all(v.item() < 1e-4 for v in losses.values()), losses
    assert losses['loss_map_things'].item() >= 0


def test_a_swapped_class_or_mask_is_penalised(oracle_head):
    # Two crossings predicted as contours: no matching can hide it (with
    # all classes present, a permuted class is matched to another element).
    target = make_target([1, 1], [(1, 1, 4, 2), (2, 7, 5, 10)])
    oracle_head.decode_masks = oracle_masks(oracle_head, target)
    losses = oracle_head.loss(oracle_preds(oracle_head, target, swap=True),
                              [target])
    assert losses['loss_map_cls'] > 1.0 and losses['loss_map_cls_d0'] > 1.0
    assert losses['loss_map_bbox'] < 1e-5  # the boxes are still right
    # The thing masks of elements 0 and 1 swapped: the Dice loss sees it.
    swapped = copy.deepcopy(TARGET)
    masks = swapped['instances'].masks
    swapped['instances'].masks = masks[[1, 0, 2]]
    oracle_head.decode_masks = oracle_masks(oracle_head, swapped)
    losses = oracle_head.loss(oracle_preds(oracle_head, TARGET), [TARGET])
    assert losses['loss_map_cls'] < 1e-4
    assert losses['loss_map_things'] > 0.5
    assert losses['loss_map_stuff'] < 1e-4


def test_loss_weights_and_ratios_follow_uniad(oracle_head):
    """One GT thing predicted with the right box and class at logit 0:
    focal 2.0 x (alpha (1-p)^2 log(1/p) + 2 x (1 - alpha) p^2 log(1/(1-p))
    over the other classes...) / 1 GT, scaled by things / (things +
    stuff) = 1 / 2."""
    target = make_target([1], [(2, 2, 6, 5)])
    preds = oracle_preds(oracle_head, target, logit=0.0)
    preds['cls_scores'].data[:, :, 1:] = -50.0  # only query 0 matters
    oracle_head.decode_masks = oracle_masks(oracle_head, target)
    losses = oracle_head.loss(preds, [target])
    p = torch.tensor(0.5)
    focal = 0.25 * (1 - p)**2 * -p.log() + 2 * 0.75 * p**2 * -(1 - p).log()
    assert_close(losses['loss_map_cls'], 2.0 * focal * 0.5)


def test_matcher_finds_the_permutation():
    torch.manual_seed(0)
    boxes = torch.tensor([[0.2, 0.3, 0.1, 0.2], [0.7, 0.6, 0.3, 0.1],
                          [0.4, 0.8, 0.2, 0.2]])
    gt_boxes = torch.cat([boxes[:, :2] - boxes[:, 2:] / 2,
                          boxes[:, :2] + boxes[:, 2:] / 2], -1) * 20
    order = torch.tensor([2, 0, 1])
    cls = torch.full((3, 3), -5.0)
    cls[torch.arange(3), torch.tensor([0, 1, 2])] = 5.0
    matcher = PanopticMatcher(cls_weight=2.0, l1_weight=5.0,
                              giou_weight=2.0)
    rows, cols = matcher(cls[order], boxes[order], torch.tensor([0, 1, 2]),
                         gt_boxes, (20, 20))
    assert rows.tolist() == [0, 1, 2] and cols.tolist() == order.tolist()
    masks = torch.zeros(3, 8, 8)
    masks[0, :4], masks[1, 4:], masks[2, :, :4] = 1, 1, 1
    matcher = PanopticMatcher(0.0, 0.0, 0.0, mask_weight=2.0)
    rows, cols = matcher(cls, boxes, torch.tensor([0, 1, 2]), gt_boxes,
                         (20, 20), masks[order], masks)
    assert cols.tolist() == order.tolist()
    empty = matcher(cls, boxes, torch.zeros(0, dtype=torch.long),
                    torch.zeros(0, 4), (20, 20), masks, masks[:0])
    assert [len(x) for x in empty] == [0, 0]


def test_dice_cost_is_uniads():
    pred = torch.tensor([[[0.5, 1.0], [0.0, 0.2]]])
    gt = torch.tensor([[[1, 1], [0, 0]], [[0, 0], [1, 1]]])
    cost = dice_cost(pred, gt)
    inter = torch.tensor([1.5, 0.2])
    want = 1 - 2 * inter / (1.29 + 0.001 + 2 + 0.001)
    assert_close(cost[0], want)
    # GT masks on a finer canvas are resized to the predictions first.
    fine = gt.repeat_interleave(2, 1).repeat_interleave(2, 2)
    assert_close(dice_cost(pred, fine), cost)


def test_forward_loss_and_gradients_reach_every_parameter():
    head = tiny_head()
    bev = torch.randn(2, 32, SIZE, SIZE)
    preds, feat = head(bev)
    assert preds['cls_scores'].shape == (2, 2, 20, 3)
    assert preds['bbox_preds'].shape == (2, 2, 20, 4)
    assert feat.shape == (2, 20, 32) and feat is preds['query']
    other = make_target([2], [(0, 5, 11, 6)], drivable_rows=(0, 4))
    losses = head.loss(preds, [TARGET, other])
    assert sorted(losses) == sorted(head.loss_names())
    total = sum(losses.values())
    assert torch.isfinite(total) and total > 0
    total.backward()
    missing = [n for n, p in head.named_parameters() if p.grad is None]
    assert missing == []


def test_unlabeled_samples_reach_no_loss():
    """A sample without map labels (target None) changes nothing: the
    labeled sample's losses are those of a batch of it alone and the
    unlabeled sample's BEV gets an exactly zero gradient."""
    head = tiny_head().eval()  # no dropout, so the two passes agree
    bev = torch.randn(2, 32, SIZE, SIZE, requires_grad=True)
    preds, _ = head(bev)
    losses = head.loss(preds, [None, TARGET])
    sum(losses.values()).backward()
    assert torch.count_nonzero(bev.grad[0]) == 0
    assert torch.count_nonzero(bev.grad[1]) > 0
    alone = head.loss(head(bev[1:].detach())[0], [TARGET])
    for key, value in alone.items():
        assert_close(losses[key], value, rtol=1e-5, atol=1e-6)


def test_zero_loss_is_exact_and_keeps_every_parameter_in_the_graph():
    head = tiny_head()
    preds, _ = head(torch.randn(2, 32, SIZE, SIZE))
    losses = head.loss(preds, [None, None])
    assert sorted(losses) == sorted(head.loss_names())
    assert all(v.item() == 0.0 for v in losses.values())
    sum(losses.values()).backward()
    grads = [p.grad for p in head.parameters()]
    assert all(g is not None for g in grads)
    assert all(torch.count_nonzero(g) == 0 for g in grads)


def test_bad_targets_give_one_clear_error():
    head = tiny_head()
    preds, _ = head(torch.randn(1, 32, SIZE, SIZE))
    with pytest.raises(ValueError, match='1 predictions but 2 targets'):
        head.loss(preds, [TARGET, TARGET])
    small = make_target([0], [(0, 0, 2, 2)], size=8)
    with pytest.raises(ValueError, match=r'target 0: expected .*masks '
                       r'\(1, 12, 12\).*set canvas_size'):
        head.loss(preds, [small])
    bad = copy.deepcopy(TARGET)
    bad['instances'].labels = torch.tensor([0, 3, 1])
    with pytest.raises(ValueError, match=r'thing labels must be in \[0, 3\)'):
        head.loss(preds, [bad])


def test_a_sample_without_things_still_trains_the_stuff():
    head = tiny_head()
    preds, _ = head(torch.randn(1, 32, SIZE, SIZE))
    losses = head.loss(preds, [make_target([], [])])
    assert losses['loss_map_things'] == 0 and losses['loss_map_bbox'] == 0
    assert losses['loss_map_cls'] > 0 and losses['loss_map_stuff'] > 0
    sum(losses.values()).backward()


def test_merge_pastes_things_by_score_without_overlap():
    """Four things on an 8x8 canvas: a crossing, a contour overlapping it by
    half (dropped, > 0.4), a divider under the score threshold (dropped) and
    a divider overlapping the crossing by a quarter (pasted on the free
    pixels)."""
    masks = torch.zeros(4, 8, 8)
    masks[0, 0:4, 0:4] = 0.9   # crossing, 16 px
    masks[1, 0:4, 2:6] = 0.8   # contour, half on the crossing
    masks[2, 6:8, :] = 0.9     # divider, low class score
    masks[3, 3:7, 3:4] = 0.7   # divider, 1 of 4 px on the crossing
    boxes = torch.zeros(4, 5)
    boxes[:, 4] = torch.tensor([0.9, 0.8, 0.05, 0.6])
    labels = torch.tensor([1, 2, 0, 0])
    stuff = torch.zeros(8, 8)
    stuff[4:] = 0.6
    out = merge_panoptic(masks, stuff, boxes, labels, num_things=3)
    # Scores: class score x (mean mask value x n / (n + 1))^2.
    quality = torch.tensor([0.9 * 16 / 17, 0.8 * 16 / 17, 0.9 * 16 / 17,
                            0.7 * 4 / 5])
    want = boxes[:, 4] * quality**2
    assert_close(out['bboxes'][:, 4], want.sort(descending=True).values)
    assert out['labels'].tolist() == [1, 2, 0, 0]
    lanes = torch.zeros(3, 8, 8, dtype=torch.long)
    lanes[1, 0:4, 0:4] = 1
    lanes[0, 4:7, 3] = 1
    assert torch.equal(out['lanes'], lanes)
    assert torch.equal(out['drivable'], stuff > 0.5)
    panoptic = out['panoptic']
    assert panoptic.shape == (8, 8, 2)
    assert torch.equal(panoptic[..., 1].unique(), torch.tensor([0, 1, 2]))
    assert_close(out['lane_scores'][0, 4:7, 3], torch.full((3, ), 0.7))


def test_top_things_scale_and_clamp_boxes():
    cls = torch.tensor([[3.0, -3.0], [0.0, 5.0]])
    boxes = torch.tensor([[0.5, 0.5, 0.2, 0.4], [0.95, 0.1, 0.2, 0.4]])
    query, out, labels = top_things(cls, boxes, 3, (10, 20))
    assert query.tolist() == [1, 0, 1] and labels.tolist() == [1, 0, 0]
    assert_close(out[0, :4], torch.tensor([17.0, 0.0, 20.0, 3.0]))
    assert_close(out[1, :4], torch.tensor([8.0, 3.0, 12.0, 7.0]))
    assert_close(out[:, 4], torch.tensor([5.0, 3.0, 0.0]).sigmoid())


def test_predict_gives_the_metric_format_on_the_canvas():
    head = tiny_head(canvas=(24, 24)).eval()
    with torch.no_grad():
        preds, _ = head(torch.randn(2, 32, SIZE, SIZE))
        masks = head.predict(preds)
        merged = head.panoptic(preds)
    assert masks.shape == (2, 4, 24, 24)
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    for sample, result in zip(masks, merged):
        assert torch.equal(sample[:3], result['lanes'].float())
        assert torch.equal(sample[3], result['mask_scores'][-1].gt(0.5)
                           .float())
        assert result['mask_scores'].shape == (21, 24, 24)
