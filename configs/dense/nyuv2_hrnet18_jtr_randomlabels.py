_base_ = ['./nyuv2_hrnet18_jtr_full.py',
          '../_base_/labels/nyuv2_randomlabels.py']
train_dataloader = dict(dataset=_base_.nyuv2_randomlabels)
