# MTPSL (CVPR 2022) on UniAD under the domain split, as the paper compares it:
# no NexusFlow; both tasks are drawn on one 200x200 BEV grid (track: score-
# weighted object-centre heatmap of the queries, map: class probabilities),
# and for each ordered task pair a FiLM-conditioned mapping network maps the
# prediction of one task and the label of the other into a joint space
# (1 - cos, weight 2.0, + 0.5 x the regularizer to the detached BEV feature).
_base_ = ['./uniad_baseline_domainsplit.py']

model = dict(
    regularizer=dict(type='MTPSLLoss', channels=(64, 128, 256),
                     feat_channels=_base_.embed_dims, loss_weight=2.0,
                     reg_weight=0.5),
    regularizer_grid=(200, 200))
