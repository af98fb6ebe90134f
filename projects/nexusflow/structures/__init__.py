"""nuScenes facts shared by the runtime, converters, evaluation and the
synthetic set: class and sensor names, the ``log.location`` lookup,
quaternion / rigid-transform helpers and BEVFormer's CAN-bus vector. Leaf
modules: they import nothing from the rest of the package, so every part of
it can import them."""
from .can_bus import (CAN_BUS_DIMS, can_bus_delta, can_bus_from_messages,
                      can_bus_vector)
from .nuscenes_meta import (CAMERAS, DETECTION_CLASSES, MAP_CLASSES, TABLES,
                            TRACKING_CLASSES)
from .nuscenes_tables import LocationIndex
from .poses import (ego_velocity, matrix_to_quaternion, quaternion_multiply,
                    rigid_inverse, transform_matrix, yaw_quaternion,
                    yaw_quaternions)

__all__ = [
    'CAMERAS', 'CAN_BUS_DIMS', 'DETECTION_CLASSES', 'LocationIndex',
    'MAP_CLASSES', 'TABLES', 'TRACKING_CLASSES', 'can_bus_delta',
    'can_bus_from_messages', 'can_bus_vector', 'ego_velocity',
    'matrix_to_quaternion', 'quaternion_multiply', 'rigid_inverse',
    'transform_matrix', 'yaw_quaternion', 'yaw_quaternions'
]
