"""The common BEV grid of the track and map tasks, and the dense
partial-label regularizers (MTPSL, JTR) on UniAD."""
import copy

import pytest
import torch

from nexusflow.hosts.uniad import TrackMapRasters, splat_centers
from helpers.uniad import build_dataset, build_model, collate

PC_RANGE = (-10.0, -20.0, -5.0, 10.0, 20.0, 3.0)
PAPER_RULES = dict(map=['boston-seaport'], track=['singapore-*'])
NOWHERE = dict(map=['singapore-queenstown'],
               track=['singapore-hollandvillage'])


def cell_center(row: int, col: int, size=(8, 4)) -> list:
    """LiDAR (x, y) of the centre of a cell of a grid over PC_RANGE."""
    width = (PC_RANGE[3] - PC_RANGE[0]) / size[1]
    height = (PC_RANGE[4] - PC_RANGE[1]) / size[0]
    return [PC_RANGE[0] + (col + 0.5) * width,
            PC_RANGE[1] + (row + 0.5) * height]


def test_splat_puts_each_weight_on_its_cell_rows_follow_y():
    centers = torch.tensor([cell_center(6, 1), cell_center(2, 3)])
    heat = splat_centers(centers, torch.tensor([0.7, 0.3]), PC_RANGE,
                         (8, 4), sigma=0.5)
    assert heat.shape == (8, 4)
    assert heat[6, 1].item() == pytest.approx(0.7)
    assert heat[2, 3].item() == pytest.approx(0.3)
    # Neighbours get exp(-1 / (2 sigma^2)) of the weight.
    assert heat[6, 0].item() == pytest.approx(0.7 * torch.exp(
        torch.tensor(-2.0)).item())
    # Overlapping blobs saturate at 1; outside centres draw nothing.
    same = splat_centers(centers[:1].repeat(3, 1), torch.ones(3), PC_RANGE,
                         (8, 4))
    assert same.max().item() == 1.0
    far = splat_centers(torch.tensor([[100.0, 100.0]]), torch.ones(1),
                        PC_RANGE, (8, 4))
    assert far.abs().sum().item() == 0.0


def test_splat_is_differentiable_in_centres_and_weights():
    centers = torch.tensor([[0.3, -1.2]], requires_grad=True)
    weights = torch.tensor([0.5], requires_grad=True)
    heat = splat_centers(centers, weights, PC_RANGE, (8, 4), sigma=1.0)
    (heat * torch.arange(32.0).view(8, 4)).sum().backward()
    assert weights.grad.abs().item() > 0
    assert centers.grad.abs().min().item() > 0


def test_unlabeled_samples_get_zero_targets_and_false_flags():
    rasters = TrackMapRasters(PC_RANGE, (8, 4), num_map_classes=2)
    boxes = torch.tensor([cell_center(1, 1) + [0.0] * 7])
    device = torch.device('cpu')
    track_targets = [rasters.track_target(boxes, device),
                     rasters.track_target(None, device)]
    probs = torch.full((2, 2, 16, 8), 0.5)
    gt = torch.ones(2, 16, 8)
    preds, targets, labeled = rasters.build(
        [torch.zeros(1, 8, 4)] * 2, track_targets, probs, [gt, None],
        [True, False], [True, False])
    assert labeled['track'].tolist() == [True, False]
    assert targets['track'][0, 0, 1, 1].item() == 1.0
    assert targets['track'][1].abs().sum().item() == 0.0
    assert targets['map'].shape == (2, 2, 8, 4)
    assert targets['map'][0].min().item() == 1.0
    assert targets['map'][1].abs().sum().item() == 0.0
    assert torch.allclose(preds['map'], torch.full((2, 2, 8, 4), 0.5))
    with pytest.raises(ValueError, match='size must be'):
        TrackMapRasters(PC_RANGE, (0, 4), num_map_classes=2)


def with_regularizer(cfg, kind: str):
    cfg = copy.deepcopy(cfg)
    cfg.model.neck = None
    cfg.model.regularizer = dict(type=kind, channels=(4, 8))
    if kind == 'MTPSLLoss':
        cfg.model.regularizer['feat_channels'] = cfg.model.bev_encoder[
            'embed_dims']
    cfg.model.regularizer_grid = (16, 16)
    return cfg


@pytest.mark.parametrize('kind', ['MTPSLLoss', 'JTRLoss'])
def test_regularizer_sees_only_each_citys_labels(kind, tiny_cfg,
                                                 synthetic_nuscenes_infos,
                                                 monkeypatch):
    cfg = with_regularizer(tiny_cfg, kind)
    model = build_model(cfg).train()
    dataset = build_dataset(cfg, synthetic_nuscenes_infos,
                            rules=PAPER_RULES)
    locations = [dataset.get_data_info(i)['location']
                 for i in range(len(dataset))]
    boston = dataset[locations.index('boston-seaport')]
    singapore = dataset[locations.index('singapore-onenorth')]
    seen = []
    forward = model.regularizer.forward

    def spy(preds, targets, labeled, feats):
        seen.append({t: (labeled[t].tolist(), targets[t].flatten(1).abs()
                         .sum(1).tolist()) for t in labeled})
        return forward(preds, targets, labeled, feats)

    monkeypatch.setattr(model.regularizer, 'forward', spy)
    losses = model(**collate(model, [boston, singapore]), mode='loss')
    reg_keys = [k for k in losses if 'mtpsl' in k or 'jtr' in k]
    assert len(reg_keys) == 2
    assert all(torch.isfinite(losses[k]) and losses[k] > 0
               for k in reg_keys)
    for frame in seen:  # per frame: (Boston, Singapore)
        assert frame['track'][0] == [False, True]
        assert frame['map'][0] == [True, False]
        assert frame['track'][1][0] == 0.0 and frame['map'][1][1] == 0.0
        assert frame['track'][1][1] > 0 and frame['map'][1][0] > 0
    sum(losses.values()).backward()
    grads = [p.grad for p in model.regularizer.parameters()]
    assert all(g is not None for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_mtpsl_without_labels_is_an_exact_zero_in_the_graph(
        tiny_cfg, synthetic_nuscenes_infos):
    cfg = with_regularizer(tiny_cfg, 'MTPSLLoss')
    model = build_model(cfg).train()
    dataset = build_dataset(cfg, synthetic_nuscenes_infos, rules=NOWHERE)
    losses = model(**collate(model, [dataset[0]]), mode='loss')
    assert losses['loss_mtpsl_cross'].item() == 0.0
    assert losses['loss_mtpsl_reg'].item() == 0.0
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.regularizer.parameters())


def test_mask_tasks_must_be_tasks(tiny_cfg):
    cfg = with_regularizer(tiny_cfg, 'JTRLoss')
    model = build_model(cfg, init=False)
    assert model.regularizer.mask_tasks == {'track', 'map'}
    from mmdet3d.registry import MODELS
    with pytest.raises(ValueError, match="mask_tasks \\['lane'\\]"):
        MODELS.build(dict(type='MTPSLLoss', tasks=dict(track=1, map=4),
                          mask_tasks=['lane']))
