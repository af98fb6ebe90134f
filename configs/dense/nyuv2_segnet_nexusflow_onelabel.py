_base_ = './nyuv2_segnet_nexusflow_full.py'
# onelabel: the MTPSL/JTR partial-label setting (shipped seeded file with the
# official statistics; point labels_weights at the official file to use it).
train_dataloader = dict(
    dataset=dict(label_setting='onelabel',
                 labels_weights='data_splits/nyuv2/onelabel.pth'))
# Delta_m against the STL results of JTR's supplementary Tab. 11
# (onelabel; `stl_reference` in ../_base_/datasets/nyuv2.py).
val_evaluator = dict(reference=_base_.stl_reference['onelabel'])
test_evaluator = val_evaluator
