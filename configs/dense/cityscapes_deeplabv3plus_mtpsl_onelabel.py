# MTPSL (CVPR 2022) on DeepLabV3+ ResNet-50, Cityscapes onelabel:
# pair-conditioned mapping networks over the 256-wide task features; Adam
# 1e-4, batch 2.
_base_ = ['./cityscapes_deeplabv3plus_mtl_onelabel.py',
          '../_base_/methods/dense.py']
model = _base_.mtpsl_model_256ch
train_dataloader = dict(batch_size=2)
