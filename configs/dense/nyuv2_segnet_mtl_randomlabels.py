_base_ = ['./nyuv2_segnet_mtl_full.py',
          '../_base_/labels/nyuv2_randomlabels.py']
train_dataloader = dict(dataset=_base_.nyuv2_randomlabels)
# Delta_m against JTR's published SegNet STL results.
val_evaluator = dict(reference=_base_.stl_reference['randomlabels'])
test_evaluator = val_evaluator
