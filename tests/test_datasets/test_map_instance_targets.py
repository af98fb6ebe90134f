"""UniAD's map thing instances through LoadTrackMapAnnotations and
PackTrackMapInputs."""
import mmengine
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmdet3d.registry import DATASETS
from nexusflow.utils.errors import describe


def build(root, ann_file, with_map_instances=True):
    init_default_scope('mmdet3d')
    return DATASETS.build(dict(
        type='NuScenesTrackMapDataset', data_root=root, ann_file=ann_file,
        pipeline=[
            dict(type='LoadTrackMapAnnotations',
                 with_map_instances=with_map_instances),
            dict(type='PackTrackMapInputs',
                 keys=['gt_bboxes_3d', 'gt_labels_3d'])
        ]))


def test_instances_are_packed_next_to_the_layers(synthetic_nuscenes_infos):
    infos = synthetic_nuscenes_infos
    dataset = build(infos['root'], infos['trackmap_val'])
    counts = torch.zeros(3, dtype=torch.long)
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        things = sample.gt_map_instances
        assert isinstance(things, InstanceData)
        num = len(things)
        assert things.labels.dtype == torch.long and num > 0
        assert things.masks.dtype == torch.uint8
        assert things.masks.shape == (num, 200, 200)
        assert things.bboxes.dtype == torch.float32
        assert things.bboxes.shape == (num, 4)
        counts += torch.bincount(things.labels, minlength=3)
        # Per class the instances tile that class's semantic layer.
        layers = sample.gt_map.masks
        for label in range(3):
            union = things.masks[things.labels == label].sum(0)
            assert union.max() <= 1
            assert torch.equal(union.to(torch.uint8), layers[label])
        # UniAD's box: min / max column and row of the mask, inclusive.
        for mask, box in zip(things.masks, things.bboxes):
            rows, cols = torch.nonzero(mask, as_tuple=True)
            assert box.tolist() == [cols.min(), rows.min(), cols.max(),
                                    rows.max()]
    assert (counts > 0).all()


def test_instances_only_when_asked(synthetic_nuscenes_infos):
    infos = synthetic_nuscenes_infos
    dataset = build(infos['root'], infos['trackmap_val'], False)
    sample = dataset[0]['data_samples']
    assert 'gt_map' in sample and 'gt_map_instances' not in sample


def test_old_infos_ask_for_create_data(synthetic_nuscenes_infos, tmp_path):
    infos = synthetic_nuscenes_infos
    data = mmengine.load(infos['trackmap_val'])
    for info in data['data_list']:
        del info['map_instances']
    old = str(tmp_path / 'old_infos.pkl')
    mmengine.dump(data, old)
    # Configs that do not need the instances still run on them.
    assert 'gt_map' in build(infos['root'], old, False)[0]['data_samples']
    with pytest.raises(ValueError) as err:
        build(infos['root'], old)[0]
    line = describe(err.value)
    assert line.startswith('error: LoadTrackMapAnnotations: sample ')
    assert 'no map_instances' in line and \
        'rerun python tools/create_data.py nuscenes' in line
    assert '\n' not in line
