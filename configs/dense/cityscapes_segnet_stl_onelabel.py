_base_ = ['./cityscapes_segnet_stl_full.py',
          '../_base_/labels/cityscapes_onelabel.py']
train_dataloader = dict(dataset=_base_.cityscapes_onelabel)
# Delta_m against JTR's published SegNet STL results.
val_evaluator = dict(reference=_base_.stl_reference['onelabel'])
test_evaluator = val_evaluator
