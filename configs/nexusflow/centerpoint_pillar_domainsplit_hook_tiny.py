# centerpoint_pillar_domainsplit_hook.py on the synthetic nuScenes set, for a
# few CPU iterations (see centerpoint_pillar_tiny.py for the data).
_base_ = ['./centerpoint_pillar_tiny.py']

nexusflow_tasks = dict(
    vehicle=dict(classes=['car', 'truck', 'construction_vehicle', 'bus',
                          'trailer']),
    vru=dict(classes=['motorcycle', 'bicycle', 'pedestrian',
                      'traffic_cone']),
    barrier=dict(classes=['barrier']))
domain_rules = dict(vehicle=['boston-seaport'], vru=['singapore-*'],
                    barrier=None)
nexusflow_taps = dict(vehicle='pts_bbox_head.task_heads.0.heatmap.0',
                      vru='pts_bbox_head.task_heads.5.heatmap.0',
                      barrier='pts_bbox_head.task_heads.3.heatmap.0')
nexusflow_task_losses = dict(vehicle=[r'task[0-2]\.'], vru=[r'task[45]\.'],
                             barrier=[r'task3\.'])
_surrogate = dict(
    aggregator=dict(type='MLPAggregator', in_channels=64, out_dim=16),
    flow=dict(type='RealNVPFlow', num_layers=6))
nexusflow_surrogates = dict(vehicle=_surrogate, vru=_surrogate,
                            barrier=_surrogate)
# Both stages within four iterations: alignment from iteration 1 on.
nexusflow_schedule = dict(align_weight=0.1, begin_iter=1, warmup_iters=2)

train_dataloader = dict(dataset=dict(dataset=dict(
    _delete_=True, type='NuScenesDomainSplitDataset',
    dataset=_base_.train_dataloader.dataset.dataset, rules=domain_rules,
    tasks=nexusflow_tasks)))

custom_hooks = [
    dict(type='NexusFlowHook', taps=nexusflow_taps,
         surrogates=nexusflow_surrogates,
         alignment=dict(type='CentroidAlignmentLoss'),
         task_losses=nexusflow_task_losses, **nexusflow_schedule)
]
