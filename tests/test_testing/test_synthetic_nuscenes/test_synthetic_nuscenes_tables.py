"""Every record of the synthetic tables links to existing records."""
import os.path as osp

from nexusflow.structures import CAMERAS
from nexusflow.testing.synthetic_nuscenes.tables import Tables
from helpers.nuscenes import chain

# Token fields of the tables and the table each one points into.
LINKS = {
    'sample_token': 'sample', 'scene_token': 'scene', 'log_token': 'log',
    'instance_token': 'instance', 'category_token': 'category',
    'visibility_token': 'visibility', 'sensor_token': 'sensor',
    'calibrated_sensor_token': 'calibrated_sensor',
    'ego_pose_token': 'ego_pose', 'first_sample_token': 'sample',
    'last_sample_token': 'sample',
    'first_annotation_token': 'sample_annotation',
    'last_annotation_token': 'sample_annotation'
}


def test_every_table_link_resolves(nusc, synthetic_nuscenes):
    assert len(nusc.scene) == 4 and len(nusc.sample) == 16
    for table in nusc.table_names:
        for record in getattr(nusc, table):
            for field, target in LINKS.items():
                if field in record:
                    nusc.get(target, record[field])  # raises if dangling
            for field in ('prev', 'next'):
                if record.get(field):
                    assert nusc.get(table, record[field])['token']
            for token in record.get('attribute_tokens', []):
                nusc.get('attribute', token)
            for token in record.get('log_tokens', []):
                nusc.get('log', token)
            if 'filename' in record:
                assert osp.isfile(osp.join(synthetic_nuscenes,
                                           record['filename']))
    for scene in nusc.scene:
        samples = chain(nusc, 'sample', scene['first_sample_token'])
        assert len(samples) == scene['nbr_samples'] == 4
        assert samples[-1]['token'] == scene['last_sample_token']
        assert all(s['scene_token'] == scene['token'] for s in samples)
    for instance in nusc.instance:
        anns = chain(nusc, 'sample_annotation',
                     instance['first_annotation_token'])
        assert len(anns) == instance['nbr_annotations']
        assert anns[-1]['token'] == instance['last_annotation_token']
    for sample in nusc.sample:
        assert set(sample['data']) == {'LIDAR_TOP', *CAMERAS}


def test_link_fills_prev_and_next():
    records = [dict(token=t) for t in 'abc']
    Tables.link(records)
    assert [(r['prev'], r['next']) for r in records] == [
        ('', 'b'), ('a', 'c'), ('b', '')]
