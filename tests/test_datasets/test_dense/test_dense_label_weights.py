"""Partial-label settings: official format, shipped files, statistics."""
import os.path as osp

import numpy as np
import pytest
import torch

from nexusflow.datasets.dense import (load_label_weights, make_label_weights,
                                      partial_fraction, save_label_weights)

SPLITS = osp.join(osp.dirname(__file__), '..', '..', '..', 'data_splits')


def test_shipped_nyuv2_onelabel_has_official_statistics():
    mask = load_label_weights(osp.join(SPLITS, 'nyuv2', 'onelabel.pth'),
                              795, 3)
    assert (mask.sum(axis=1) == 1).all()
    assert mask.sum(axis=0).tolist() == [265, 265, 265]


def test_shipped_nyuv2_randomlabels_has_official_statistics():
    mask = load_label_weights(
        osp.join(SPLITS, 'nyuv2', 'randomlabels.pth'), 795, 3)
    counts = np.bincount(mask.sum(axis=1), minlength=4)
    assert counts.tolist() == [0, 405, 390, 0]


def test_shipped_cityscapes_onelabel_has_official_statistics():
    mask = load_label_weights(
        osp.join(SPLITS, 'cityscapes', 'onelabel.pth'), 2975, 2)
    assert (mask.sum(axis=1) == 1).all()
    assert mask.sum(axis=0).tolist() == [1488, 1487]


def test_shipped_files_are_reproducible_from_seed():
    shipped = load_label_weights(
        osp.join(SPLITS, 'nyuv2', 'randomlabels.pth'))
    assert np.array_equal(shipped,
                          make_label_weights('randomlabels', 795, 3, seed=0))


def test_official_format_file_loads_unchanged(tmp_path):
    # Written the way the MTPSL/JTR scripts write theirs: weights, not bools.
    weights = torch.tensor([[1., 0., 0.], [0., 2.5, 1.], [0., 0., 1.]])
    path = str(tmp_path / 'onelabel.pth')
    torch.save({'labels_weights': weights}, path)
    mask = load_label_weights(path, 3, 3)
    assert mask.tolist() == (weights > 0).tolist()


def test_roundtrip_save_load(tmp_path):
    mask = make_label_weights('onelabel', 10, 3, seed=3)
    save_label_weights(str(tmp_path / 'w.pth'), mask)
    assert np.array_equal(load_label_weights(str(tmp_path / 'w.pth')), mask)


@pytest.mark.parametrize('content, match', [
    ({'weights': torch.ones(3, 3)}, 'labels_weights'),
    ({'labels_weights': torch.ones(3)}, '2-D'),
    ({'labels_weights': -torch.ones(3, 3)}, '>= 0'),
])
def test_bad_file_content_raises_naming_file(tmp_path, content, match):
    path = str(tmp_path / 'bad.pth')
    torch.save(content, path)
    with pytest.raises(ValueError, match=match) as info:
        load_label_weights(path)
    assert 'bad.pth' in str(info.value)


def test_row_count_mismatch_and_missing_file(tmp_path):
    path = str(tmp_path / 'w.pth')
    save_label_weights(path, np.ones((4, 3), dtype=bool))
    with pytest.raises(ValueError, match='4 rows but the dataset has 5'):
        load_label_weights(path, 5, 3)
    with pytest.raises(ValueError, match='3 columns'):
        load_label_weights(path, 4, 2)
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_label_weights(str(tmp_path / 'nope.pth'))


def test_drawn_settings_scale_official_statistics():
    one = make_label_weights('onelabel', 7, 3, seed=1)
    assert (one.sum(axis=1) == 1).all()
    assert sorted(one.sum(axis=0).tolist()) == [2, 2, 3]
    rand = make_label_weights('randomlabels', 100, 3, seed=1)
    assert set(rand.sum(axis=1).tolist()) == {1, 2}
    assert (rand.sum(axis=1) == 1).sum() == round(100 * 405 / 795)
    assert make_label_weights('full', 4, 2).all()
    with pytest.raises(ValueError, match='at least 3 tasks'):
        make_label_weights('randomlabels', 10, 2)


def test_partial_fraction_keeps_a_subset_per_task():
    full = make_label_weights('full', 20, 3)
    kept = partial_fraction(full, 0.25, seed=0)
    assert kept.sum(axis=0).tolist() == [5, 5, 5]
    assert not (kept & ~full).any()
    with pytest.raises(ValueError, match='label_fraction'):
        partial_fraction(full, 0.0)
