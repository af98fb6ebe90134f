# MTPSL (CVPR 2022): pair-conditioned mapping networks, 1 - cos cross-task
# consistency + 0.5 regularizer to the shared feature, weight 2.0; Adam
# 1e-4, batch 2, 200 epochs as in the paper.
_base_ = './nyuv2_segnet_mtl_full.py'
model = dict(regularizer=dict(type='MTPSLLoss', feat_channels=64,
                              loss_weight=2.0, reg_weight=0.5))
train_dataloader = dict(batch_size=2)
