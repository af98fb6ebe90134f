# Multi-task learning on the labeled tasks only (supervised MTL baseline).
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/dense_segnet_mtan.py',
    '../_base_/schedules/dense_adam_200e.py', '../_base_/default_runtime.py'
]
