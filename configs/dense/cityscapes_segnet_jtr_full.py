# JTR (CVPR 2024): joint-task auto-encoder regularizer, c_dist 4, c_recon 2,
# 512x4x8 latent at 128x256; Adam 1e-4 and batch 16 as in the paper (its
# resource table, Tab. 19, trains 300 epochs: train_cfg.max_epochs=300).
_base_ = ['./cityscapes_segnet_mtl_full.py', '../_base_/methods/dense.py']
model = _base_.jtr_model
# JTR's training data: random scale-crop + photometric RandAugment
# (Sec. 4.1), `jtr_train_pipeline` of the dataset base. The paper reruns MTL
# and MTPSL with it (Tab. 10): set train_dataloader.dataset.pipeline of any
# other config to `_base_.jtr_train_pipeline` to compare on equal terms.
train_dataloader = dict(batch_size=16,
                        dataset=dict(pipeline=_base_.jtr_train_pipeline))
