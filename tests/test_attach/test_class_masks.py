"""Class groups inside one head: for a sample whose task is unlabeled, the
task's classes give no classification loss (neither positive nor negative)
and no regression loss, the other classes are untouched, and every
parameter stays in the graph. Checked on the stock heads of mmdet3d's
PointPillars (Anchor3DHead) and FCOS3D / PGD (mono-3D)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from torch import nn

import mmdet3d
from mmdet3d.registry import MODELS
from mmdet3d.structures import CameraInstance3DBoxes, LiDARInstance3DBoxes
from nexusflow.attach.class_masks import ClassLossMask

STOCK = osp.join(osp.dirname(mmdet3d.__file__), '.mim', 'configs')
NUS_CLASSES = ['car', 'truck', 'trailer', 'bus', 'construction_vehicle',
               'bicycle', 'motorcycle', 'pedestrian', 'traffic_cone',
               'barrier']
TASKS = dict(vehicle=NUS_CLASSES[:5], vru=NUS_CLASSES[5:9])
VRU = [NUS_CLASSES.index(c) for c in TASKS['vru']]
LABELED = [i for i in range(10) if i not in VRU]


def stock_head(config: str, key: str) -> nn.Module:
    init_default_scope('mmdet3d')
    cfg = Config.fromfile(osp.join(STOCK, config))
    head = cfg.model[key]
    # The detector hands its train/test settings to the head.
    train, test = cfg.model.get('train_cfg'), cfg.model.get('test_cfg')
    if key == 'pts_bbox_head':
        train, test = train.pts, test.pts
    head.update(train_cfg=train, test_cfg=test)
    torch.manual_seed(0)
    return MODELS.build(head)


def grads_of(head, scores, loss_fn, mask=None):
    """Classification-score gradients and the losses, with the class
    weights of ``mask`` (None: no masking)."""
    scores = [s.detach().requires_grad_() for s in scores]
    holder = nn.Module()
    holder.head = head
    masker = ClassLossMask(holder, TASKS, NUS_CLASSES, 'test')
    if mask is None:
        losses = loss_fn(scores)
    else:
        with masker(mask):
            losses = loss_fn(scores)
    total = sum(v if torch.is_tensor(v) else sum(v) for v in losses.values())
    grads = torch.autograd.grad(total, scores)
    return grads, {k: float(v if torch.is_tensor(v) else sum(v))
                   for k, v in losses.items()}


def per_class(grad: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """(..., A * C, H, W) score gradients as (N, C)."""
    b, ac, h, w = grad.shape
    return grad.permute(0, 2, 3, 1).reshape(-1, num_classes)


def check_masking(grads_full, grads_masked, losses_full, losses_masked):
    for full, masked in zip(grads_full, grads_masked):
        full, masked = per_class(full), per_class(masked)
        # Unlabeled classes: no gradient at all in the masked loss, some
        # in the plain one (they would be learned as background).
        assert masked[:, VRU].abs().max() == 0
        assert full[:, VRU].abs().max() > 0
        # Labeled classes: the same gradient.
        torch.testing.assert_close(masked[:, LABELED], full[:, LABELED])
    for key in losses_full:
        if 'cls' not in key:  # regression / direction / ...: positives only
            assert losses_masked[key] == pytest.approx(losses_full[key])


def test_anchor3d_head_of_stock_pointpillars():
    head = stock_head('pointpillars/pointpillars_hv_fpn_sbn-all_8xb4-2x_'
                      'nus-3d.py', 'pts_bbox_head')
    gen = torch.Generator().manual_seed(1)
    feats = [torch.randn(2, head.in_channels, 16 // 2**k, 16 // 2**k,
                         generator=gen)
             for k in range(head.prior_generator.num_levels)]
    cls_scores = head(feats)[0]
    # GT: labeled classes only (the split removed the cyclists etc.).
    gts = [InstanceData(
        bboxes_3d=LiDARInstance3DBoxes(torch.tensor(
            [[x, 2.0, -1.0, 4.5, 1.9, 1.6, 0.3, 0.0, 0.0]]), box_dim=9),
        labels_3d=torch.tensor([label])) for x, label in ((5.0, 0), (-8.0, 9))]
    metas = [dict(box_type_3d=LiDARInstance3DBoxes)] * 2

    def loss_fn(scores):
        _, bbox_preds, dir_preds = head(feats)
        return head.loss_by_feat(scores, bbox_preds, dir_preds, gts, metas)

    grads_full, losses_full = grads_of(head, cls_scores, loss_fn)
    mask = dict(vehicle=True, vru=False)
    grads_masked, losses_masked = grads_of(head, cls_scores, loss_fn, mask)
    check_masking(grads_full, grads_masked, losses_full, losses_masked)
    # Every labeled mask leaves the loss as it was.
    _, same = grads_of(head, cls_scores, loss_fn,
                       dict(vehicle=True, vru=True))
    assert same == pytest.approx(losses_full)


@pytest.mark.parametrize('config', [
    'fcos3d/fcos3d_r101-caffe-dcn_fpn_head-gn_8xb2-1x_nus-mono3d.py',
    'pgd/pgd_r101-caffe_fpn_head-gn_16xb2-1x_nus-mono3d.py'])
def test_mono3d_heads_of_stock_fcos3d_and_pgd(config):
    head = stock_head(config, 'bbox_head')
    gen = torch.Generator().manual_seed(2)
    strides = head.strides
    size = (32 * 4, 32 * 6)
    feats = [torch.randn(1, head.in_channels, size[0] // s, size[1] // s,
                         generator=gen) for s in strides]
    outs = head(feats)
    cam2img = [[500.0, 0.0, 96.0], [0.0, 500.0, 64.0], [0.0, 0.0, 1.0]]
    box = [[0.5, 1.0, 12.0, 4.0, 1.6, 1.8, 0.2, 0.0, 0.0]]
    metas = [dict(img_shape=size, pad_shape=size, cam2img=cam2img,
                  box_type_3d=CameraInstance3DBoxes, scale_factor=(1, 1))]

    def loss_fn(scores):
        # Fresh outputs and GT per call: the head edits both in place.
        gt3d = InstanceData(
            bboxes_3d=CameraInstance3DBoxes(torch.tensor(box), box_dim=9),
            labels_3d=torch.tensor([0]),
            centers_2d=torch.tensor([[117.0, 105.0]]),
            depths=torch.tensor([12.0]), attr_labels=torch.tensor([0]))
        gt2d = InstanceData(bboxes=torch.tensor([[90.0, 80.0, 150.0, 125.0]]),
                            labels=torch.tensor([0]))
        return head.loss_by_feat(scores, *head(feats)[1:], [gt3d], [gt2d],
                                 metas)

    grads_full, losses_full = grads_of(head, outs[0], loss_fn)
    grads_masked, losses_masked = grads_of(
        head, outs[0], loss_fn, dict(vehicle=True, vru=False))
    check_masking(grads_full, grads_masked, losses_full, losses_masked)


def test_softmax_heads_and_unknown_classes_are_refused():
    holder = nn.Module()
    holder.loss_cls = MODELS.build(dict(type='mmdet.CrossEntropyLoss',
                                        use_sigmoid=False))
    with pytest.raises(ValueError, match='not a sigmoid classification'):
        ClassLossMask(holder, TASKS, NUS_CLASSES, 'NexusFlowHook')
    holder.loss_cls = MODELS.build(dict(type='mmdet.FocalLoss'))
    with pytest.raises(ValueError, match=r"NexusFlowHook: task_classes name "
                       r"classes the dataset does not have: "
                       r"\{'x': \['cyclist"):
        ClassLossMask(holder, dict(x=['cyclist']), NUS_CLASSES,
                      'NexusFlowHook')
    with pytest.raises(ValueError, match='has none'):
        ClassLossMask(nn.Linear(2, 2), TASKS, NUS_CLASSES, 'NexusFlowHook')
