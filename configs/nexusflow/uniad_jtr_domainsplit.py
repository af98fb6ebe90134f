# JTR (CVPR 2024) on UniAD under the domain split, as the paper compares it:
# no NexusFlow; both tasks are drawn on one 200x200 BEV grid (track: score-
# weighted object-centre heatmap of the queries, map: class probabilities).
# The stack of both predictions and the stack of labels (predictions where a
# task is unlabeled) are encoded by one SegNet auto-encoder (3 stages: a
# 256 x 25 x 25 latent) and pulled together (c_dist 4, c_recon 2).
_base_ = ['./uniad_baseline_domainsplit.py']

model = dict(
    regularizer=dict(type='JTRLoss', channels=(64, 128, 256), c_dist=4.0,
                     c_recon=2.0),
    regularizer_grid=(200, 200))
