"""UniAD stage 1 (track + map) on mmengine."""
from .bev_alignment import bev_cell_centers, relative_pose, warp_bev
from .bev_encoder import UniADBEVEncoder
from .bevformer_encoder import BEVFormerEncoder, BEVFormerEncoderLayer
from .bevformer_motion import bev_shift, rotate_bev
from .bevformer_points import (bev_reference_points, pillar_points,
                               project_pillars)
from .bevformer_spatial_attention import (BEVFormerSpatialCrossAttention,
                                          PillarSamplingAttention)
from .bevformer_temporal_attention import BEVFormerTemporalSelfAttention
from .box_coder import Box3DL1Cost, decode_boxes, encode_boxes
from .can_bus import CanBusMLP
from .data_preprocessor import TrackMapDataPreprocessor
from .map_head import BEVMapHead
from .pillar_attention import PillarDeformableAttention
from .query_update import TrackQueryUpdate
from .spatial_cross_attention import SpatialCrossAttention
from .task_rasters import TrackMapRasters, splat_centers
from .temporal_self_attention import TemporalSelfAttention
from .track_head import UniADTrackHead
from .tracker import RuntimeTracker
from .uniad_track_decoder import TrackBEVDeformableAttention, UniADTrackDecoder
from .uniad_trackmap import UniADTrackMap

__all__ = [
    'BEVFormerEncoder', 'BEVFormerEncoderLayer',
    'BEVFormerSpatialCrossAttention', 'BEVFormerTemporalSelfAttention',
    'CanBusMLP', 'PillarSamplingAttention', 'bev_reference_points',
    'bev_shift', 'pillar_points', 'project_pillars', 'rotate_bev',
    'BEVMapHead', 'Box3DL1Cost', 'PillarDeformableAttention',
    'RuntimeTracker', 'SpatialCrossAttention', 'TemporalSelfAttention',
    'TrackBEVDeformableAttention', 'TrackMapDataPreprocessor',
    'TrackMapRasters', 'TrackQueryUpdate', 'UniADBEVEncoder',
    'UniADTrackDecoder', 'UniADTrackHead', 'UniADTrackMap', 'bev_cell_centers',
    'decode_boxes', 'encode_boxes', 'relative_pose', 'splat_centers',
    'warp_bev'
]
