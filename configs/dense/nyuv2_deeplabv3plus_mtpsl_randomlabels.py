_base_ = './nyuv2_deeplabv3plus_mtpsl_full.py'
# randomlabels: the MTPSL/JTR partial-label setting (shipped seeded file with
# the official statistics; point labels_weights at the official file to use
# it).
train_dataloader = dict(
    dataset=dict(label_setting='randomlabels',
                 labels_weights='data_splits/nyuv2/randomlabels.pth'))
