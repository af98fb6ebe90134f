"""UniAD stage 1 (track + map) on mmengine."""
from .bev_alignment import bev_cell_centers, relative_pose, warp_bev
from .bev_encoder import UniADBEVEncoder
from .box_coder import Box3DL1Cost, decode_boxes, encode_boxes
from .data_preprocessor import TrackMapDataPreprocessor
from .map_head import BEVMapHead
from .pillar_attention import PillarDeformableAttention
from .query_update import TrackQueryUpdate
from .spatial_cross_attention import SpatialCrossAttention
from .task_rasters import TrackMapRasters, splat_centers
from .temporal_self_attention import TemporalSelfAttention
from .track_head import UniADTrackHead
from .tracker import RuntimeTracker
from .uniad_trackmap import UniADTrackMap

__all__ = [
    'BEVMapHead', 'Box3DL1Cost', 'PillarDeformableAttention',
    'RuntimeTracker', 'SpatialCrossAttention', 'TemporalSelfAttention',
    'TrackMapDataPreprocessor', 'TrackMapRasters', 'TrackQueryUpdate',
    'UniADBEVEncoder', 'UniADTrackHead', 'UniADTrackMap', 'bev_cell_centers',
    'decode_boxes', 'encode_boxes', 'relative_pose', 'splat_centers',
    'warp_bev'
]
