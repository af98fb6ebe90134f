# mmdet3d's stock CenterPoint pillar config, unchanged, pointed at the synthetic
# nuScenes set and shrunk to a few CPU iterations. Create the data with:
#   python tools/create_synthetic_nuscenes.py --out data/synthetic_nuscenes
#   python tools/create_data.py nuscenes --root data/synthetic_nuscenes \
#       --version v1.0-mini --out data/synthetic_nuscenes
_base_ = ['mmdet3d::centerpoint/centerpoint_pillar02_second_secfpn_head-'
          'circlenms_8xb4-cyclic-20e_nus-3d.py']
custom_imports = dict(imports=['nexusflow'], allow_failed_imports=False)

data_root = 'data/synthetic_nuscenes/'
train_pipeline = _base_.train_pipeline
train_pipeline[3]['db_sampler'].update(
    data_root=data_root, info_path=data_root + 'nuscenes_dbinfos_train.pkl')

train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(dataset=dict(data_root=data_root, pipeline=train_pipeline)))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(data_root=data_root,
                     ann_file=data_root + 'nuscenes_infos_val.pkl')
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=4,
                 val_interval=4)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(by_epoch=False, interval=4))
log_processor = dict(by_epoch=False)
