"""Stripping the GT of unlabeled tasks from one info, and task_mask stamps."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
from nexusflow.datasets.domain_split_rules import normalize_tasks
from nexusflow.datasets.domain_split_stripping import (select_rows,
                                                       set_task_mask,
                                                       strip_unlabeled,
                                                       with_companions)

# Raw labels index RAW; the dataset's parsed labels index CLASSES.
RAW = ('car', 'pedestrian', 'barrier')
CLASSES = ('pedestrian', 'car')
TASKS = normalize_tasks(dict(vehicle=dict(classes=['car']),
                             map=dict(keys=['map_masks'])), CLASSES)


def make_info():
    instances = [dict(bbox_label_3d=0), dict(bbox_label_3d=1),
                 dict(bbox_label_3d=-1), dict(bbox_label_3d=2)]
    labels = np.array([1, 0, -1])  # car, pedestrian, ignored
    ann = dict(gt_bboxes_3d=LiDARInstance3DBoxes(torch.arange(21.).view(3, 7)),
               gt_labels_3d=labels, num_lidar_pts=torch.tensor([5, 6, 7]),
               names=['car', 'pedestrian', 'ignored'],
               instances=list(instances), map_masks='ann',
               map_instances='ann', scalar=3)
    return dict(instances=list(instances), map_masks='packed',
                map_instances='polylines',
                cam_instances=dict(CAM_FRONT=list(instances)),
                ann_info=ann)


def test_labeled_tasks_keep_everything():
    info = make_info()
    strip_unlabeled(info, dict(vehicle=True, map=True), TASKS, CLASSES, RAW)
    assert info['map_masks'] == 'packed' and len(info['instances']) == 4
    assert info['map_instances'] == 'polylines'
    assert info['ann_info']['map_instances'] == 'ann'
    assert len(info['ann_info']['gt_labels_3d']) == 3


def test_unlabeled_class_group_and_keys_go_everywhere():
    info = make_info()
    strip_unlabeled(info, dict(vehicle=False, map=False), TASKS, CLASSES,
                    RAW)
    assert 'map_masks' not in info and 'map_masks' not in info['ann_info']
    # The task names only the masks; their instance form goes with them.
    assert 'map_instances' not in info
    assert 'map_instances' not in info['ann_info']
    # Cars go; pedestrians, barriers (no task) and ignored boxes stay.
    kept = [RAW[i['bbox_label_3d']] if i['bbox_label_3d'] >= 0 else
            'ignored' for i in info['instances']]
    assert kept == ['pedestrian', 'ignored', 'barrier']
    assert info['cam_instances']['CAM_FRONT'] == info['instances']
    ann = info['ann_info']
    assert ann['gt_labels_3d'].tolist() == [0, -1]
    assert ann['gt_bboxes_3d'].tensor[:, 0].tolist() == [7.0, 14.0]
    assert ann['num_lidar_pts'].tolist() == [6, 7]
    assert ann['names'] == ['pedestrian', 'ignored']
    assert ann['instances'] == info['instances'] and ann['scalar'] == 3


def test_an_unlabeled_all_class_task_drops_every_box():
    tasks = normalize_tasks(dict(track={}), CLASSES)
    info = make_info()
    strip_unlabeled(info, dict(track=False), tasks, CLASSES, RAW)
    assert info['instances'] == [] and info['map_masks'] == 'packed'
    assert info['map_instances'] == 'polylines'
    assert len(info['ann_info']['gt_bboxes_3d']) == 0


def test_companion_keys():
    assert with_companions(['gt_map', 'map_masks']) == (
        'gt_map', 'gt_map_instances', 'map_masks', 'map_instances')
    assert with_companions(['map_instances', 'map_masks']) == (
        'map_instances', 'map_masks')
    assert with_companions(['other']) == ('other', )


def test_select_rows_leaves_other_lengths_alone():
    ann = dict(a=np.arange(3), b=np.arange(4), c=torch.zeros(3, 2))
    out = select_rows(ann, np.array([True, False, True]), lambda i: True)
    assert out['a'].tolist() == [0, 2] and out['b'] is ann['b']
    assert out['c'].shape == (2, 2)


def sample(**meta):
    data_sample = Det3DDataSample(metainfo=meta)
    data_sample.gt_instances_3d = InstanceData()
    return data_sample


def test_set_task_mask_fills_missing_masks_only():
    given = dict(track=True)
    data = dict(data_samples=[sample(token='a'), sample(task_mask=given)])
    set_task_mask(data, dict(track=False), {}, {})
    assert [s.metainfo['task_mask'] for s in data['data_samples']] == [
        dict(track=False), given]
    # Without a mask, the token or else the sample index finds it.
    data = dict(data_samples=[sample(token='a'), sample(sample_idx=4)])
    set_task_mask(data, None, dict(a=dict(map=True)), {4: dict(map=False)})
    assert [s.metainfo['task_mask'] for s in data['data_samples']] == [
        dict(map=True), dict(map=False)]
    with pytest.raises(KeyError, match='inside CBGSDataset'):
        set_task_mask(dict(data_samples=sample()), None, {}, {})
