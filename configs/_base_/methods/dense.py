# The baselines of the dense benchmark as the part of `model` each adds to
# the MTL model of its config. Under their own names because the config
# already sets `model` (mmengine refuses a key set by two `_base_` files); a
# config merges one in, e.g.
#   model = _base_.jtr_model
# and a CPU smoke twin (*_tiny) merges its sizes into the method's part:
#   model = dict(regularizer=dict(_base_.jtr_model.regularizer,
#                                 channels=(8, 16, 16)))
# Batch sizes and JTR's augmentations depend on the dataset and stay in the
# configs. CTAL: ../baselines/ctal.py; NexusFlow:
# ../nexusflow/dense_surrogates.py.

# Single-task learning: one network per task (the Delta_m reference).
stl_model = dict(separate=True)
# JTR (CVPR 2024): joint-task auto-encoder regularizer, c_dist 4, c_recon 2.
jtr_model = dict(regularizer=dict(type='JTRLoss', c_dist=4.0, c_recon=2.0))
# MTPSL (CVPR 2022): pair-conditioned mapping networks over the task
# features, 1 - cos cross-task consistency + 0.5 regularizer to the shared
# feature, weight 2.0; per task-feature width (SegNet-MTAN and HRNet-18: 64,
# DeepLabV3+: 256).
mtpsl_model_64ch = dict(regularizer=dict(type='MTPSLLoss', feat_channels=64,
                                         loss_weight=2.0, reg_weight=0.5))
mtpsl_model_256ch = dict(
    regularizer=dict(mtpsl_model_64ch['regularizer'], feat_channels=256))
