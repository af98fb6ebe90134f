# Cityscapes onelabel (MTPSL/JTR): one task labeled per training image, as
# drawn in the shipped seeded file with the official statistics (point
# labels_weights at the official file to use that). There is no
# randomlabels: with two tasks it is not defined. Under its own name because
# mmengine refuses a key set by two `_base_` files:
#   train_dataloader = dict(dataset=_base_.cityscapes_onelabel)
cityscapes_onelabel = dict(
    label_setting='onelabel',
    labels_weights='data_splits/cityscapes/onelabel.pth')
