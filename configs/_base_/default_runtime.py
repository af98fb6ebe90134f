# Runtime shared by the NexusFlow configs: mmdet3d scope, the nexusflow
# modules registered, checkpoints every epoch, no visualisation hook (the
# track + map samples have no stock visualiser).
default_scope = 'mmdet3d'
custom_imports = dict(imports=['nexusflow'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # N-process validation and checkpoints see the same BN statistics.
    sync_buffers=dict(type='SyncTrainBuffersHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)

# Training curves: mmengine's TensorboardVisBackend joins the local json
# logs when tensorboard is installed (pip install -e ".[tensorboard]"); see
# <work_dir>/<timestamp>/vis_data with `tensorboard --logdir work_dirs`.
# (__import__, not an import statement: mmengine would take a config with
# imports for a lazy-import one.)
visualizer = dict(
    type='Visualizer',
    vis_backends=[dict(type='LocalVisBackend')] +
    ([dict(type='TensorboardVisBackend')]
     if __import__('importlib.util').util.find_spec('tensorboard') else []))
log_level = 'INFO'
load_from = None
resume = False
