"""Dataset conversion behind ``tools/create_data.py``: mmdet3d's stock
nuScenes infos, the track + map infos with rasterized map GT, and the
per-city validation splits; official BEVFormer / UniAD checkpoints behind
``tools/convert_checkpoint.py``."""
from .bevformer_keys import (bevformer_encoder_key,
                             convert_bevformer_encoder_keys)
from .checkpoint import convert_checkpoint_file, convert_official_state_dict
from .map_raster import MapRasterizer
from .nuscenes_infos import (check_nuscenes_root, create_stock_infos,
                             load_converter, load_json)
from .scene_splits import location_scene_splits, update_splits_json
from .trackmap_infos import (create_trackmap_infos, devkit_box_to_lidar,
                             lidar_box_to_devkit)

__all__ = [
    'MapRasterizer', 'bevformer_encoder_key', 'check_nuscenes_root',
    'convert_bevformer_encoder_keys', 'convert_checkpoint_file',
    'convert_official_state_dict', 'create_stock_infos',
    'create_trackmap_infos', 'devkit_box_to_lidar', 'lidar_box_to_devkit',
    'load_converter', 'load_json', 'location_scene_splits',
    'update_splits_json'
]
