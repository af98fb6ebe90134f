"""UniADTrackMap with UniAD's panoptic map head: partial labels (exact zero
loss with every head parameter in the graph, also under 2 gloo processes),
GT checks, the prediction format both map heads give the metric, the soft
masks of the MTPSL / JTR grid, and the tiny panoptic twin end to end."""
import copy
import os
import types

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData, PixelData

import nexusflow  # noqa: F401
from mmdet3d.registry import METRICS, MODELS
from mmdet3d.structures import Det3DDataSample
from nexusflow.hosts.uniad import UniADTrackMap
from nexusflow.hosts.uniad.task_rasters import panoptic_soft_masks
from helpers.uniad import (PANOPTIC_TINY, REPO, build_dataset, build_model,
                           collate, load_config)

FRAGMENT = os.path.join(REPO, 'configs', '_base_', 'map_heads',
                        'uniad_panoptic_tiny.py')
SIZE = 12  # BEV and canvas side of the unit-size head
NOWHERE = dict(map=['singapore-queenstown'],
               track=['singapore-hollandvillage'])
PAPER_RULES = dict(map=['boston-seaport'], track=['singapore-*'])


def unit_head(seed: int = 0, canvas=(SIZE, SIZE)):
    """The panoptic head at unit-test size (map_heads/uniad_panoptic_tiny)."""
    cfg = copy.deepcopy(Config.fromfile(FRAGMENT).panoptic_map_head)
    cfg.canvas_size = canvas
    torch.manual_seed(seed)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def labeled_sample(token: str = 'boston') -> Det3DDataSample:
    """A map-labeled sample: a divider, a crossing and a contour as
    rectangles, and a drivable band (what PackTrackMapInputs gives)."""
    masks = torch.zeros(3, SIZE, SIZE, dtype=torch.uint8)
    masks[0, 1:3, 1:5] = 1
    masks[1, 7:11, 2:6] = 1
    masks[2, 0:4, 6:11] = 1
    boxes = torch.tensor([[1.0, 1, 4, 2], [2, 7, 5, 10], [6, 0, 10, 3]])
    semantic = torch.zeros(4, SIZE, SIZE, dtype=torch.uint8)
    semantic[:3] = masks
    semantic[3, 6:] = 1
    sample = Det3DDataSample(metainfo=dict(
        token=token, task_mask=dict(track=False, map=True)))
    sample.gt_map = PixelData(masks=semantic)
    sample.gt_map_instances = InstanceData(
        labels=torch.tensor([0, 1, 2]), masks=masks, bboxes=boxes)
    return sample


def unlabeled_sample(token: str = 'singapore') -> Det3DDataSample:
    return Det3DDataSample(metainfo=dict(
        token=token, task_mask=dict(track=True, map=False)))


def host_of(head) -> types.SimpleNamespace:
    """The parts of UniADTrackMap its map code uses, around ``head``."""
    host = types.SimpleNamespace(map_head=head, panoptic_map=True)
    host._panoptic_target = types.MethodType(UniADTrackMap._panoptic_target,
                                             host)
    return host


def map_losses(host, bev, samples):
    masks = [s.metainfo['task_mask'] for s in samples]
    UniADTrackMap._check_unlabeled_gt(samples, masks)
    return UniADTrackMap._map_losses(host, bev, samples, masks)


def test_unlabeled_samples_pass_no_map_gt_to_the_head(monkeypatch):
    head = unit_head().eval()
    seen = []
    loss = head.loss

    def spy(preds, targets):
        seen.append(targets)
        return loss(preds, targets)

    monkeypatch.setattr(head, 'loss', spy)
    bev = torch.randn(2, 32, SIZE, SIZE, requires_grad=True)
    losses, feat, _ = map_losses(host_of(head), bev,
                                 [unlabeled_sample(), labeled_sample()])
    # One loss call (the head's collective) per frame; None = unlabeled.
    assert len(seen) == 1 and seen[0][0] is None
    assert torch.equal(seen[0][1]['instances'].masks,
                       labeled_sample().gt_map_instances.masks)
    assert feat.shape == (2, head.num_query, 32)  # the neck's query set
    sum(losses.values()).backward()
    assert torch.count_nonzero(bev.grad[0]) == 0
    assert torch.count_nonzero(bev.grad[1]) > 0

    # No labeled sample: exact zeros, every head parameter in the graph.
    seen.clear()
    head.zero_grad()
    losses, _, _ = map_losses(host_of(head), bev.detach(),
                              [unlabeled_sample(), unlabeled_sample()])
    assert seen == [[None, None]]
    assert sorted(losses) == sorted(head.loss_names())
    assert all(v.item() == 0.0 for v in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is not None and torch.count_nonzero(p.grad) == 0
               for p in head.parameters())


def test_stray_or_missing_map_gt_is_an_error():
    leaked = labeled_sample()
    leaked.set_metainfo(dict(task_mask=dict(track=True, map=False)))
    del leaked.gt_map  # only the thing instances left behind
    with pytest.raises(ValueError, match='map=False but carries '
                       'gt_map_instances'):
        map_losses(host_of(unit_head()), torch.randn(1, 32, SIZE, SIZE),
                   [leaked])
    missing = labeled_sample()
    del missing.gt_map_instances
    with pytest.raises(ValueError, match=r'no gt_map_instances.*'
                       r'with_map_instances=True'):
        map_losses(host_of(unit_head()), torch.randn(1, 32, SIZE, SIZE),
                   [missing])


def _gloo_worker(rank: int, port: int, queue) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=2)
    try:
        head = unit_head()
        ddp = DistributedDataParallel(head)

        class Wrapped:  # what the host calls: forward through DDP
            def __call__(self, bev):
                return ddp(bev)

            def __getattr__(self, name):
                return getattr(head, name)

        host = host_of(Wrapped())
        optimizer = torch.optim.SGD(head.parameters(), lr=1e-3)
        sample = labeled_sample() if rank == 0 else unlabeled_sample()
        result = dict(losses=[])
        for step in range(2):
            bev = torch.randn(1, 32, SIZE, SIZE, requires_grad=True,
                              generator=torch.Generator().manual_seed(rank))
            if step == 0:
                # Local gradients (no all-reduce): the unlabeled process's
                # must be exact zeros on every parameter.
                with ddp.no_sync():
                    losses, _, _ = map_losses(host, bev, [sample])
                    sum(losses.values()).backward()
                grads = [p.grad for p in head.parameters()]
                result['in_graph'] = all(g is not None for g in grads)
                result['local_nonzero'] = sum(
                    int(torch.count_nonzero(g)) for g in grads)
                result['bev_nonzero'] = int(torch.count_nonzero(bev.grad))
            else:
                # Synced step: DDP (no find_unused_parameters) needs every
                # parameter's gradient on both processes.
                optimizer.zero_grad()
                losses, _, _ = map_losses(host, bev, [sample])
                sum(losses.values()).backward()
                result['synced'] = torch.cat(
                    [p.grad.flatten() for p in head.parameters()]).tolist()
            optimizer.step()
            result['losses'].append(
                {k: v.item() for k, v in losses.items()})
        queue.put((rank, result))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # two spawned processes (about a minute on 2 cores)
def test_exact_zero_in_the_graph_under_two_gloo_processes():
    """Process 0 holds a map-labeled sample, process 1 an unlabeled one:
    process 1's map losses are exact zeros with every head parameter in
    the graph (zero local gradients), the GT-count collective runs on both,
    and two DDP steps without find_unused_parameters go through."""
    import torch.multiprocessing as mp
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    port = 29500 + os.getpid() % 1000
    procs = [ctx.Process(target=_gloo_worker, args=(r, port, queue))
             for r in range(2)]
    for proc in procs:
        proc.start()
    results = dict(queue.get(timeout=300) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    labeled, unlabeled = results[0], results[1]
    for step in range(2):
        assert all(v == 0.0 for v in unlabeled['losses'][step].values())
        assert sum(labeled['losses'][step].values()) > 0
        assert sorted(labeled['losses'][step]) == sorted(
            unlabeled['losses'][step])
    assert unlabeled['in_graph'] and labeled['in_graph']
    assert unlabeled['local_nonzero'] == 0 and unlabeled['bev_nonzero'] == 0
    assert labeled['local_nonzero'] > 0 and labeled['bev_nonzero'] > 0
    # The synced gradients are the same on both processes.
    assert labeled['synced'] == unlabeled['synced']
    assert any(g != 0.0 for g in labeled['synced'])


def test_both_heads_give_the_metric_the_same_result():
    """The same class masks predicted by the panoptic head (through its
    merge) and by the dense head (as probabilities) give the same
    BEVMapIoUMetric numbers as the masks themselves."""
    gen = torch.Generator().manual_seed(0)
    canvas = (SIZE, SIZE)
    # Predicted masks: one thing per class, disjoint, and a drivable area.
    want = torch.zeros(4, SIZE, SIZE, dtype=torch.bool)
    want[0, 0:2, :] = True
    want[1, 4:7, 2:9] = True
    want[2, 9:11, 1:11] = True
    want[3] = torch.rand(SIZE, SIZE, generator=gen) > 0.5
    gt = (torch.rand(4, SIZE, SIZE, generator=gen) > 0.6).to(torch.uint8)

    head = unit_head(canvas=canvas).eval()
    queries = head.num_query
    layers = head.transformer.decoder.num_layers
    cls = torch.full((layers, 1, queries, 3), -20.0)
    for label in range(3):
        cls[:, 0, label, label] = 20.0  # query k is class k
    query = torch.zeros(1, queries, head.embed_dims)
    query[0, :, 0] = torch.arange(queries).float()
    preds = dict(cls_scores=cls, bbox_preds=torch.full(
        (layers, 1, queries, 4), 0.5), query=query,
        memory=torch.zeros(1, SIZE * SIZE, head.embed_dims),
        bev_hw=canvas)
    things = want[:3].float().flatten(1)

    def decode(memory, thing_query):
        index = thing_query[..., 0].long()
        masks = things[index.clamp(max=2)] * (index < 3)[..., None]
        return masks, [], want[3].float().flatten()[None, None], [], []

    head.decode_masks = decode
    dense = MODELS.build(dict(type='BEVMapHead', in_channels=8,
                              feat_channels=8, out_size=canvas))
    logits = (want.float() * 2 - 1)[None] * 10.0
    outputs = dict(panoptic=head.predict(preds)[0],
                   dense=dense.predict(logits)[0], masks=want)
    results = {}
    for name, masks in outputs.items():
        sample = Det3DDataSample(metainfo=dict(token='t'))
        sample.pred_map = PixelData(masks=masks)
        sample.gt_map = PixelData(masks=gt)
        metric = METRICS.build(dict(type='BEVMapIoUMetric', domains=None))
        metric.process({}, [sample.to_dict()])
        results[name] = metric.compute_metrics(metric.results)
    assert outputs['panoptic'].dtype == outputs['dense'].dtype
    assert outputs['panoptic'].shape == outputs['dense'].shape == (4, *canvas)
    assert results['panoptic'] == results['dense'] == results['masks']
    assert 0 < results['masks']['iou_lanes'] < 1


def test_soft_masks_are_a_differentiable_union_per_class():
    head = unit_head()
    preds, _ = head(torch.randn(2, 32, SIZE, SIZE))
    probs = panoptic_soft_masks(head, preds)
    assert probs.shape == (2, 4, SIZE, SIZE)
    assert probs.min() >= 0 and probs.max() <= 1
    probs.sum().backward()
    for name in ('cls_branches.1', 'thing_decoder', 'stuff_decoder',
                 'transformer.encoder'):
        grads = [p.grad for n, p in head.named_parameters()
                 if n.startswith(name)]
        assert grads and any(g is not None and g.abs().sum() > 0
                             for g in grads), name

    # By hand: two kept queries of class 0 with masks 0.5 and 1.0 at one
    # cell and probabilities 0.8 and 0.5: 1 - (1 - 0.4) (1 - 0.5) = 0.7.
    logit = torch.logit(torch.tensor([0.8, 0.5]))
    cls = torch.full((1, 1, 3, 3), -30.0)
    cls[0, 0, :2, 0] = logit
    masks = torch.zeros(1, 2, 4)
    masks[0, 0, 1], masks[0, 1, 1] = 0.5, 1.0
    masks[0, 1, 2] = 3.0  # clamped to 1

    def decode(memory, thing_query):
        return masks, [], torch.full((1, 1, 4), 2.0), [], []

    stub = types.SimpleNamespace(decode_masks=decode,
                                 test_cfg=dict(max_per_img=2))
    out = panoptic_soft_masks(stub, dict(
        cls_scores=cls, query=torch.zeros(1, 3, 4), memory=None,
        bev_hw=(2, 2)))
    assert out.shape == (1, 4, 2, 2)
    torch.testing.assert_close(out[0, 0].flatten(),
                               torch.tensor([0.0, 0.7, 0.5, 0.0]))
    assert out[0, 1:3].abs().max() < 1e-6  # no query of those classes
    assert torch.equal(out[0, 3], torch.ones(2, 2))


@pytest.fixture(scope='module')
def panoptic_cfg() -> Config:
    return load_config(PANOPTIC_TINY)


def test_twin_builds_the_panoptic_head_and_pools_its_queries(panoptic_cfg):
    model = build_model(panoptic_cfg, init=False)
    assert type(model.map_head).__name__ == 'UniADPanopticMapHead'
    assert model.panoptic_map and model.map_head.embed_dims == 32
    assert model.neck.bank.surrogates['map'].aggregator.in_channels == 32
    tiny = build_model(load_config(PANOPTIC_TINY.replace(
        '_panoptic_tiny', '_tiny')), init=False)
    assert type(tiny.map_head).__name__ == 'BEVMapHead'


def test_twin_without_map_labels_gives_exact_zeros_in_the_graph(
        panoptic_cfg, synthetic_nuscenes_infos):
    cfg = copy.deepcopy(panoptic_cfg)
    cfg.model.neck = None
    model = build_model(cfg).train()
    dataset = build_dataset(cfg, synthetic_nuscenes_infos, rules=NOWHERE,
                            queue_length=1)
    losses = model(**collate(model, [dataset[1], dataset[6]]), mode='loss')
    names = model.map_head.loss_names()
    assert set(names) <= set(losses)
    assert all(losses[k].item() == 0.0 for k in names)
    sum(losses.values()).backward()
    for name, param in model.map_head.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().max() == 0, name


def test_twin_under_the_domain_split_and_with_a_regularizer(
        panoptic_cfg, synthetic_nuscenes_infos):
    """Boston gives the map loss its labels, Singapore none; MTPSL sees the
    panoptic head's soft masks on its grid; predictions have the dense
    head's format."""
    cfg = copy.deepcopy(panoptic_cfg)
    cfg.model.neck = None
    cfg.model.regularizer = dict(type='MTPSLLoss', channels=(4, 8),
                                 feat_channels=cfg.model.bev_encoder[
                                     'embed_dims'])
    cfg.model.regularizer_grid = (16, 16)
    model = build_model(cfg).eval()
    dataset = build_dataset(cfg, synthetic_nuscenes_infos, rules=PAPER_RULES,
                            queue_length=1)
    locations = [dataset.get_data_info(i)['location']
                 for i in range(len(dataset))]
    boston = dataset[locations.index('boston-seaport')]
    singapore = dataset[locations.index('singapore-onenorth')]
    assert 'gt_map_instances' not in singapore['data_samples']
    assert len(boston['data_samples'].gt_map_instances) > 0
    seen = []
    forward = model.regularizer.forward

    def spy(preds, targets, labeled, feats):
        seen.append((preds['map'].detach(), labeled['map'].tolist()))
        return forward(preds, targets, labeled, feats)

    model.regularizer.forward = spy
    with torch.no_grad():
        both = model(**collate(model, [boston, singapore], False),
                     mode='loss')
        alone = model(**collate(model, [boston], False), mode='loss')
    for key in model.map_head.loss_names():
        torch.testing.assert_close(both[key], alone[key], rtol=1e-4,
                                   atol=1e-6)
    assert both['loss_map_cls'] > 0
    probs, labeled = seen[0]
    assert labeled == [True, False] and probs.shape == (2, 4, 16, 16)
    assert 0 <= probs.min() and probs.max() <= 1 and probs.max() > 0
    out = model(**collate(model, [dataset[0]], False), mode='predict')
    masks = out[0].pred_map.masks
    assert masks.shape == (4, 200, 200) and masks.dtype == torch.float32
    assert set(masks.unique().tolist()) <= {0.0, 1.0}


@pytest.fixture
def one_thread():
    """One intra-op thread: on a shared 2-core machine this small model
    steps several times faster than with two contending threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def map_ious(model, items, metainfo) -> dict:
    model.eval()
    model.reset_sequence()
    metric = METRICS.build(dict(type='BEVMapIoUMetric', domains=None))
    metric.dataset_meta = metainfo
    for item in items:
        with torch.no_grad():
            out = model(**collate(model, [item], False), mode='predict')
        metric.process({}, [out[0].to_dict()])
    return metric.evaluate(len(items))


def test_twin_learns_the_map(panoptic_cfg, synthetic_nuscenes_infos,
                             one_thread):
    """A short seeded training on the evaluated scenes (it tests that the
    panoptic head learns, not that it generalises) lifts the map IoU above
    the untrained model's: drivable from about 0.19 to 0.47 after 20 steps
    (the thing classes need far longer; lanes stay at 0 here)."""
    cfg = copy.deepcopy(panoptic_cfg)
    cfg.model.neck = None
    infos = dict(synthetic_nuscenes_infos)
    infos['trackmap_train'] = infos['trackmap_val']
    model = build_model(cfg)
    train = build_dataset(cfg, infos, queue_length=1)
    val = build_dataset(cfg, infos, 'val')
    items = [val[i] for i in range(len(val))]
    before = map_ious(model, items, val.metainfo)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    order = torch.randperm(len(train),
                           generator=torch.Generator().manual_seed(0))
    batches = [collate(model, [train[int(i)]]) for i in order]
    map_loss = []
    for step in range(20):
        model.train()
        losses = model(**batches[step % len(batches)], mode='loss')
        map_loss.append(sum(v.item() for k, v in losses.items()
                            if k.startswith('loss_map')))
        optimizer.zero_grad()
        sum(losses.values()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 35)
        optimizer.step()
    after = map_ious(model, items, val.metainfo)
    assert after['map/iou_drivable'] > before['map/iou_drivable'] + 0.1, (
        before, after)
    assert sum(map_loss[-4:]) < 0.9 * sum(map_loss[:4]), map_loss
