"""UniAD stage 1 (track + map) on mmengine."""
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
from .deform_conv import SampledDCNv2, sampled_deform_conv2d
from .ego_motion import relative_pose
from .map_head import BEVMapHead
from .panoptic_map_head import UniADPanopticMapHead
from .panoptic_transformer import SegDeformableAttention
from .query_update import TrackQueryUpdate
from .task_rasters import TrackMapRasters, splat_centers
from .track_head import UniADTrackHead
from .tracker import RuntimeTracker
from .uniad_track_decoder import TrackBEVDeformableAttention, UniADTrackDecoder
from .uniad_trackmap import UniADTrackMap

__all__ = [
    'BEVFormerEncoder', 'BEVFormerEncoderLayer',
    'BEVFormerSpatialCrossAttention', 'BEVFormerTemporalSelfAttention',
    'BEVMapHead', 'Box3DL1Cost', 'CanBusMLP', 'PillarSamplingAttention',
    'RuntimeTracker', 'SampledDCNv2', 'TrackBEVDeformableAttention',
    'SegDeformableAttention', 'TrackMapDataPreprocessor', 'TrackMapRasters',
    'TrackQueryUpdate', 'UniADPanopticMapHead', 'UniADTrackDecoder',
    'UniADTrackHead', 'UniADTrackMap',
    'bev_reference_points', 'bev_shift', 'decode_boxes', 'encode_boxes',
    'pillar_points', 'project_pillars', 'relative_pose', 'rotate_bev',
    'sampled_deform_conv2d', 'splat_centers'
]
