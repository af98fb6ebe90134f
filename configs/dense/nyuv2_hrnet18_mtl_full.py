# Multi-task learning on the labeled tasks only, HRNet-18 shared encoder.
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/dense_hrnet18.py',
    '../_base_/schedules/dense_adam_200e.py', '../_base_/default_runtime.py'
]
