# MTPSL (CVPR 2022) on DeepLabV3+ ResNet-50, Cityscapes onelabel:
# pair-conditioned mapping networks over the 256-wide task features; Adam
# 1e-4, batch 2.
_base_ = './cityscapes_deeplabv3plus_mtl_onelabel.py'
model = dict(regularizer=dict(type='MTPSLLoss', feat_channels=256,
                              loss_weight=2.0, reg_weight=0.5))
train_dataloader = dict(batch_size=2)
