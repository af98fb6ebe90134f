# NexusFlow on HRNet-18, NYUv2: the surrogates read its 64-wide task features
# (../_base_/nexusflow/dense_surrogates.py).
_base_ = ['./nyuv2_hrnet18_mtl_full.py',
          '../_base_/nexusflow/dense_surrogates.py']
model = dict(neck=dict(
    _base_.dense_nexusflow_neck,
    surrogates={task: _base_.dense_surrogate_64ch for task in _base_.tasks}))
