_base_ = './nyuv2_hrnet18_ctal-ss_full.py'
# onelabel: the MTPSL/JTR partial-label setting (shipped seeded file with the
# official statistics; point labels_weights at the official file to use it).
train_dataloader = dict(
    dataset=dict(label_setting='onelabel',
                 labels_weights='data_splits/nyuv2/onelabel.pth'))
