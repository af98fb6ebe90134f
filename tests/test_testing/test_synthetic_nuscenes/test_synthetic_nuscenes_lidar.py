"""Sweeps load in the devkit, and num_lidar_pts counts their points."""
import numpy as np
from pyquaternion import Quaternion


def test_num_lidar_pts_counts_points_in_boxes(nusc):
    from nuscenes.utils.data_classes import LidarPointCloud
    from nuscenes.utils.geometry_utils import points_in_box
    counts = []
    for sample in nusc.sample:
        lidar = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
        cloud = LidarPointCloud.from_file(
            nusc.get_sample_data_path(lidar['token']))
        assert cloud.points.shape[0] == 4 and cloud.nbr_points() > 1000
        raw = np.fromfile(nusc.get_sample_data_path(lidar['token']),
                          dtype=np.float32).reshape(-1, 5)
        assert set(np.unique(raw[:, 4])) <= set(range(32))  # ring ids
        cs = nusc.get('calibrated_sensor', lidar['calibrated_sensor_token'])
        pose = nusc.get('ego_pose', lidar['ego_pose_token'])
        cloud.rotate(Quaternion(cs['rotation']).rotation_matrix)
        cloud.translate(np.array(cs['translation']))
        cloud.rotate(Quaternion(pose['rotation']).rotation_matrix)
        cloud.translate(np.array(pose['translation']))
        for token in sample['anns']:
            ann = nusc.get('sample_annotation', token)
            inside = points_in_box(nusc.get_box(token), cloud.points[:3])
            assert inside.sum() == ann['num_lidar_pts'], ann['category_name']
            counts.append(ann['num_lidar_pts'])
    counts = np.array(counts)
    assert (counts == 0).sum() >= 1  # exercises the devkit's filtering
    assert (counts > 0).mean() > 0.9
