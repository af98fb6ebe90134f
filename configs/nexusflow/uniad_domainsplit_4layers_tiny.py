# Ablation: 4 coupling layers per surrogate instead of 6.
_base_ = ['./uniad_domainsplit_tiny.py']

model = dict(neck=dict(surrogates=dict(
    track=dict(flow=dict(num_layers=4)),
    map=dict(flow=dict(num_layers=4)))))
