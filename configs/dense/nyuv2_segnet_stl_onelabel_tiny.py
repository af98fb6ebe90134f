# CPU smoke twin of nyuv2_segnet_stl_onelabel.py: the MTL twin
# nyuv2_segnet_mtl_onelabel_tiny.py with one network per task.
_base_ = ['./nyuv2_segnet_mtl_onelabel_tiny.py',
          '../_base_/methods/dense.py']
model = _base_.stl_model
