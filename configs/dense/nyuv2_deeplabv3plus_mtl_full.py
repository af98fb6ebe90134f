# Multi-task learning on the labeled tasks only, DeepLabV3+ ResNet-50 shared
# encoder.
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/dense_deeplabv3plus.py',
    '../_base_/schedules/dense_adam_200e.py', '../_base_/default_runtime.py'
]
