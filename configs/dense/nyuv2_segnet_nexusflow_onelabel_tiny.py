# CPU smoke twin of nyuv2_segnet_nexusflow_onelabel.py: the MTL twin
# nyuv2_segnet_mtl_onelabel_tiny.py with the NexusFlow neck, its surrogates at
# the twin's sizes (../_base_/nexusflow/dense_surrogates_tiny.py).
_base_ = ['./nyuv2_segnet_mtl_onelabel_tiny.py',
          '../_base_/nexusflow/dense_surrogates_tiny.py']
model = dict(neck=dict(_base_.dense_nexusflow_neck, surrogates={
    task: _base_.dense_surrogate_64ch_tiny for task in _base_.tasks}))
