# JTR (CVPR 2024) on DeepLabV3+ ResNet-50: joint-task auto-encoder
# regularizer, c_dist 4, c_recon 2, 512x9x12 latent; batch 4 and its
# augmentations as in the paper.
_base_ = ['./nyuv2_deeplabv3plus_mtl_full.py', '../_base_/methods/dense.py']
model = _base_.jtr_model
train_dataloader = dict(batch_size=4,
                        dataset=dict(pipeline=_base_.jtr_train_pipeline))
