# Single-task learning: one HRNet-18 per task (the Delta_m reference).
_base_ = ['./nyuv2_hrnet18_mtl_full.py', '../_base_/methods/dense.py']
model = _base_.stl_model
