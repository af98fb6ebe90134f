import json
import os
import pickle

import numpy as np
import pytest
import torch

from mmdet3d.registry import METRICS
from nexusflow.evaluation import SUMMARY_KEYS, NuScenesTrackingMetric

VERSION = 'v1.0-mini'


def run(metric, samples):
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def build(root, **kwargs):
    kwargs.setdefault('domains', None)  # one devkit run per test
    kwargs.setdefault('eval_set', 'mini_val')
    return NuScenesTrackingMetric(data_root=root, version=VERSION, **kwargs)


def test_gt_as_prediction_is_perfect_overall_and_per_domain(
        nusc_root, make_samples):
    metric = METRICS.build(
        dict(
            type='NuScenesTrackingMetric',
            data_root=nusc_root,
            version=VERSION,
            eval_set='mini_val'))
    res = run(metric, make_samples())
    assert set(res) == {
        f'tracking/{d}{k}'
        for d in ('', 'boston/', 'singapore/') for k in SUMMARY_KEYS
    }
    for prefix in ('tracking/', 'tracking/boston/', 'tracking/singapore/'):
        assert res[prefix + 'amota'] == pytest.approx(1.0)
        assert res[prefix + 'recall'] == pytest.approx(1.0)
        assert res[prefix + 'ids'] == 0
        assert res[prefix + 'fp'] == 0
        assert res[prefix + 'fn'] == 0
        assert res[prefix + 'tp'] > 0
    # The domains partition the split, so counts add up.
    for key in ('tp', 'fp', 'fn', 'ids'):
        assert res[f'tracking/{key}'] == (
            res[f'tracking/boston/{key}'] + res[f'tracking/singapore/{key}'])


def pick_swap(predictions):
    """Two tracks close to the ego in frames k-1 and k of one scene."""
    for name, (_, frames) in predictions.items():
        for k in range(1, len(frames)):
            near = []
            for _, boxes, _, ids in frames[k - 1:k + 1]:
                close = np.linalg.norm(boxes[:, :2], axis=1) < 30
                near.append(set(ids[close].tolist()))
            both = sorted(near[0] & near[1])
            if len(both) >= 2:
                return name, k, both[0], both[1]
    raise AssertionError('no two tracks to swap in the synthetic scenes')


def test_swapping_two_track_ids_mid_scene_raises_ids(nusc_root, make_samples,
                                                     gt_predictions):
    scene_name, k, id_a, id_b = pick_swap(gt_predictions)

    def swap(name, idx, boxes, labels, ids):
        if name == scene_name and idx >= k:
            a, b = ids == id_a, ids == id_b
            ids[a], ids[b] = id_b, id_a
        return boxes, labels, ids

    res = run(build(nusc_root), make_samples(swap))
    # Both GT objects change their matched hypothesis once.
    assert res['tracking/ids'] == 2
    assert res['tracking/mota'] < 1.0
    assert res['tracking/recall'] == pytest.approx(1.0)


def test_dropping_a_class_lowers_recall(nusc_root, make_samples):
    car = 0  # TRACKING_CLASSES.index('car')

    def drop_cars(name, idx, boxes, labels, ids):
        keep = labels != car
        return boxes[keep], labels[keep], ids[keep]

    res = run(build(nusc_root), make_samples(drop_cars))
    assert res['tracking/recall'] < 1.0
    assert res['tracking/amota'] < 1.0
    assert res['tracking/fn'] > 0


def test_missing_sample_is_scored_as_empty(nusc_root, make_samples,
                                           gt_predictions, tmp_path):
    # The last frame: the devkit would interpolate a gap inside a track.
    scene_name, (_, frames) = next(iter(gt_predictions.items()))
    assert len(frames[-1][1]) > 0

    def drop_one(name, idx, boxes, labels, ids):
        if name == scene_name and idx == len(frames) - 1:
            return None
        return boxes, labels, ids

    samples = make_samples(drop_one)
    metric = build(nusc_root, jsonfile_prefix=str(tmp_path))
    res = run(metric, samples)
    with open(tmp_path / 'results_nusc_tracking.json') as f:
        written = json.load(f)
    given = {s['token'] for s in samples}
    missing = [t for t in written['results'] if t not in given]
    assert len(missing) == 1 and written['results'][missing[0]] == []
    assert written['meta']['use_camera'] is True
    assert res['tracking/fn'] > 0
    assert res['tracking/recall'] < 1.0


def test_format_only_writes_every_split_sample(nusc_root, nusc, make_samples,
                                               tmp_path):
    metric = build(nusc_root, jsonfile_prefix=str(tmp_path / 'out'),
                   format_only=True)
    samples = make_samples()
    assert run(metric, samples) == {}
    with open(tmp_path / 'out' / 'results_nusc_tracking.json') as f:
        written = json.load(f)
    assert set(written['results']) == {s['token'] for s in samples}
    box = next(b for boxes in written['results'].values() for b in boxes)
    assert set(box) == {
        'sample_token', 'translation', 'size', 'rotation', 'velocity',
        'tracking_id', 'tracking_name', 'tracking_score'
    }
    assert len(box['rotation']) == 4 and len(box['velocity']) == 2


def test_explicit_scenes_score_threshold_and_no_box(nusc_root,
                                                    make_samples):
    samples = make_samples()
    for s in samples:  # halve the scores of the Singapore scene
        if s['location'].startswith('singapore'):
            s['pred_track_3d']['scores_3d'] *= 0.5
    kept = run(build(nusc_root, eval_set=['scene-0103'], score_thr=0.6),
               samples)
    assert kept['tracking/amota'] == pytest.approx(1.0)
    # Every Singapore box is below the threshold: the devkit scores the
    # scene as tracking nothing.
    none = run(build(nusc_root, eval_set=['scene-0916'], score_thr=0.6),
               samples)
    assert none['tracking/amota'] == 0.0
    assert none['tracking/recall'] == 0.0
    assert none['tracking/tp'] == 0.0
    assert none['tracking/fn'] > 0


def test_data_root_is_never_written(nusc_root, make_samples):
    before = sorted(os.listdir(os.path.join(nusc_root, VERSION)))
    with open(os.path.join(nusc_root, VERSION, 'splits.json')) as f:
        splits = f.read()
    run(build(nusc_root, domains=dict(sg=['singapore-*'])), make_samples())
    assert sorted(os.listdir(os.path.join(nusc_root, VERSION))) == before
    with open(os.path.join(nusc_root, VERSION, 'splits.json')) as f:
        assert f.read() == splits


def test_bad_input_gives_one_clear_error(nusc_root, make_samples, tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        NuScenesTrackingMetric(data_root=str(tmp_path / 'nope'))
    with pytest.raises(FileNotFoundError, match=r"v1\.0-trainval.*v1\.0-mini"):
        NuScenesTrackingMetric(data_root=nusc_root, version='v1.0-trainval')
    with pytest.raises(ValueError, match='classes'):
        build(nusc_root, classes=('barrier', 'traffic_cone'))  # none tracked
    with pytest.raises(ValueError, match='classes'):
        build(nusc_root, classes=('car', 'tram'))
    with pytest.raises(ValueError, match='format_only'):
        build(nusc_root, format_only=True)

    sample = make_samples()[0]
    seven = dict(sample, pred_track_3d=dict(
        sample['pred_track_3d'],
        bboxes_3d=sample['pred_track_3d']['bboxes_3d'].tensor[:, :7]))
    with pytest.raises(ValueError, match=r"bboxes_3d.*\(N, 9\)"):
        build(nusc_root).process({}, [seven])
    bad_labels = dict(sample, pred_track_3d=dict(
        sample['pred_track_3d'],
        labels_3d=sample['pred_track_3d']['labels_3d'] + 7))
    with pytest.raises(ValueError, match='labels_3d'):
        build(nusc_root).process({}, [bad_labels])
    short_ids = dict(sample, pred_track_3d=dict(
        sample['pred_track_3d'], track_ids=torch.zeros(0)))
    with pytest.raises(ValueError, match='track_ids'):
        build(nusc_root).process({}, [short_ids])
    no_pred = {k: v for k, v in sample.items() if k != 'pred_track_3d'}
    with pytest.raises(ValueError, match='pred_track_3d'):
        build(nusc_root).process({}, [no_pred])
    no_pose = {k: v for k, v in sample.items() if k != 'lidar2global'}
    with pytest.raises(ValueError, match='lidar2global'):
        build(nusc_root).process({}, [no_pose])

    metric = build(nusc_root, eval_set='no_such_split')
    metric.process({}, [sample])
    with pytest.raises(ValueError, match="eval_set 'no_such_split'"):
        metric.evaluate(1)
    metric = build(nusc_root, eval_set='val')  # trainval scenes on mini
    metric.process({}, [sample])
    with pytest.raises(ValueError, match='mini_val'):
        metric.evaluate(1)


def test_results_are_small_picklable_and_capped(nusc_root, make_samples):
    from nexusflow.evaluation import load_scenes, resolve_split
    sample = make_samples()[0]
    many = 600
    boxes = sample['pred_track_3d']['bboxes_3d'].tensor[:1].repeat(many, 1)
    sample['pred_track_3d'] = dict(
        bboxes_3d=boxes,
        scores_3d=torch.linspace(0, 1, many),
        labels_3d=torch.zeros(many, dtype=torch.long),
        track_ids=torch.arange(many))
    metric = build(nusc_root)
    metric.process({}, [sample])
    # Ranks exchange results by pickling; only numpy arrays travel.
    result = pickle.loads(pickle.dumps(metric.results[0]))
    assert all(not isinstance(v, torch.Tensor) for v in result.values())
    assert result['rotation'].shape == (many, 4)

    scenes = load_scenes(nusc_root, VERSION, 'test')
    split = resolve_split('mini_val', nusc_root, VERSION, scenes, 'test')
    formatted = metric.format_results([result], scenes, split)
    kept = formatted[sample['token']]
    assert len(kept) == 500  # tracking_nips_2019 max_boxes_per_sample
    assert min(b['tracking_score'] for b in kept) == pytest.approx(
        float(torch.linspace(0, 1, many)[many - 500]))
