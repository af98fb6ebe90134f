# JTR (CVPR 2024): joint-task auto-encoder regularizer, c_dist 4, c_recon 2,
# 512x4x8 latent at 128x256; Adam 1e-4 and batch 16 as in the paper (its
# resource table, Tab. 19, trains 300 epochs: train_cfg.max_epochs=300).
_base_ = './cityscapes_segnet_mtl_full.py'
model = dict(regularizer=dict(type='JTRLoss', c_dist=4.0, c_recon=2.0))
# JTR's training data: the MTAN-style random scale-crop of the MTPSL/JTR
# loaders and RandAugment (Sec. 4.1; photometric ops only, so the dense
# targets stay aligned). Any method here can train with the same pipeline
# (the paper reruns MTL and MTPSL with it, Tab. 10): set
# train_dataloader.dataset.pipeline of the STL, MTL, MTPSL, CTAL-SS or
# NexusFlow configs to `train_pipeline` to compare on equal terms.
train_pipeline = [
    dict(type='LoadDenseMTLSample'),
    dict(type='DenseRandomScaleCrop', scales=(1.0, 1.2, 1.5)),
    dict(type='DenseRandAugment', num_ops=2, magnitude=9),
    dict(type='PackDenseMTLInputs')
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
