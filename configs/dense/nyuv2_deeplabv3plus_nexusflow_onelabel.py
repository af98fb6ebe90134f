_base_ = ['./nyuv2_deeplabv3plus_nexusflow_full.py',
          '../_base_/labels/nyuv2_onelabel.py']
train_dataloader = dict(dataset=_base_.nyuv2_onelabel)
