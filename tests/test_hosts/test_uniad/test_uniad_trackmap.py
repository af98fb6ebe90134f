"""UniADTrackMap end to end on the synthetic nuScenes set: full-size config,
training signal, task-mask semantics, domain split, inference."""
import copy

import pytest
import torch
from mmengine.structures import InstanceData

from mmdet3d.registry import METRICS
from helpers.uniad import (FULL, build_dataset, build_model, collate,
                           load_config)

PAPER_RULES = dict(map=['boston-seaport'], track=['singapore-*'])
# Synthetic scenes are in boston-seaport and singapore-onenorth only.
NOWHERE = dict(map=['singapore-queenstown'],
               track=['singapore-hollandvillage'])
TASK_KEYS = ('loss_track_cls', 'loss_track_bbox', 'd0.loss_track_cls',
             'd0.loss_track_bbox', 'loss_map_mask', 'loss_map_dice')


def without_neck(cfg):
    cfg = copy.deepcopy(cfg)
    cfg.model.neck = None
    return cfg


def clip_of(dataset, location: str, index: int = 0) -> dict:
    """The ``index``-th clip whose frames are in ``location``."""
    found = [i for i in range(len(dataset))
             if dataset.get_data_info(i)['location'] == location]
    return dataset[found[index]]


def test_full_size_config_builds_and_runs_a_frame(synthetic_nuscenes_infos):
    cfg = load_config(FULL)
    model = build_model(cfg, init=False)
    # Paper protocol, UniAD stage-1 sizes.
    assert model.img_backbone.depth == 101
    assert type(model.img_backbone.layer3[0].conv2).__name__ == \
        'SampledDCNv2'
    assert model.frozen_backbone()
    assert model.bev_encoder.bev_size == (200, 200)
    assert model.bev_encoder.embed_dims == 256
    assert len(model.bev_encoder.layers) == 6
    assert model.track_head.num_query == 900 and len(
        model.track_head.layers) == 6
    # UniAD's panoptic map head; NexusFlow pools its 300 decoder queries.
    assert type(model.map_head).__name__ == 'UniADPanopticMapHead'
    assert model.map_head.num_query == 300 and model.panoptic_map
    assert model.neck.bank.surrogates['map'].aggregator.in_channels == 256
    flows = [s.flow for s in model.neck.bank.surrogates.values()]
    assert [len(f.layers) for f in flows] == [6, 6]
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 2e-4
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.img_backbone == dict(
        lr_mult=0.1)
    assert cfg.optim_wrapper.clip_grad.max_norm == 35
    assert cfg.train_cfg.max_epochs == 6 and cfg.find_unused_parameters
    assert cfg.train_dataloader.dataset.type == 'NuScenesDomainSplitDataset'
    assert cfg.train_dataloader.dataset.rules == PAPER_RULES
    assert [e.type for e in cfg.val_evaluator] == [
        'NuScenesTrackingMetric', 'BEVMapIoUMetric']
    assert cfg.custom_hooks[0].type == 'AlignWeightHook'

    # One training frame at the synthetic 64 x 36 images; the BEV grid is
    # shrunk because mmcv's CPU deformable attention materialises every
    # sample (a 200 x 200 BEV needs tens of GB on a CPU, not on a GPU).
    # Random weights instead of the pretrained backbone (no download).
    cfg.model.bev_encoder.bev_size = (50, 50)
    cfg.model.img_backbone.init_cfg = None
    model = build_model(cfg)
    dataset = build_dataset(cfg, synthetic_nuscenes_infos, queue_length=1)
    data = collate(model, [clip_of(dataset, 'singapore-onenorth')])
    with torch.no_grad():
        losses = model(**data, mode='loss')
    assert {'loss_track_cls', 'loss_map_cls', 'loss_map_things',
            'loss_map_stuff', 'loss_align'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_track_cls'] > 0


def test_tiny_model_loss_decreases(tiny_cfg, synthetic_nuscenes_infos):
    model = build_model(without_neck(tiny_cfg))
    dataset = build_dataset(tiny_cfg, synthetic_nuscenes_infos)
    data = collate(model, [dataset[2]])
    # UniAD's recipe sums the track loss over the clip's frames and carries
    # tracks stochastically (drop, false positives), so it falls slower per
    # step than a per-frame mean would.
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    totals = []
    for _ in range(6):
        losses = model(**data, mode='loss')
        total = sum(losses[k] for k in TASK_KEYS)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    assert totals[-1] < 0.9 * totals[0], totals


def test_unlabeled_tasks_give_exact_zeros_with_every_parameter_in_graph(
        tiny_cfg, synthetic_nuscenes_infos):
    model = build_model(without_neck(tiny_cfg))
    dataset = build_dataset(tiny_cfg, synthetic_nuscenes_infos,
                            rules=NOWHERE)
    data = collate(model, [dataset[1], dataset[6]])
    model.train()
    losses = model(**data, mode='loss')
    assert all(losses[k].item() == 0.0 for k in TASK_KEYS)
    sum(losses.values()).backward()
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert param.grad is not None, name
            assert param.grad.abs().max() == 0, name


def test_unlabeled_samples_are_left_out_not_background(
        tiny_cfg, synthetic_nuscenes_infos):
    model = build_model(without_neck(tiny_cfg)).eval()
    dataset = build_dataset(tiny_cfg, synthetic_nuscenes_infos,
                            rules=PAPER_RULES)
    singapore = clip_of(dataset, 'singapore-onenorth')
    boston = clip_of(dataset, 'boston-seaport')
    with torch.no_grad():
        both = model(**collate(model, [singapore, boston], False), mode='loss')
        track_only = model(**collate(model, [singapore], False), mode='loss')
        map_only = model(**collate(model, [boston], False), mode='loss')
    for key in ('loss_track_cls', 'loss_track_bbox'):
        assert torch.allclose(both[key], track_only[key], rtol=1e-4)
    for key in ('loss_map_mask', 'loss_map_dice'):
        assert torch.allclose(both[key], map_only[key], rtol=1e-4)
    assert track_only['loss_map_mask'].item() == 0.0
    assert map_only['loss_track_cls'].item() == 0.0


def test_track_loss_never_sees_boston_gt_under_the_domain_split(
        tiny_cfg, synthetic_nuscenes_infos, monkeypatch):
    model = build_model(without_neck(tiny_cfg)).eval()
    dataset = build_dataset(tiny_cfg, synthetic_nuscenes_infos,
                            rules=PAPER_RULES)
    singapore = clip_of(dataset, 'singapore-onenorth')
    boston = clip_of(dataset, 'boston-seaport')
    assert all(len(s.gt_instances_3d) == 0 for s in boston['data_samples'])
    allowed = {int(i) for s in singapore['data_samples']
               for i in s.gt_instances_3d.instance_ids}
    seen = []
    targets = model.track_head.targets

    def spy(instances, outputs, gt_instances, ego_box=None):
        seen.append({int(i) for i in gt_instances.instance_ids})
        return targets(instances, outputs, gt_instances, ego_box)

    monkeypatch.setattr(model.track_head, 'targets', spy)
    with torch.no_grad():
        model(**collate(model, [boston, singapore], False), mode='loss')
    assert len(seen) == 2 and all(ids and ids <= allowed for ids in seen)

    # A Boston sample that still carries boxes is an error, not a loss.
    leaked = copy.deepcopy(boston)
    leaked['data_samples'][1].gt_instances_3d = InstanceData(
        **dict(singapore['data_samples'][1].gt_instances_3d.items()))
    with pytest.raises(ValueError, match='track=False but carries'):
        model(**collate(model, [leaked], False), mode='loss')


def test_predict_keeps_ids_within_a_scene_and_feeds_the_metrics(
        tiny_cfg, synthetic_nuscenes_infos):
    cfg = without_neck(tiny_cfg)
    # Every query starts and keeps a track, so carried ids are visible
    # even from an untrained model.
    cfg.model.track_head.update(score_thresh=0.0, filter_score_thresh=0.0)
    model = build_model(cfg).eval()
    dataset = build_dataset(cfg, synthetic_nuscenes_infos, 'val')
    root = synthetic_nuscenes_infos['root']
    metrics = [
        METRICS.build(dict(type='NuScenesTrackingMetric', data_root=root,
                           version='v1.0-mini', eval_set='mini_val')),
        METRICS.build(dict(type='BEVMapIoUMetric'))
    ]
    for metric in metrics:
        metric.dataset_meta = dataset.metainfo
    ids_per_frame = []
    for index in range(len(dataset)):
        with torch.no_grad():
            out = model(**collate(model, [dataset[index]], False),
                        mode='predict')
        sample = out[0]
        pred = sample.pred_track_3d
        assert pred.bboxes_3d.tensor.shape[1] == 9
        assert sample.pred_map.masks.shape == (4, 200, 200)
        ids_per_frame.append((sample.metainfo['frame_idx'],
                              set(pred.track_ids.tolist())))
        for metric in metrics:
            metric.process({}, [sample.to_dict()])
    num_query = cfg.model.track_head.num_query
    for frame, ids in ids_per_frame:
        if frame == 0:  # a new scene restarts the ids
            assert ids == set(range(num_query))
    assert ids_per_frame[0][1] < ids_per_frame[1][1]  # carried + new
    # A gap inside a scene (frame 0, then 2) restarts tracking too.
    with torch.no_grad():
        model(**collate(model, [dataset[0]], False), mode='predict')
        out = model(**collate(model, [dataset[2]], False), mode='predict')
    assert set(out[0].pred_track_3d.track_ids.tolist()) == set(
        range(num_query))
    results = {}
    for metric in metrics:
        results.update(metric.evaluate(len(dataset)))
    assert 0.0 <= results['tracking/amota'] <= 1.0
    assert 0.0 <= results['map/iou_drivable'] <= 1.0


def spy_on_can_bus(model) -> list:
    """Records what the BEVFormer encoder receives: (can_bus, has prev)."""
    seen, forward = [], model.bev_encoder.forward

    def spy(*args, **kwargs):
        seen.append((kwargs['can_bus'].copy(),
                     kwargs['prev_bev'] is not None))
        return forward(*args, **kwargs)

    model.bev_encoder.forward = spy
    return seen


def test_bevformer_encoder_gets_can_bus_deltas(tiny_cfg,
                                               synthetic_nuscenes_infos):
    model = build_model(without_neck(tiny_cfg))
    assert type(model.bev_encoder).__name__ == 'BEVFormerEncoder'
    seen = spy_on_can_bus(model)
    dataset = build_dataset(tiny_cfg, synthetic_nuscenes_infos,
                            queue_length=3)
    clip = dataset[2]
    absolute = [s.metainfo['can_bus'] for s in clip['data_samples']]
    with torch.no_grad():
        model(**collate(model, [clip]), mode='loss')
    assert [has_prev for _, has_prev in seen] == [False, True, True]
    first = seen[0][0][0]
    assert first[0:3].tolist() == [0, 0, 0] and first[17] == 0
    assert first[3:17].tolist() == absolute[0][3:17].tolist()
    for t in (1, 2):
        got, want = seen[t][0][0], absolute[t].copy()
        want[0:3] -= absolute[t - 1][0:3]
        want[17] -= absolute[t - 1][17]
        assert got.tolist() == want.tolist()
        assert abs(got[1]) > 0.5  # the synthetic ego drives along y

    # Inference: zero deltas at each scene's first frame.
    model.eval()
    seen.clear()
    val = build_dataset(tiny_cfg, synthetic_nuscenes_infos, 'val')
    frames = []
    for index in range(len(val)):
        item = val[index]
        frames.append(item['data_samples'].metainfo)
        with torch.no_grad():
            model(**collate(model, [item], False), mode='predict')
    for meta, (can_bus, has_prev), before in zip(frames, seen,
                                                 [None] + frames[:-1]):
        assert has_prev == (meta['frame_idx'] > 0)
        if meta['frame_idx'] == 0:
            assert can_bus[0, 0:3].tolist() == [0, 0, 0]
        else:
            assert can_bus[0, 0:3].tolist() == (
                meta['can_bus'][0:3] - before['can_bus'][0:3]).tolist()


def test_map_frames_last_trains_the_map_on_the_clips_last_frame(
        tiny_cfg, synthetic_nuscenes_infos, monkeypatch):
    cfg = without_neck(tiny_cfg)
    dataset = build_dataset(cfg, synthetic_nuscenes_infos)
    clip = dataset[2]
    calls = {}
    for mode in ('all', 'last'):
        cfg.model.map_frames = mode
        model = build_model(cfg).eval()
        head, seen = model.map_head, []

        def spy(bev, head=head, seen=seen):
            seen.append(bev.shape)
            return type(head).forward(head, bev)

        monkeypatch.setattr(head, 'forward', spy)
        with torch.no_grad():
            losses = model(**collate(model, [clip]), mode='loss')
        calls[mode] = len(seen)
        assert {'loss_map_mask', 'loss_track_cls'} <= set(losses)
    assert calls == dict(all=len(clip['data_samples']), last=1)
    cfg.model.map_frames = 'first'
    with pytest.raises(ValueError, match="map_frames must be 'all' or"):
        build_model(cfg)


def test_uniad_history_reruns_earlier_frames_in_eval_mode(
        tiny_cfg, synthetic_nuscenes_infos, monkeypatch):
    cfg = without_neck(tiny_cfg)
    cfg.model.history = 'uniad'
    model = build_model(cfg).train()
    dataset = build_dataset(cfg, synthetic_nuscenes_infos, queue_length=3)
    data = collate(model, [dataset[2]])
    encoder, calls, images = model.bev_encoder, [], []

    def spy(feats, *args, prev_bev=None, **kwargs):
        out = type(encoder).forward(encoder, feats, *args, prev_bev=prev_bev,
                                    **kwargs)
        calls.append(dict(training=encoder.training,
                          grad=torch.is_grad_enabled(), prev=prev_bev,
                          out=out, cams=images[-1]))
        return out

    def extract(imgs, *args):
        images.append(imgs.sum().item())
        return type(model).extract_img_feat(model, imgs, *args)

    monkeypatch.setattr(encoder, 'forward', spy)
    monkeypatch.setattr(model, 'extract_img_feat', extract)
    model(**data, mode='loss')
    # Frame 0 reads its own eval BEV; frame 1 the eval BEV of frame 0;
    # frame 2 the eval BEV of frame 1 made from frame 0's.
    assert [(c['training'], c['grad']) for c in calls] == [
        (False, False), (True, True), (True, True), (False, False),
        (True, True)]
    hist0, train0, train1, hist1, train2 = calls
    assert hist0['prev'] is None and hist0['cams'] == train0['cams']
    assert train0['prev'] is hist0['out'] and train1['prev'] is hist0['out']
    assert hist1['prev'] is hist0['out'] and hist1['cams'] == train1['cams']
    assert train0['cams'] != train1['cams'] != train2['cams']
    assert train2['prev'] is hist1['out']
    assert model.training and encoder.training
    cfg.model.history = 'rnn'
    with pytest.raises(ValueError, match="history must be 'carry' or"):
        build_model(cfg)


def test_frozen_backbone_runs_once_per_frame(tiny_cfg,
                                             synthetic_nuscenes_infos,
                                             monkeypatch):
    cfg = without_neck(tiny_cfg)
    cfg.model.history = 'uniad'
    cfg.model.img_backbone.update(frozen_stages=4, norm_eval=True)
    dataset = build_dataset(cfg, synthetic_nuscenes_infos, queue_length=3)

    def step(reuse: bool):
        model = build_model(cfg).train()
        assert model.frozen_backbone()
        if not reuse:
            monkeypatch.setattr(model, 'frozen_backbone', lambda: False)
        calls = []
        model.img_backbone.register_forward_hook(
            lambda *args: calls.append(1))
        torch.manual_seed(3)
        losses = model(**collate(model, [dataset[2]]), mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()
                 if p.grad is not None}
        return losses, grads, len(calls)

    ref_losses, ref_grads, ref_calls = step(reuse=False)
    losses, grads, calls = step(reuse=True)
    # 3 frames: 2 history passes + 3 training passes, or 3 with the cache.
    assert (ref_calls, calls) == (5, 3)
    assert losses.keys() == ref_losses.keys()
    for key, value in losses.items():
        assert torch.allclose(value, ref_losses[key], atol=1e-6), key
    assert grads.keys() == ref_grads.keys()
    assert not any(n.startswith('img_backbone') for n in grads)
    for name, grad in grads.items():
        assert torch.allclose(grad, ref_grads[name], atol=1e-6), name


def test_backbone_in_training_is_not_frozen(tiny_cfg):
    model = build_model(tiny_cfg).train()  # BN in training mode
    assert not model.frozen_backbone()
    for param in model.img_backbone.parameters():
        param.requires_grad_(False)
    assert not model.frozen_backbone()  # its BN still updates statistics
    model.img_backbone.eval()
    assert model.frozen_backbone()
