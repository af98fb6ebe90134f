"""A tiny synthetic nuScenes set, written in the real devkit format.

:func:`create_synthetic_nuscenes` writes the 13 json tables, the map
expansion, LIDAR_TOP key frames and sweeps (``.pcd.bin``, float32 ``N x 5``)
and six camera jpgs, so that ``nuscenes.NuScenes``, ``NuScenesMap``,
mmdet3d's converters and the devkit's evaluation all run on it unchanged.

Every scene is an ego vehicle driving down a straight two-way road (on the
right in Boston, on the left in Singapore) among moving and static objects
(:mod:`.agents`). Point clouds are ray-cast rings on the ground plus points
on the object surfaces (:mod:`.lidar`); ``num_lidar_pts`` counts the
generated points inside each box. The cameras show the road markings and
the projected objects (:mod:`.cameras`).

Modules: :mod:`.plan` (scene names, locations, roads), :mod:`.map_expansion`
(road geometry and map layers), :mod:`.geometry`, :mod:`.agents`,
:mod:`.lidar`, :mod:`.cameras`, :mod:`.tables` (records), :mod:`.scene`
(one scene's simulation) and :mod:`.create` (the entry point).
"""
from .cameras import FULL_RESOLUTION
from .create import VERSIONS, create_synthetic_nuscenes
from .plan import plan_scenes

__all__ = [
    'FULL_RESOLUTION', 'VERSIONS', 'create_synthetic_nuscenes', 'plan_scenes'
]
