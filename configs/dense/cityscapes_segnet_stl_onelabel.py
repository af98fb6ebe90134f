_base_ = './cityscapes_segnet_stl_full.py'
# onelabel: the MTPSL/JTR partial-label setting (shipped seeded file with the
# official statistics; point labels_weights at the official file to use it).
# Cityscapes has no randomlabels: with two tasks it is not defined.
train_dataloader = dict(
    dataset=dict(label_setting='onelabel',
                 labels_weights='data_splits/cityscapes/onelabel.pth'))
# Delta_m against the 7-class STL results of JTR's supplementary Tab. 11
# (`stl_reference` in ../_base_/datasets/cityscapes.py).
val_evaluator = dict(reference=_base_.stl_reference['onelabel'])
test_evaluator = val_evaluator
