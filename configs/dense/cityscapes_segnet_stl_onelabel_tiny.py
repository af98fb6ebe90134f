# CPU smoke twin of cityscapes_segnet_stl_onelabel.py: the MTL twin
# cityscapes_segnet_mtl_onelabel_tiny.py with one network per task.
_base_ = ['./cityscapes_segnet_mtl_onelabel_tiny.py',
          '../_base_/methods/dense.py']
model = _base_.stl_model
