"""Names fixed by the nuScenes devkit and by this project's info format.

The converters write them into the infos, the datasets and metrics read them
back and the synthetic set generates them, so they live here once; a second
copy could drift and silently reorder labels.
"""

# The 13 json tables of a devkit version folder (``<root>/<version>/``).
TABLES = ('category', 'attribute', 'visibility', 'instance', 'sensor',
          'calibrated_sensor', 'ego_pose', 'log', 'scene', 'sample',
          'sample_data', 'sample_annotation', 'map')
# The six camera channels, in the order of the devkit and of mmdet3d's infos.
CAMERAS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
           'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')
# The devkit's 10 detection classes in UniAD's / BEVFormer's order (their
# ``class_names``, the official heads' class rows);
# ``bbox_label_3d`` in the track + map infos indexes this tuple. UniAD trains
# its track head on all ten.
DETECTION_CLASSES = ('car', 'truck', 'construction_vehicle', 'bus',
                     'trailer', 'barrier', 'motorcycle', 'bicycle',
                     'pedestrian', 'traffic_cone')
# The devkit's 7 tracking classes (what AMOTA scores), a subset of the above.
TRACKING_CLASSES = ('car', 'truck', 'bus', 'trailer', 'motorcycle',
                    'bicycle', 'pedestrian')
# Layers of the rasterized BEV map GT, in channel order (UniAD's classes).
MAP_CLASSES = ('divider', 'ped_crossing', 'contour', 'drivable')
