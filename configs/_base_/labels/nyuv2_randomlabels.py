# NYUv2 randomlabels (MTPSL/JTR): one or two of the three tasks labeled per
# training image, as drawn in the shipped seeded file with the official
# statistics (point labels_weights at the official file to use that). Under
# its own name because mmengine refuses a key set by two `_base_` files:
#   train_dataloader = dict(dataset=_base_.nyuv2_randomlabels)
nyuv2_randomlabels = dict(label_setting='randomlabels',
                          labels_weights='data_splits/nyuv2/randomlabels.pth')
