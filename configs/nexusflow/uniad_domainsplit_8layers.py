# Ablation: 8 coupling layers per surrogate instead of 6.
_base_ = ['./uniad_domainsplit.py']

model = dict(neck=dict(surrogates=dict(
    track=dict(flow=dict(num_layers=8)),
    map=dict(flow=dict(num_layers=8)))))
