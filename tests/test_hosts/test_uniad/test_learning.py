"""The tiny UniAD model learns: after a short seeded training on a few
clips, map IoU and AMOTA (nuscenes-devkit) on those scenes beat the
untrained model's."""
import copy

import pytest
import torch

from mmdet3d.registry import METRICS
from helpers.uniad import build_dataset, build_model, collate

pytestmark = pytest.mark.slow  # subprocesses / training runs

# Two-frame clips: enough for the carried track queries to learn, and
# cheaper than three (AMOTA about 0.45 after 160 steps, 0.23 after 120 with
# three-frame clips).
STEPS, QUEUE = 160, 2


def evaluate(model, dataset, infos) -> dict:
    """Devkit tracking metrics and map IoU over the dataset, in order."""
    model.eval()
    model.reset_sequence()
    metrics = [
        METRICS.build(dict(type='NuScenesTrackingMetric',
                           data_root=infos['root'], version='v1.0-mini',
                           eval_set='mini_val', domains=None)),
        METRICS.build(dict(type='BEVMapIoUMetric'))
    ]
    for metric in metrics:
        metric.dataset_meta = dataset.metainfo
    for index in range(len(dataset)):
        with torch.no_grad():
            out = model(**collate(model, [dataset[index]], False),
                        mode='predict')
        for metric in metrics:
            metric.process({}, [out[0].to_dict()])
    results = {}
    for metric in metrics:
        results.update(metric.evaluate(len(dataset)))
    return results


def test_short_training_beats_the_untrained_model(tiny_cfg,
                                                  synthetic_nuscenes_infos):
    cfg = copy.deepcopy(tiny_cfg)
    cfg.model.neck = None
    infos = dict(synthetic_nuscenes_infos)
    # Train on the evaluated scenes: this tests that the model can learn
    # the tasks, not that it generalises from a few synthetic clips.
    infos['trackmap_train'] = infos['trackmap_val']
    model = build_model(cfg)
    train = build_dataset(cfg, infos, queue_length=QUEUE)
    val = build_dataset(cfg, infos, 'val')
    before = evaluate(model, val, infos)

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    order = torch.randperm(len(train),
                           generator=torch.Generator().manual_seed(0))
    for step in range(STEPS):
        model.train()
        sample = train[int(order[step % len(train)])]
        losses = model(**collate(model, [sample]),
                       mode='loss')
        optimizer.zero_grad()
        sum(losses.values()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 35)
        optimizer.step()
    after = evaluate(model, val, infos)

    for key in ('map/iou_lanes', 'map/iou_drivable'):
        assert after[key] > before[key] + 0.05, (key, before[key], after[key])
    assert before['tracking/amota'] == 0.0
    assert after['tracking/recall'] > 0.0
    assert after['tracking/amota'] > before['tracking/amota'], after
