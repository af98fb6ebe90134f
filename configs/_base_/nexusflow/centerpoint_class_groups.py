# NexusFlow tasks for mmdet3d's CenterPoint on nuScenes: CenterHead's
# class-group branches (task_heads 0-5: car | truck, construction_vehicle |
# bus, trailer | barrier | motorcycle, bicycle | pedestrian, traffic_cone)
# joined into three tasks under a domain rule:
#   vehicle  (heads 0-2) labeled in Boston only,
#   vru      (heads 4-5) labeled in Singapore only,
#   barrier  (head 3)    labeled everywhere.
# Each surrogate taps the first conv of one branch's heatmap head.
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
