# NYUv2 onelabel (MTPSL/JTR): one task labeled per training image, as drawn
# in the shipped seeded file with the official statistics (point
# labels_weights at the official file to use that). Under its own name
# because mmengine refuses a key set by two `_base_` files:
#   train_dataloader = dict(dataset=_base_.nyuv2_onelabel)
nyuv2_onelabel = dict(label_setting='onelabel',
                      labels_weights='data_splits/nyuv2/onelabel.pth')
