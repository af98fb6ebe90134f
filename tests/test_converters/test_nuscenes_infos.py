"""mmdet3d's own converters turn the synthetic set into stock infos that the
stock NuScenesDataset loads; bad roots fail with one clear error."""
import json
import os
import os.path as osp
import runpy
import shutil
import sys

import mmengine
import pytest

from nexusflow.converters import check_nuscenes_root

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSES = ('car', 'truck', 'trailer', 'bus', 'construction_vehicle',
           'bicycle', 'motorcycle', 'pedestrian', 'traffic_cone', 'barrier')


def test_stock_infos_load_in_nuscenes_dataset(synthetic_nuscenes_infos):
    from mmengine.registry import init_default_scope

    from mmdet3d.registry import DATASETS
    init_default_scope('mmdet3d')
    info = synthetic_nuscenes_infos
    # The stock nus-3d lidar pipeline, as CenterPoint uses it.
    pipeline = [
        dict(type='LoadPointsFromFile', coord_type='LIDAR', load_dim=5,
             use_dim=5),
        dict(type='LoadPointsFromMultiSweeps', sweeps_num=2,
             use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True,
             remove_close=True),
        dict(type='LoadAnnotations3D', with_bbox_3d=True,
             with_label_3d=True),
        dict(type='Pack3DDetInputs',
             keys=['points', 'gt_bboxes_3d', 'gt_labels_3d'])
    ]
    sizes = {}
    for split in ('train', 'val'):
        dataset = DATASETS.build(
            dict(type='NuScenesDataset', data_root=info['root'],
                 ann_file=info[split], metainfo=dict(classes=CLASSES),
                 data_prefix=dict(pts='samples/LIDAR_TOP', img='',
                                  sweeps='sweeps/LIDAR_TOP'),
                 pipeline=pipeline))
        sizes[split] = len(dataset)
        sample = dataset[1]
        points = sample['inputs']['points']
        assert points.shape[1] == 5 and points.shape[0] > 1000
        # Key frame 1 has one sweep before it, which must be loaded too.
        assert points[:, 4].unique().numel() >= 2  # time-lag channel
        gt = sample['data_samples'].gt_instances_3d
        assert len(gt) >= 7 and set(gt.labels_3d.tolist()) <= set(
            range(len(CLASSES)))
    assert sizes == dict(train=8, val=8)
    dbinfos = mmengine.load(info['dbinfos'])
    assert set(dbinfos) == set(CLASSES)
    for entry in dbinfos['car'][:3]:
        path = osp.join(info['root'], entry['path'])
        assert osp.getsize(path) == entry['num_points_in_gt'] * 5 * 4
    # Nothing is left behind next to the raw data.
    assert not any(name.startswith('.nuscenes')
                   for name in os.listdir(info['root']))


def test_stock_infos_keep_the_devkit_boxes(synthetic_nuscenes_infos):
    from nuscenes import NuScenes
    info = synthetic_nuscenes_infos
    nusc = NuScenes(info['version'], info['root'], verbose=False)
    data = mmengine.load(info['val'])
    assert data['metainfo']['version'] == info['version']
    first = data['data_list'][0]
    _, boxes, _ = nusc.get_sample_data(
        nusc.get('sample', first['token'])['data']['LIDAR_TOP'])
    assert len(first['instances']) == len(boxes)
    for instance, box in zip(first['instances'], boxes):
        assert instance['bbox_3d'][:3] == pytest.approx(box.center.tolist(),
                                                        abs=1e-4)
        # mmdet3d 1.x stores (l, w, h); the devkit (w, l, h).
        assert instance['bbox_3d'][3:6] == pytest.approx(
            [box.wlh[1], box.wlh[0], box.wlh[2]], abs=1e-4)
    # Camera boxes were clipped to the real image size, not 1600x900.
    cam_boxes = [b['bbox'] for items in first['cam_instances'].values()
                 for b in items]
    assert cam_boxes and max(b[2] for b in cam_boxes) <= 64
    assert max(b[3] for b in cam_boxes) <= 36


@pytest.fixture
def root_copy(synthetic_nuscenes, tmp_path):
    """Tables and maps copied (editable), sensor data linked."""
    root = tmp_path / 'nusc'
    root.mkdir()
    for name in ('v1.0-mini', 'maps'):
        shutil.copytree(osp.join(synthetic_nuscenes, name), root / name)
    for name in ('samples', 'sweeps'):
        os.symlink(osp.join(synthetic_nuscenes, name), root / name)
    return root


def test_check_root_accepts_the_synthetic_set(synthetic_nuscenes):
    locations = check_nuscenes_root(synthetic_nuscenes, 'v1.0-mini')
    assert locations == ['boston-seaport', 'singapore-onenorth',
                         'singapore-queenstown']


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=f'nuScenes root {tmp_path}/none does not exist'):
        check_nuscenes_root(str(tmp_path / 'none'), 'v1.0-mini')


def test_wrong_version(root_copy):
    with pytest.raises(FileNotFoundError) as err:
        check_nuscenes_root(str(root_copy), 'v1.0-trainval')
    assert f'{root_copy}/v1.0-trainval does not exist' in str(err.value)
    assert "versions found: ['v1.0-mini']" in str(err.value)


def test_corrupt_json(root_copy):
    path = root_copy / 'v1.0-mini' / 'sample.json'
    path.write_text(path.read_text()[:-20])
    with pytest.raises(ValueError, match=f'{path} is corrupt json'):
        check_nuscenes_root(str(root_copy), 'v1.0-mini')


def test_missing_map_expansion(root_copy):
    path = root_copy / 'maps' / 'expansion' / 'singapore-onenorth.json'
    path.unlink()
    with pytest.raises(FileNotFoundError,
                       match=f'map expansion for singapore-onenorth {path} '
                       'does not exist'):
        check_nuscenes_root(str(root_copy), 'v1.0-mini')


def test_map_expansion_without_a_layer(root_copy):
    path = root_copy / 'maps' / 'expansion' / 'boston-seaport.json'
    layers = json.loads(path.read_text())
    del layers['lane_divider']
    path.write_text(json.dumps(layers))
    with pytest.raises(ValueError, match=f'map expansion {path} has no '
                       'lane_divider; expected the nuScenes map expansion'):
        check_nuscenes_root(str(root_copy), 'v1.0-mini')


def test_missing_map_png(root_copy):
    record = json.loads((root_copy / 'v1.0-mini' / 'map.json').read_text())[0]
    os.remove(root_copy / record['filename'])
    with pytest.raises(FileNotFoundError, match='map png .* does not exist'):
        check_nuscenes_root(str(root_copy), 'v1.0-mini')


def run_tool(monkeypatch, script, *args):
    """Runs a tool's main in-process (the stack is already imported)."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))
    monkeypatch.setattr(sys, 'argv', [script, *args])
    runpy.run_path(osp.join(REPO, 'tools', script), run_name='__main__')


def test_cli_reports_one_line(root_copy, tmp_path, monkeypatch):
    (root_copy / 'v1.0-mini' / 'log.json').write_text('{"broken": ')
    with pytest.raises(SystemExit) as exit_info:
        run_tool(monkeypatch, 'create_data.py', 'nuscenes', '--root',
                 str(root_copy), '--version', 'v1.0-mini', '--out',
                 str(tmp_path / 'out'))
    message = str(exit_info.value.code)
    assert '\n' not in message
    assert message.startswith('error: nuScenes table') and 'log.json' in \
        message and 'corrupt json' in message
