# CPU smoke twin of cityscapes_segnet_jtr_onelabel.py: the MTL twin
# cityscapes_segnet_mtl_onelabel_tiny.py with JTR's regularizer at the twin's
# widths and JTR's augmentations.
_base_ = ['./cityscapes_segnet_mtl_onelabel_tiny.py',
          '../_base_/methods/dense.py']
model = dict(regularizer=dict(_base_.jtr_model.regularizer,
                              channels=(8, 16, 16)))
train_dataloader = dict(dataset=dict(pipeline=_base_.jtr_train_pipeline))
