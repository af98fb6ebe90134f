# UniAD stage 1 (track + map): AdamW 2e-4 with the image backbone at 0.1x,
# 500 linear warm-up iterations, cosine decay over 6 epochs, gradient
# clipping at 35. The learning rate is for 8 GPUs x 1 clip.
lr = 2e-4
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(img_backbone=dict(lr_mult=0.1))),
    clip_grad=dict(max_norm=35, norm_type=2))

max_epochs = 6
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0,
         end=500),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=lr * 1e-3,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=8)

# Heads without labels in a batch still return exact zeros, but some
# parameters (e.g. the track query update when nothing is tracked) take no
# part in a step; UniAD trains with this flag too.
find_unused_parameters = True
