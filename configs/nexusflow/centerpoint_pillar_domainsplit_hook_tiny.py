# CPU smoke twin of centerpoint_pillar_domainsplit_hook.py: the same
# attachment on centerpoint_pillar_tiny.py (the synthetic nuScenes set, a few
# CPU iterations), with 16-wide surrogates and both stages in 4 iterations.
_base_ = ['./centerpoint_pillar_tiny.py',
          '../_base_/nexusflow/centerpoint_attach.py']

_surrogate = dict(
    aggregator=dict(type='MLPAggregator', in_channels=64, out_dim=16),
    flow=dict(type='RealNVPFlow', num_layers=6))
nexusflow_surrogates = dict(vehicle=_surrogate, vru=_surrogate,
                            barrier=_surrogate)
# Both stages within four iterations: alignment from iteration 1 on.
nexusflow_schedule = dict(align_weight=0.1, begin_iter=1, warmup_iters=2)

train_dataloader = dict(dataset=dict(dataset=dict(
    _base_.nexusflow_domain_split, _delete_=True,
    dataset=_base_.train_dataloader.dataset.dataset)))
custom_hooks = [dict(type='NexusFlowHook', surrogates=nexusflow_surrogates,
                     **_base_.nexusflow_attach, **nexusflow_schedule)]
default_hooks = dict(sync_buffers=_base_.nexusflow_sync_buffers)
