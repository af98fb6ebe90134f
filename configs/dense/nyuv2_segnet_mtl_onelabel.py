_base_ = ['./nyuv2_segnet_mtl_full.py',
          '../_base_/labels/nyuv2_onelabel.py']
train_dataloader = dict(dataset=_base_.nyuv2_onelabel)
# Delta_m against JTR's published SegNet STL results.
val_evaluator = dict(reference=_base_.stl_reference['onelabel'])
test_evaluator = val_evaluator
