# MTPSL (CVPR 2022) on DeepLabV3+ ResNet-50: pair-conditioned mapping
# networks, 1 - cos cross-task consistency + 0.5 regularizer to the shared
# feature (the 256-wide task features), weight 2.0; Adam 1e-4, batch 2, 200
# epochs.
_base_ = ['./nyuv2_deeplabv3plus_mtl_full.py', '../_base_/methods/dense.py']
model = _base_.mtpsl_model_256ch
train_dataloader = dict(batch_size=2)
