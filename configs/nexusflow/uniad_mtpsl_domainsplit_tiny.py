# uniad_mtpsl_domainsplit.py at the tiny size (48x48 grid, narrow mapping
# network) for the synthetic set on a CPU.
_base_ = ['./uniad_baseline_domainsplit_tiny.py']

model = dict(
    regularizer=dict(type='MTPSLLoss', channels=(8, 16, 16),
                     feat_channels=_base_.embed_dims, loss_weight=2.0,
                     reg_weight=0.5),
    regularizer_grid=(48, 48))
