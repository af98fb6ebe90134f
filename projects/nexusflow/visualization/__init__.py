"""Pictures of what the track + map model does: per-frame BEV and camera
panels (``TrackMapVisualizationHook`` at test time, ``tools/visualize.py``
from saved predictions), a GIF per scene, and the latent scatter plot."""
from .bev_panel import BEVCanvas, box_corners_bev, forward_axis, render_bev
from .camera_panel import project_boxes, render_cameras
from .frame import FrameData, frame_from_sample
from .gif import write_gif
from .hook import TrackMapVisualizationHook, enable_show_dir
from .latent_scatter import pca_2d, plot_latent_scatter, scatter_runs
from .palette import track_color
from .predictions_io import (MAP_DIR, TRACKING_JSON, load_map_prediction,
                             load_tracking_results, save_map_prediction,
                             tracks_in_lidar)
from .renderer import TrackMapRenderer
from .scene_writer import SceneWriter
from .trails import TrackTrails

__all__ = [
    'BEVCanvas', 'FrameData', 'MAP_DIR', 'SceneWriter', 'TRACKING_JSON',
    'TrackMapRenderer', 'TrackMapVisualizationHook', 'TrackTrails',
    'box_corners_bev', 'enable_show_dir', 'forward_axis', 'frame_from_sample',
    'load_map_prediction', 'load_tracking_results', 'pca_2d',
    'plot_latent_scatter', 'project_boxes', 'render_bev', 'render_cameras',
    'save_map_prediction', 'scatter_runs', 'track_color', 'tracks_in_lidar',
    'write_gif'
]
