"""nuScenes data for NexusFlow: synthetic data in the devkit format, info
converters, the track + map dataset and the domain-split wrapper."""
from .domain_split_dataset import (DEFAULT_TASKS, NuScenesDomainSplitDataset,
                                   check_rules, normalize_tasks)
from .map_raster import MAP_CLASSES, MapRasterizer, pack_masks, unpack_masks
from .nuscenes_infos import (check_nuscenes_root, create_stock_infos,
                             load_converter)
from .nuscenes_trackmap_dataset import NuScenesTrackMapDataset, stack_frames
from .scene_sampler import SceneContiguousSampler, scene_runs
from .scene_splits import location_scene_splits, update_splits_json
from .synthetic_nuscenes import create_synthetic_nuscenes
from .trackmap_infos import (TRACKING_CLASSES, create_trackmap_infos,
                             devkit_box_to_lidar, lidar_box_to_devkit)
from .transforms import LoadTrackMapAnnotations, PackTrackMapInputs

from . import dense  # noqa: F401,E402  (registers NYUv2 / Cityscapes)

__all__ = [
    'DEFAULT_TASKS', 'LoadTrackMapAnnotations', 'MAP_CLASSES',
    'MapRasterizer', 'NuScenesDomainSplitDataset', 'NuScenesTrackMapDataset',
    'PackTrackMapInputs', 'SceneContiguousSampler', 'TRACKING_CLASSES', 'check_nuscenes_root',
    'check_rules', 'create_stock_infos', 'create_synthetic_nuscenes',
    'create_trackmap_infos', 'devkit_box_to_lidar', 'lidar_box_to_devkit',
    'load_converter', 'location_scene_splits', 'normalize_tasks',
    'pack_masks', 'scene_runs', 'stack_frames', 'unpack_masks', 'update_splits_json'
]
