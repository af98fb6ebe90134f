# UniAD stage 1 (track + map) at full size: ResNet-101-DCN (frozen) + FPN,
# 6-layer BEVFormer encoder on a 200x200 x 256 BEV over +-51.2 m (it reads
# each sample's 18-value can_bus from NuScenesTrackMapDataset), track head
# with 900 queries and 6 decoder layers, UniAD's panoptic map head on the
# 200x200 map canvas.
_base_ = ['../map_heads/uniad_panoptic.py']
point_cloud_range = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
bev_size = (200, 200)
map_size = (200, 200)
embed_dims = 256
num_cams = 6
num_levels = 4

model = dict(
    type='UniADTrackMap',
    # UniAD trains the map head on each clip's last frame only, and makes the
    # previous BEV by re-running the earlier frames without gradients.
    map_frames='last',
    history='uniad',
    data_preprocessor=dict(
        type='TrackMapDataPreprocessor',
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False,
        pad_size_divisor=32),
    img_backbone=dict(
        type='mmdet.ResNet',
        depth=101,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=4,
        norm_cfg=dict(type='BN2d', requires_grad=False),
        norm_eval=True,
        style='caffe',
        # mmcv's DCNv2 (same weights); without gradients off CUDA it runs
        # a faster grid_sample path (the backbone is frozen).
        dcn=dict(type='mmdet3d.SampledDCNv2', deform_groups=1,
                 fallback_on_stride=False),
        stage_with_dcn=(False, False, True, True),
        init_cfg=dict(type='Pretrained',
                      checkpoint='open-mmlab://detectron2/resnet101_caffe')),
    img_neck=dict(
        type='mmdet.FPN',
        in_channels=[512, 1024, 2048],
        out_channels=embed_dims,
        start_level=0,
        add_extra_convs='on_output',
        num_outs=num_levels,
        relu_before_extra_convs=True),
    # BEVFormer's encoder as UniAD runs it (temporal self-attention over
    # [previous BEV, queries], CAN-bus MLP, shift and rotation by the ego
    # motion); its rotation centre defaults to the grid centre, UniAD's
    # [100, 100] at 200 x 200.
    bev_encoder=dict(
        type='BEVFormerEncoder',
        bev_size=bev_size,
        pc_range=point_cloud_range,
        embed_dims=embed_dims,
        num_layers=6,
        num_cams=num_cams,
        num_levels=num_levels,
        num_heads=8,
        num_anchors=4,
        tsa_points=4,
        sca_points=8,
        ffn_dims=512),
    track_head=dict(
        type='UniADTrackHead',
        num_classes=10,  # UniAD's training classes (7 are tracked)
        embed_dims=embed_dims,
        num_query=900,
        with_ego_query=True,  # UniAD's 901st (SDC) query
        num_layers=6,
        num_heads=8,
        num_points=4,
        ffn_dims=512,
        pc_range=point_cloud_range,
        # UniAD's memory bank (4 embeddings) and query interaction module.
        query_update=dict(num_heads=8, memory_len=4),
        loss_cls=dict(type='mmdet.FocalLoss', use_sigmoid=True, gamma=2.0,
                      alpha=0.25, loss_weight=2.0),
        loss_bbox=dict(type='mmdet.L1Loss', loss_weight=0.25),
        assigner=dict(
            type='mmdet.HungarianAssigner',
            match_costs=[
                dict(type='mmdet.FocalLossCost', weight=2.0),
                dict(type='mmdet3d.Box3DL1Cost', weight=0.25)
            ]),
        score_thresh=0.4,
        filter_score_thresh=0.35,
        miss_tolerance=5),
    # UniAD's panoptic map head (map_heads/uniad_panoptic.py): 300 queries,
    # thing / stuff masks merged into the four class masks the map IoU
    # scores; map_heads/dense.py holds the light dense head.
    map_head=_base_.panoptic_map_head)
