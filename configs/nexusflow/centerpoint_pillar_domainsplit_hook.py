# NexusFlow added to mmdet3d's stock CenterPoint pillar config by a hook: the
# model config is inherited unchanged; only the dataset wrapper (domain-split
# supervision) and `custom_hooks` are added.
#
# Tasks are CenterHead's class-group branches (task_heads 0-5: car |
# truck, construction_vehicle | bus, trailer | barrier | motorcycle, bicycle
# | pedestrian, traffic_cone), joined into three NexusFlow tasks:
#   vehicle  (heads 0-2) labeled in Boston only,
#   vru      (heads 4-5) labeled in Singapore only,
#   barrier  (head 3)    labeled everywhere.
# Each surrogate taps the first conv of one branch's heatmap head.
_base_ = ['mmdet3d::centerpoint/centerpoint_pillar02_second_secfpn_head-'
          'circlenms_8xb4-cyclic-20e_nus-3d.py']
custom_imports = dict(imports=['nexusflow'], allow_failed_imports=False)

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
# CenterHead names its losses task<i>.loss_heatmap / task<i>.loss_bbox.
nexusflow_task_losses = dict(vehicle=[r'task[0-2]\.'], vru=[r'task[45]\.'],
                             barrier=[r'task3\.'])
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
    _delete_=True, type='NuScenesDomainSplitDataset',
    dataset=_base_.train_dataloader.dataset.dataset, rules=domain_rules,
    tasks=nexusflow_tasks)))

custom_hooks = [
    dict(type='NexusFlowHook', taps=nexusflow_taps,
         surrogates=nexusflow_surrogates,
         alignment=dict(type='CentroidAlignmentLoss'),
         task_losses=nexusflow_task_losses, **nexusflow_schedule)
]
