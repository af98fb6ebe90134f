"""The shared nuScenes names match the devkit, and every user shares them."""
from nexusflow.structures import (CAMERAS, DETECTION_CLASSES, MAP_CLASSES,
                                  TABLES, TRACKING_CLASSES)


def test_tables_and_cameras_are_the_devkits(synthetic_nuscenes):
    from nuscenes import NuScenes
    nusc = NuScenes('v1.0-mini', synthetic_nuscenes, verbose=False)
    assert list(TABLES) == nusc.table_names
    assert set(nusc.sample[0]['data']) == {'LIDAR_TOP', *CAMERAS}


def test_tracking_classes_are_the_devkits():
    from nuscenes.eval.tracking.utils import category_to_tracking_name

    from nexusflow.testing.synthetic_nuscenes.tables import CATEGORIES
    names = {category_to_tracking_name(c) for c in CATEGORIES} - {None}
    assert names == set(TRACKING_CLASSES) and len(TRACKING_CLASSES) == 7


def test_detection_classes_are_uniads_and_hold_the_tracking_ones():
    from nuscenes.eval.detection.utils import category_to_detection_name

    from nexusflow.testing.synthetic_nuscenes.tables import CATEGORIES

    # UniAD's / BEVFormer's class_names order (the official class rows).
    assert DETECTION_CLASSES == (
        'car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier',
        'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone')
    names = {category_to_detection_name(c) for c in CATEGORIES} - {None}
    assert names == set(DETECTION_CLASSES)
    assert set(TRACKING_CLASSES) < set(DETECTION_CLASSES)


def test_one_definition_for_every_user():
    from nexusflow import evaluation
    from nexusflow.converters import map_raster, nuscenes_infos
    from nexusflow.datasets import NuScenesTrackMapDataset
    assert evaluation.TRACKING_CLASSES is TRACKING_CLASSES
    assert evaluation.MAP_CLASSES is MAP_CLASSES is map_raster.MAP_CLASSES
    assert nuscenes_infos.TABLES is TABLES
    assert NuScenesTrackMapDataset.METAINFO == dict(
        classes=DETECTION_CLASSES, map_classes=MAP_CLASSES)
