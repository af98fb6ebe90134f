"""Runtime data: the nuScenes track + map dataset, the domain-split
wrapper, transforms and samplers, and the dense NYUv2 / Cityscapes sets."""
from . import dense  # noqa: F401,E402  (registers NYUv2 / Cityscapes)
from .camera_augment import MultiViewGridMask, MultiViewPhotoMetricDistortion
from .domain_split_dataset import NuScenesDomainSplitDataset
from .domain_split_rules import DEFAULT_TASKS, check_rules, normalize_tasks
from .nuscenes_trackmap_dataset import NuScenesTrackMapDataset, stack_frames
from .scene_sampler import SceneContiguousSampler, scene_runs
from .transforms import (LoadTrackMapAnnotations, PackTrackMapInputs,
                         TrackObjectRangeFilter)

__all__ = [
    'DEFAULT_TASKS', 'LoadTrackMapAnnotations', 'MultiViewGridMask',
    'MultiViewPhotoMetricDistortion', 'NuScenesDomainSplitDataset',
    'NuScenesTrackMapDataset', 'PackTrackMapInputs', 'SceneContiguousSampler',
    'TrackObjectRangeFilter', 'check_rules', 'normalize_tasks', 'scene_runs',
    'stack_frames'
]
