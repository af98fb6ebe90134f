# centerpoint_pillar_domainsplit_hook.py on the synthetic nuScenes set, for a
# few CPU iterations (see centerpoint_pillar_tiny.py for the data).
_base_ = ['./centerpoint_pillar_tiny.py',
          '../_base_/nexusflow/centerpoint_class_groups.py']

_surrogate = dict(
    aggregator=dict(type='MLPAggregator', in_channels=64, out_dim=16),
    flow=dict(type='RealNVPFlow', num_layers=6))
nexusflow_surrogates = dict(vehicle=_surrogate, vru=_surrogate,
                            barrier=_surrogate)
# Both stages within four iterations: alignment from iteration 1 on.
nexusflow_schedule = dict(align_weight=0.1, begin_iter=1, warmup_iters=2)

train_dataloader = dict(dataset=dict(dataset=dict(
    _delete_=True, type='NuScenesDomainSplitDataset',
    dataset=_base_.train_dataloader.dataset.dataset, rules=_base_.domain_rules,
    tasks=_base_.nexusflow_tasks)))

custom_hooks = [
    dict(type='NexusFlowHook', taps=_base_.nexusflow_taps,
         surrogates=nexusflow_surrogates,
         alignment=dict(type='CentroidAlignmentLoss'),
         task_losses=_base_.nexusflow_task_losses, **nexusflow_schedule)
]
