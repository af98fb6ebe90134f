from .dense_metric import DenseMTLMetric, delta_m
from .domains import DEFAULT_DOMAINS, check_domains, match_domains
from .map_iou_metric import (IOU_NAMES, MAP_CLASSES, BEVMapIoUMetric,
                             iou_from_counts, map_iou_counts)
from .nuscenes_boxes import global_boxes_to_lidar, lidar_boxes_to_global
from .nuscenes_splits import (SceneInfo, load_scenes, overlay_root,
                              resolve_split)
from .tracking_metric import (SUMMARY_KEYS, TRACKING_CLASSES,
                              NuScenesTrackingMetric)

__all__ = [
    'BEVMapIoUMetric', 'DEFAULT_DOMAINS', 'DenseMTLMetric', 'delta_m',
    'IOU_NAMES', 'MAP_CLASSES',
    'NuScenesTrackingMetric', 'SUMMARY_KEYS', 'SceneInfo', 'TRACKING_CLASSES',
    'check_domains', 'global_boxes_to_lidar', 'iou_from_counts',
    'lidar_boxes_to_global', 'load_scenes', 'map_iou_counts', 'match_domains',
    'overlay_root', 'resolve_split'
]
