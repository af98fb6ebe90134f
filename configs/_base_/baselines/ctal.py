# CTAL (WACV 2025): cross-task affinity learning between deep-supervised
# initial predictions and the final heads; f = 3, gamma = 0.05, affinities
# at 1/4 of the input. CTAL-SS refines single-scale features; CTAL-MS
# (multi-scale encoders: HRNet-18) deep-supervises each scale and fuses them
# per task first. The paper's schedule: Adam wd 1e-4, batch 8, cosine
# annealing over the run. Per dataset under one name (mmengine refuses a key
# set by two `_base_` files); a config assigns what it needs, e.g.
#   optim_wrapper = _base_.ctal_nyuv2.optim_wrapper
# 288x384, lr 1e-4, 200 epochs.
ctal_nyuv2 = dict(
    refiner_ss=dict(type='CTALModule', size=(72, 96), kernel_size=3,
                    gamma=0.05, efficient=True, chunk_size=1024),
    refiner_ms=dict(type='CTALMultiScale', channels=64, size=(72, 96),
                    kernel_size=3, gamma=0.05, efficient=True,
                    chunk_size=1024),
    train_dataloader=dict(batch_size=8),
    optim_wrapper=dict(
        optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4)),
    param_scheduler=[
        dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=200,
             T_max=200, eta_min=0.0)
    ])
# 128x256: affinities at 32x64, lr 5e-4, the paper's 75 Cityscapes epochs;
# otherwise as on NYUv2.
ctal_cityscapes = dict(
    refiner_ss=dict(ctal_nyuv2['refiner_ss'], size=(32, 64)),
    refiner_ms=dict(ctal_nyuv2['refiner_ms'], size=(32, 64)),
    train_dataloader=dict(ctal_nyuv2['train_dataloader']),
    optim_wrapper=dict(optimizer=dict(
        ctal_nyuv2['optim_wrapper']['optimizer'], lr=5e-4)),
    param_scheduler=[
        dict(ctal_nyuv2['param_scheduler'][0], end=75, T_max=75)
    ],
    train_cfg=dict(max_epochs=75))
