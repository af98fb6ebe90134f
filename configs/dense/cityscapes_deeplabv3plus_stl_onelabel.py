# Single-task learning: one DeepLabV3+ ResNet-50 per task, Cityscapes onelabel
# (the Delta_m reference of the other cityscapes_deeplabv3plus_* runs).
_base_ = ['./cityscapes_deeplabv3plus_mtl_onelabel.py',
          '../_base_/methods/dense.py']
model = _base_.stl_model
