"""NYUv2MTLDataset / CityscapesMTLDataset on synthetic MTAN-layout data."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

from nexusflow.datasets.dense import (CityscapesMTLDataset, NYUv2MTLDataset,
                                      save_label_weights)


def test_nyuv2_full_sample_shapes(nyuv2_root):
    dataset = NYUv2MTLDataset(data_root=nyuv2_root, split='val')
    assert len(dataset) == 2
    item = dataset[1]
    sample = item['data_samples']
    assert item['inputs'].shape == (3, 24, 32)
    assert item['inputs'].dtype == torch.float32
    assert sample.gt_semantic.shape == (24, 32)
    assert sample.gt_semantic.dtype == torch.long
    assert sample.gt_semantic.min() >= -1 and sample.gt_semantic.max() < 13
    assert sample.gt_depth.shape == (1, 24, 32)
    assert sample.gt_normal.shape == (3, 24, 32)
    assert sample.task_mask == dict(semantic=True, depth=True, normal=True)


def test_unlabeled_targets_are_removed(nyuv2_root):
    dataset = NYUv2MTLDataset(
        data_root=nyuv2_root, label_setting='onelabel',
        labels_weights=osp.join(nyuv2_root, 'onelabel.pth'))
    mask = dataset.label_mask
    assert (mask.sum(axis=1) == 1).all()
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        sample = dataset[index]['data_samples']
        for task, labeled in sample.task_mask.items():
            assert (f'gt_{task}' in sample) == labeled
            assert (f'{task}_path' in info) == labeled


def test_task_subset_and_columns(nyuv2_root, tmp_path):
    weights = np.zeros((6, 3), dtype=bool)
    weights[:, 2] = True  # normals only
    weights[0, 0] = True
    path = str(tmp_path / 'w.pth')
    save_label_weights(path, weights)
    dataset = NYUv2MTLDataset(data_root=nyuv2_root,
                              tasks=['semantic', 'normal'],
                              labels_weights=path)
    assert dataset.label_mask.tolist() == weights[:, [0, 2]].tolist()
    assert 'gt_depth' not in dataset[0]['data_samples']


def test_label_fraction(nyuv2_root):
    dataset = NYUv2MTLDataset(data_root=nyuv2_root, label_fraction=0.5)
    assert dataset.label_mask.sum(axis=0).tolist() == [3, 3, 3]


def test_cityscapes_7_and_19_classes(cityscapes_root):
    seven = CityscapesMTLDataset(data_root=cityscapes_root)
    nineteen = CityscapesMTLDataset(data_root=cityscapes_root,
                                    num_classes=19)
    a = seven[0]['data_samples'].gt_semantic
    b = nineteen[0]['data_samples'].gt_semantic
    assert a.max() < 7 and b.max() < 19 and b.max() >= 7
    assert torch.equal(a < 0, b < 0)
    assert seven[0]['data_samples'].gt_depth.shape == (1, 16, 32)
    assert seven.tasks == ['semantic', 'depth']
    onelabel = CityscapesMTLDataset(
        data_root=cityscapes_root, label_setting='onelabel',
        labels_weights=osp.join(cityscapes_root, 'onelabel.pth'))
    assert onelabel.label_mask.sum(axis=0).tolist() == [3, 2]
    with pytest.raises(ValueError, match='num_classes'):
        CityscapesMTLDataset(data_root=cityscapes_root, num_classes=8)


def test_clear_errors(nyuv2_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='image'):
        NYUv2MTLDataset(data_root=str(tmp_path))
    with pytest.raises(ValueError, match='label_setting'):
        NYUv2MTLDataset(data_root=nyuv2_root, label_setting='half')
    with pytest.raises(ValueError, match='tasks'):
        NYUv2MTLDataset(data_root=nyuv2_root, tasks=['edges'])
    path = str(tmp_path / 'short.pth')
    save_label_weights(path, np.ones((5, 3), dtype=bool))
    with pytest.raises(ValueError, match='short.pth.*5 rows.*6 samples'):
        NYUv2MTLDataset(data_root=nyuv2_root, labels_weights=path)


def test_bad_target_shape_names_the_file(tmp_path):
    from nexusflow.testing import create_synthetic_nyuv2
    root = create_synthetic_nyuv2(str(tmp_path), 1, 1, (8, 12))
    bad = osp.join(root, 'train', 'depth', '0.npy')
    np.save(bad, np.zeros((8, 11, 1), dtype=np.float32))
    dataset = NYUv2MTLDataset(data_root=root)
    with pytest.raises(ValueError, match='depth/0.npy.*depth target'):
        dataset[0]
    os.remove(osp.join(root, 'train', 'normal', '0.npy'))
    with pytest.raises(ValueError, match='normal'):
        NYUv2MTLDataset(data_root=root)
