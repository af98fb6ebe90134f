_base_ = './nyuv2_segnet_mtpsl_full.py'
# randomlabels: the MTPSL/JTR partial-label setting (shipped seeded file
# with the official statistics; point labels_weights at the official file to
# use it).
train_dataloader = dict(
    dataset=dict(label_setting='randomlabels',
                 labels_weights='data_splits/nyuv2/randomlabels.pth'))
# Delta_m against the STL results of JTR's supplementary Tab. 11
# (randomlabels; `stl_reference` in ../_base_/datasets/nyuv2.py).
val_evaluator = dict(reference=_base_.stl_reference['randomlabels'])
test_evaluator = val_evaluator
