"""Camera images match their intrinsics, and objects project into them."""
import numpy as np


def test_cameras_match_their_intrinsics(nusc):
    import cv2
    sample = nusc.sample[0]
    for channel in ('CAM_FRONT', 'CAM_BACK_LEFT'):
        record = nusc.get('sample_data', sample['data'][channel])
        img = cv2.imread(nusc.get_sample_data_path(record['token']))
        assert img.shape == (record['height'], record['width'], 3) == (36, 64,
                                                                       3)
        intrinsic = np.array(nusc.get(
            'calibrated_sensor',
            record['calibrated_sensor_token'])['camera_intrinsic'])
        assert intrinsic[0, 2] == 32 and intrinsic[1, 2] == 18
    # A box straight ahead projects inside the front image.
    _, boxes, intrinsic = nusc.get_sample_data(
        sample['data']['CAM_FRONT'])
    from nuscenes.utils.geometry_utils import view_points
    centres = np.array([b.center for b in boxes if b.center[2] > 1]).T
    uv = view_points(centres, intrinsic, normalize=True)[:2]
    assert ((uv[0] >= 0) & (uv[0] < 64) & (uv[1] >= 0) & (uv[1] < 36)).any()
