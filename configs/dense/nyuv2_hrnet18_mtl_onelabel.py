_base_ = ['./nyuv2_hrnet18_mtl_full.py',
          '../_base_/labels/nyuv2_onelabel.py']
train_dataloader = dict(dataset=_base_.nyuv2_onelabel)
