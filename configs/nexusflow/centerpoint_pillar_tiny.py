# mmdet3d's stock CenterPoint pillar config, unchanged, pointed at the
# synthetic nuScenes set and shrunk to a few CPU iterations. Create the data
# with:
#   python tools/create_synthetic_nuscenes.py --out data/synthetic_nuscenes
#   python tools/create_data.py nuscenes --root data/synthetic_nuscenes \
#       --version v1.0-mini --out data/synthetic_nuscenes
# The environment variable SYNTHETIC_NUSCENES moves the data root.
_base_ = ['mmdet3d::centerpoint/centerpoint_pillar02_second_secfpn_head-'
          'circlenms_8xb4-cyclic-20e_nus-3d.py']
custom_imports = dict(imports=['nexusflow'], allow_failed_imports=False)

data_root = '{{$SYNTHETIC_NUSCENES:data/synthetic_nuscenes}}/'
train_pipeline = _base_.train_pipeline
train_pipeline[3]['db_sampler'].update(
    data_root=data_root, info_path=data_root + 'nuscenes_dbinfos_train.pkl')

# 0.8 m pillars: a 128x128 BEV grid instead of 512x512, so a CPU step takes
# seconds; every other model setting is the stock one.
voxel_size = [0.8, 0.8, 8]
model = dict(
    data_preprocessor=dict(voxel_layer=dict(voxel_size=voxel_size)),
    pts_voxel_encoder=dict(voxel_size=voxel_size),
    pts_middle_encoder=dict(output_shape=(128, 128)),
    pts_bbox_head=dict(bbox_coder=dict(voxel_size=voxel_size[:2])),
    train_cfg=dict(pts=dict(grid_size=[128, 128, 1], voxel_size=voxel_size)),
    test_cfg=dict(pts=dict(voxel_size=voxel_size[:2])))

# The stock NuScenesDataset metainfo says v1.0-trainval, which the metric
# uses to pick the devkit split.
metainfo = dict(classes=_base_.class_names, version='v1.0-mini')
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(data_root=data_root, pipeline=train_pipeline,
                              metainfo=metainfo)))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(data_root=data_root,
                     ann_file=data_root + 'nuscenes_infos_val.pkl')
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=4,
                 val_interval=4)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=4))
log_processor = dict(by_epoch=False)
