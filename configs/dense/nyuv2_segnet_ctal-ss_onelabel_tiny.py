# CPU smoke twin of nyuv2_segnet_ctal-ss_onelabel.py on the synthetic set of
#   python tools/create_synthetic_nyuv2.py --out data/synthetic_nyuv2_tiny \
#       --train 8 --val 4 --size 32 48
# (onelabel drawn with the official statistics for its 8 images); affinities
# at 8x12 (1/4 of 32x48); 12 Adam iterations, then one validation.
_base_ = './nyuv2_segnet_ctal-ss_full.py'
data_root = 'data/synthetic_nyuv2_tiny/'
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, label_setting='onelabel'))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(backbone=dict(channels=(8, 16, 16)),
             refiner=dict(size=(8, 12), chunk_size=32))
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = []
train_cfg = dict(max_epochs=6, val_interval=6)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=6, max_keep_ckpts=1))
log_processor = dict(window_size=1)
