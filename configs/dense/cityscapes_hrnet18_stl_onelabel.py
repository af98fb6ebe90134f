# Single-task learning: one HRNet-18 per task, Cityscapes onelabel (the
# Delta_m reference of the other cityscapes_hrnet18_* runs).
_base_ = ['./cityscapes_hrnet18_mtl_onelabel.py', '../_base_/methods/dense.py']
model = _base_.stl_model
