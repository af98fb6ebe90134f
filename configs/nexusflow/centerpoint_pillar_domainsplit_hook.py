# NexusFlow added to mmdet3d's stock CenterPoint pillar config by a hook: the
# model config is inherited unchanged; only the dataset wrapper (domain-split
# supervision) and `custom_hooks` are added.
# The tasks (CenterHead's class groups) are in
# ../_base_/nexusflow/centerpoint_class_groups.py, the domain-split dataset
# and the taps, alignment and task losses (shared with the wrapper) in
# ../_base_/nexusflow/centerpoint_attach.py.
_base_ = ['mmdet3d::centerpoint/centerpoint_pillar02_second_secfpn_head-'
          'circlenms_8xb4-cyclic-20e_nus-3d.py',
          '../_base_/nexusflow/centerpoint_attach.py']
custom_imports = dict(imports=['nexusflow'], allow_failed_imports=False)

_surrogate = dict(
    aggregator=dict(type='MLPAggregator', in_channels=64, out_dim=64),
    flow=dict(type='RealNVPFlow', num_layers=6))
nexusflow_surrogates = dict(vehicle=_surrogate, vru=_surrogate,
                            barrier=_surrogate)
# Two-stage training: task losses only for the first 10 of 20 epochs, then
# alignment with lambda warmed up over 500 iterations.
nexusflow_schedule = dict(align_weight=0.1, begin_epoch=10,
                          warmup_iters=500)

# The split wrapper sits inside CBGSDataset, so that class-balanced sampling
# sees the stripped labels.
train_dataloader = dict(dataset=dict(dataset=dict(
    _base_.nexusflow_domain_split, _delete_=True,
    dataset=_base_.train_dataloader.dataset.dataset)))
custom_hooks = [dict(type='NexusFlowHook', surrogates=nexusflow_surrogates,
                     **_base_.nexusflow_attach, **nexusflow_schedule)]
default_hooks = dict(sync_buffers=_base_.nexusflow_sync_buffers)
