# MTPSL (CVPR 2022) on HRNet-18, Cityscapes onelabel: pair-conditioned
# mapping networks over the 64-wide task features; Adam 1e-4, batch 2.
_base_ = ['./cityscapes_hrnet18_mtl_onelabel.py', '../_base_/methods/dense.py']
model = _base_.mtpsl_model_64ch
train_dataloader = dict(batch_size=2)
