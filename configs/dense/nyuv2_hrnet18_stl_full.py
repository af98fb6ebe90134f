# Single-task learning: one HRNet-18 per task (the Delta_m reference).
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/dense_hrnet18.py',
    '../_base_/schedules/dense_adam_200e.py', '../_base_/default_runtime.py'
]
default_hooks = dict(logger=dict(interval=50))
model = dict(separate=True)
