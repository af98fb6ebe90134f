# MTPSL (CVPR 2022): pair-conditioned mapping networks, 1 - cos cross-task
# consistency + 0.5 regularizer to the shared feature, weight 2.0; Adam
# 1e-4, batch 2 as in the paper.
_base_ = ['./cityscapes_segnet_mtl_full.py', '../_base_/methods/dense.py']
model = _base_.mtpsl_model_64ch
train_dataloader = dict(batch_size=2)
