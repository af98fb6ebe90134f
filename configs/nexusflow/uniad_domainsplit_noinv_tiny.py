# Ablation "w/o inv": each surrogate maps to the latent space with a plain
# MLP of the flow's width and depth instead of the RealNVP coupling layers.
_base_ = ['./uniad_domainsplit_tiny.py']

model = dict(neck=dict(surrogates=dict(track=dict(invertible=False),
                                       map=dict(invertible=False))))
