# uniad_jtr_domainsplit.py at the tiny size (48x48 grid, narrow
# auto-encoder) for the synthetic set on a CPU.
_base_ = ['./uniad_baseline_domainsplit_tiny.py']

model = dict(
    regularizer=dict(type='JTRLoss', channels=(8, 16, 16), c_dist=4.0,
                     c_recon=2.0),
    regularizer_grid=(48, 48))
