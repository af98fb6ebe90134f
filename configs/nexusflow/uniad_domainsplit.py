# NexusFlow on UniAD stage 1 (track + map) under the paper's domain split:
# map labels only in Boston, track labels only in Singapore; evaluated on the
# whole val set, overall and per city. Full-size UniAD settings for 8 GPUs x
# 1 clip of 5 frames: ResNet-101-DCN, BEV 200x200 x 256, 900 track queries,
# 6 encoder layers, AdamW 2e-4 (backbone x0.1), cosine, grad clip 35,
# 6 epochs.
_base_ = [
    '../_base_/models/uniad_trackmap.py',
    '../_base_/datasets/nuscenes_trackmap.py',
    '../_base_/schedules/uniad_stage1.py',
    '../_base_/default_runtime.py',
    '../_base_/domain_rules/nuscenes_domainsplit.py',
]

# UniAD stage 1 starts from BEVFormer-base (its load_from): the official
# bevformer_r101_dcn_24ep.pth converted by tools/convert_checkpoint.py (see
# README, "From the official checkpoints to training"). Every full-size
# UniAD config inherits it; tools/train.py stops with the download URL and
# the convert command while the file is missing.
load_from = 'ckpts/bevformer_r101_dcn_24ep_nexusflow.pth'

latent_dim = 128
model = dict(
    neck=dict(
        type='NexusFlowNeck',
        surrogates=dict(
            # Track: the track head's last-layer queries (a query set).
            track=dict(
                aggregator=dict(type='DeformableAggregator',
                                in_channels=_base_.embed_dims,
                                out_dim=latent_dim, num_queries=4),
                flow=dict(type='RealNVPFlow', num_layers=6)),
            # Map: the panoptic map head's last decoder-layer queries (a
            # query set of 300, what the paper aligns against the tracks).
            map=dict(
                aggregator=dict(type='DeformableAggregator',
                                in_channels=_base_.embed_dims,
                                out_dim=latent_dim, num_queries=4),
                flow=dict(type='RealNVPFlow', num_layers=6))),
        alignment=dict(type='CentroidAlignmentLoss'),
        # Lambda is set every iteration by AlignWeightHook (below).
        align_weight=0.0))

# Two-stage training: stage 1 (epochs 0-2) trains the task losses only
# (lambda = 0; the alignment loss stays in the graph as an exact zero),
# stage 2 (epochs 3-5) fine-tunes with the alignment, lambda warmed up
# linearly over 500 iterations.
nexusflow_schedule = dict(align_weight=0.1, begin_epoch=3, warmup_iters=500)
custom_hooks = [dict(type='AlignWeightHook', **nexusflow_schedule)]

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NuScenesDomainSplitDataset',
        rules=_base_.domain_rules,
        dataset=_base_.train_dataset))
