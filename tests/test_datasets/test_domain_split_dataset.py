"""NuScenesDomainSplitDataset strips the GT of unlabeled tasks everywhere."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmdet3d.registry import DATASETS
from nexusflow.datasets import domain_split_dataset as module

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STOCK_CLASSES = ('car', 'truck', 'trailer', 'bus', 'construction_vehicle',
                 'bicycle', 'motorcycle', 'pedestrian', 'traffic_cone',
                 'barrier')
TRACKMAP_PIPELINE = [
    dict(type='LoadTrackMapAnnotations', with_map_instances=True),
    dict(type='PackTrackMapInputs', keys=['gt_bboxes_3d', 'gt_labels_3d'])
]


def rules(name):
    return Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'domain_rules',
                 f'nuscenes_{name}.py')).domain_rules


def trackmap(infos, split='train', test_mode=False, **kwargs):
    return dict(type='NuScenesTrackMapDataset', data_root=infos['root'],
                ann_file=infos[f'trackmap_{split}'], test_mode=test_mode,
                pipeline=TRACKMAP_PIPELINE, **kwargs)


def build(dataset, **kwargs):
    init_default_scope('mmdet3d')
    return DATASETS.build(
        dict(type='NuScenesDomainSplitDataset', dataset=dataset, **kwargs))


@pytest.mark.parametrize('split, test_mode', [('train', False),
                                              ('val', True)])
def test_paper_split_over_every_sample(synthetic_nuscenes_infos, split,
                                       test_mode):
    # filter_empty_gt would drop every Boston frame; the wrapper turns it
    # off, so each index yields its own sample.
    dataset = build(trackmap(synthetic_nuscenes_infos, split, test_mode,
                             filter_empty_gt=True),
                    rules=rules('domainsplit'))
    assert not dataset.dataset.filter_empty_gt
    cities = set()
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        boston = info['location'] == 'boston-seaport'
        cities.add(boston)
        assert info['task_mask'] == dict(track=not boston, map=boston)
        ann = info['eval_ann_info' if test_mode else 'ann_info']
        out = dataset[index]['data_samples']
        assert out.metainfo['task_mask'] == info['task_mask']
        assert out.metainfo['token'] == info['token']
        if boston:  # map labels only: no track GT survives anywhere
            assert info['instances'] == [] and len(ann['gt_labels_3d']) == 0
            assert len(ann['gt_bboxes_3d']) == 0 and ann['instances'] == []
            assert len(out.gt_instances_3d) == 0
            assert out.gt_map.masks.sum() > 0
            assert len(out.gt_map_instances) > 0
        else:  # track labels only: no map GT survives anywhere
            assert 'map_masks' not in info and 'gt_map' not in out
            assert 'map_instances' not in info
            assert 'gt_map_instances' not in out
            assert len(out.gt_instances_3d) >= 7
    assert cities == {True, False}
    # The wrapped dataset itself holds the stripped infos too.
    inner = dataset.dataset
    assert all(not {'map_masks', 'map_instances'} & set(
        inner.get_data_info(i)) for i in range(len(inner))
               if inner.get_data_info(i)['location'] != 'boston-seaport')


def test_reverse_and_full_supervision(synthetic_nuscenes_infos):
    reverse = build(trackmap(synthetic_nuscenes_infos),
                    rules=rules('domainsplit_reverse'))
    full = build(trackmap(synthetic_nuscenes_infos), rules=rules('fullsup'))
    for index in range(len(reverse)):
        boston = reverse.get_data_info(index)['location'] == 'boston-seaport'
        assert reverse.task_mask(index) == dict(track=boston, map=not boston)
        assert full.task_mask(index) == dict(track=True, map=True)
        assert 'map_masks' in full.get_data_info(index)
    # No rules at all is full supervision as well.
    plain = build(trackmap(synthetic_nuscenes_infos))
    assert all(plain.task_mask(i) == dict(track=True, map=True)
               for i in range(len(plain)))


def stock(infos, split='train'):
    return dict(
        type='NuScenesDataset', data_root=infos['root'],
        ann_file=infos[split], metainfo=dict(classes=STOCK_CLASSES),
        data_prefix=dict(pts='samples/LIDAR_TOP', img='',
                         sweeps='sweeps/LIDAR_TOP'),
        pipeline=[
            dict(type='LoadPointsFromFile', coord_type='LIDAR', load_dim=5,
                 use_dim=5),
            dict(type='LoadAnnotations3D', with_bbox_3d=True,
                 with_label_3d=True),
            dict(type='Pack3DDetInputs',
                 keys=['points', 'gt_bboxes_3d', 'gt_labels_3d'])
        ])


GROUPS = dict(vehicle=dict(classes=['car', 'truck', 'bus', 'trailer']),
              vru=dict(classes=['pedestrian', 'bicycle', 'motorcycle']))


def test_class_groups_on_the_stock_dataset(synthetic_nuscenes_infos):
    init_default_scope('mmdet3d')
    wrapped = dict(type='NuScenesDomainSplitDataset',
                   dataset=stock(synthetic_nuscenes_infos), tasks=GROUPS,
                   rules=dict(vehicle=['singapore-*'],
                              vru=['boston-seaport']))
    # Inside CBGS, as CenterPoint's config uses it.
    cbgs = DATASETS.build(dict(type='CBGSDataset', dataset=wrapped))
    dataset = cbgs.dataset
    seen = set()
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        names = {STOCK_CLASSES[label]
                 for label in info['ann_info']['gt_labels_3d']}
        raw = {STOCK_CLASSES[i['bbox_label_3d']] for i in info['instances']}
        boston = dataset.task_mask(index)['vru']
        seen.add(boston)
        dropped = GROUPS['vehicle' if boston else 'vru']['classes']
        kept = GROUPS['vru' if boston else 'vehicle']['classes']
        assert not names & set(dropped) and not raw & set(dropped)
        assert set(kept) <= names
        # Classes of no group are labeled everywhere.
        assert {'barrier', 'traffic_cone', 'construction_vehicle'} <= names
        assert len(info['ann_info']['gt_bboxes_3d']) == len(
            info['ann_info']['gt_labels_3d'])
        for cam_boxes in info['cam_instances'].values():
            assert not {STOCK_CLASSES[b['bbox_label_3d']]
                        for b in cam_boxes} & set(dropped)
        assert dataset.get_cat_ids(index) == {
            STOCK_CLASSES.index(n) for n in names}
    assert seen == {True, False}
    sample = cbgs[0]['data_samples']
    mask = sample.metainfo['task_mask']
    labels = {STOCK_CLASSES[i] for i in sample.gt_instances_3d.labels_3d}
    dropped = [g for g, labeled in mask.items() if not labeled]
    assert dropped and not labels & set(GROUPS[dropped[0]]['classes'])


def test_random_ratio_masks(synthetic_nuscenes_infos):
    dataset = build(trackmap(synthetic_nuscenes_infos), random_ratio=0.5,
                    seed=3)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        mask = info['task_mask']
        assert (len(info['instances']) > 0) == mask['track']
        assert ('map_masks' in info) == mask['map']
        assert ('map_instances' in info) == mask['map']
    # The wrapper draws with its seed (the draw itself is tested in
    # test_domain_split_rules).
    draw = dataset._masks(['boston-seaport'] * 50)
    again = build(trackmap(synthetic_nuscenes_infos), random_ratio=0.5,
                  seed=3)
    other = build(trackmap(synthetic_nuscenes_infos), random_ratio=0.5,
                  seed=4)
    assert again.task_masks == dataset.task_masks
    assert again._masks(['x'] * 50) == draw
    assert other._masks(['x'] * 50) != draw


def test_unserialized_dataset_holds_the_stripped_infos(
        synthetic_nuscenes_infos):
    dataset = build(trackmap(synthetic_nuscenes_infos, serialize_data=False),
                    rules=rules('domainsplit'))
    inner = dataset.dataset
    assert len(inner.data_list) == len(inner) == len(dataset) == 8
    for index in range(len(inner)):
        info = inner.get_data_info(index)
        assert info['task_mask'] == dataset.task_mask(index)
        assert ('map_masks' in info) == info['task_mask']['map']
        assert ('map_instances' in info) == info['task_mask']['map']
        assert (len(info['instances']) > 0) == info['task_mask']['track']


def test_outer_wrappers_find_masks_by_sample(synthetic_nuscenes_infos):
    # Under another wrapper the mask comes from the output's sample_idx.
    dataset = build(dict(type='RepeatDataset', times=2,
                         dataset=stock(synthetic_nuscenes_infos)),
                    tasks=GROUPS, rules=dict(vehicle=['singapore-*'],
                                             vru=['boston-seaport']))
    assert len(dataset) == 16
    for index in (1, 9):
        sample = dataset[index]['data_samples']
        assert sample.metainfo['task_mask'] == dataset.task_masks[1]


def test_build_logs_a_table_per_task_and_location(synthetic_nuscenes_infos,
                                                  monkeypatch):
    messages = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    build(trackmap(synthetic_nuscenes_infos), rules=rules('domainsplit'))
    table = next(m for m in messages if 'labeled samples per task' in m)
    rows = {line.split('|')[1].strip(): [c.strip() for c in
                                         line.split('|')[2:-1]]
            for line in table.splitlines() if line.startswith('|')}
    # Columns: samples, track, map. Train holds one scene per city.
    assert rows['location'] == ['samples', 'track', 'map']
    assert rows['boston-seaport'] == ['4', '0', '4']
    assert rows['singapore-onenorth'] == ['4', '4', '0']
    assert rows['all'] == ['8', '4', '4']


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(rules=dict(map=['paris'])), ValueError,
     r"rule map=\['paris'\] has 'paris', which matches no nuScenes "
     r"location; known locations are \['boston-seaport'"),
    (dict(rules=dict(lanes=['boston-seaport'])), ValueError,
     r"rules name tasks \['lanes'\] that are not defined; tasks are "
     r"\['track', 'map'\]"),
    (dict(rules=dict(map=['boston-*']), random_ratio=0.5), ValueError,
     'either rules or random_ratio'),
    (dict(random_ratio=1.5), ValueError, r'random_ratio must be in \[0, 1\]'),
    (dict(tasks=dict(vehicle=dict(classes=['tank']))), ValueError,
     r"task 'vehicle' names classes \['tank'\]"),
])
def test_bad_configs_fail_clearly(synthetic_nuscenes_infos, kwargs, error,
                                  message):
    with pytest.raises(error, match=message):
        build(trackmap(synthetic_nuscenes_infos), lazy_init=True, **kwargs)
