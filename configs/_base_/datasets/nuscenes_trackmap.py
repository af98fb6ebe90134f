# nuScenes track + map: 6 cameras, clips of 5 key frames for training (UniAD
# stage 1), single frames in scene order for testing. Create the infos with
#   python tools/create_data.py nuscenes --root data/nuscenes \
#       --version v1.0-trainval --out data/nuscenes
dataset_type = 'NuScenesTrackMapDataset'
data_root = 'data/nuscenes/'
version = 'v1.0-trainval'
eval_set = 'val'
# UniAD trains the track head on the 10 detection classes; the tracking
# metric scores the 7 tracking classes among them.
class_names = ['car', 'truck', 'construction_vehicle', 'bus', 'trailer',
               'barrier', 'motorcycle', 'bicycle', 'pedestrian',
               'traffic_cone']
metainfo = dict(classes=class_names)
queue_length = 5
input_modality = dict(use_camera=True, use_lidar=False)
backend_args = None

train_pipeline = [
    dict(type='LoadMultiViewImageFromFiles', to_float32=True, num_views=6,
         backend_args=backend_args),
    # UniAD: photometric distortion drawn per camera, GridMask p = 0.7
    # (filled with the preprocessor's mean: 0 after normalisation).
    dict(type='MultiViewPhotoMetricDistortion'),
    dict(type='MultiViewGridMask', prob=0.7, fill=[103.530, 116.280, 123.675]),
    # The map thing instances are the panoptic map head's targets (the
    # dense head reads the class masks only).
    dict(type='LoadTrackMapAnnotations', with_map_instances=True),
    # UniAD trains on the boxes inside the BEV (+-51.2 m), ids kept paired.
    dict(type='TrackObjectRangeFilter',
         point_cloud_range=[-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]),
    dict(type='PackTrackMapInputs')
]
test_pipeline = [
    dict(type='LoadMultiViewImageFromFiles', to_float32=True, num_views=6,
         backend_args=backend_args),
    dict(type='LoadTrackMapAnnotations'),
    dict(type='PackTrackMapInputs')
]

train_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='nuscenes_trackmap_infos_train.pkl',
    pipeline=train_pipeline,
    queue_length=queue_length,
    metainfo=metainfo,
    modality=input_modality,
    test_mode=False,
    backend_args=backend_args)
val_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='nuscenes_trackmap_infos_val.pkl',
    pipeline=test_pipeline,
    metainfo=metainfo,
    modality=input_modality,
    test_mode=True,
    backend_args=backend_args)

train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=train_dataset)
# Tracking needs the frames of a scene in order on one process:
# SceneContiguousSampler gives each GPU whole scenes (DefaultSampler would
# deal frames out round-robin); batch_size 1 keeps the frame order.
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='SceneContiguousSampler'),
    dataset=val_dataset)
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='NuScenesTrackingMetric', data_root=data_root,
         version=version, eval_set=eval_set, classes=class_names),
    dict(type='BEVMapIoUMetric')
]
test_evaluator = val_evaluator
