# Single-task learning: one DeepLabV3+ ResNet-50 per task (the Delta_m
# reference).
_base_ = ['./nyuv2_deeplabv3plus_mtl_full.py', '../_base_/methods/dense.py']
model = _base_.stl_model
