# Single-task learning: one SegNet-MTAN per task (the Delta_m reference).
_base_ = ['./cityscapes_segnet_mtl_full.py', '../_base_/methods/dense.py']
model = _base_.stl_model
