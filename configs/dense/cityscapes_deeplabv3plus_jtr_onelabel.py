# JTR (CVPR 2024) on DeepLabV3+ ResNet-50, Cityscapes onelabel: c_dist 4,
# c_recon 2, batch 16 and JTR's augmentations.
_base_ = ['./cityscapes_deeplabv3plus_mtl_onelabel.py',
          '../_base_/methods/dense.py']
model = _base_.jtr_model
train_dataloader = dict(batch_size=16,
                        dataset=dict(pipeline=_base_.jtr_train_pipeline))
