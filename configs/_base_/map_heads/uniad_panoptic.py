# UniAD stage 1's panoptic map head (PansegformerHead) at full size, with
# the stage-1 config's values: 200x200 x 256 BEV in, 300 queries, 6 + 6
# deformable layers built for 4 levels (the BEV fills one; the official
# weights' GPU reading, cuda_level_layout), 4 thing-mask and 6 stuff-mask
# layers. Use it as model.map_head (with _delete_=True over BEVMapHead):
#   model = dict(map_head=dict(_delete_=True, **_base_.panoptic_map_head))
panoptic_map_head = dict(
    type='UniADPanopticMapHead',
    embed_dims=256,
    num_query=300,
    num_things=3,
    canvas_size=(200, 200),
    transformer=dict(
        num_encoder_layers=6,
        num_decoder_layers=6,
        num_heads=8,
        num_points=4,
        num_levels=4,
        cuda_level_layout=True,
        ffn_dims=512,
        dropout=0.1),
    thing_decoder=dict(num_layers=4, num_heads=8),
    stuff_decoder=dict(num_layers=6, num_heads=8),
    loss_cls=dict(type='mmdet.FocalLoss', use_sigmoid=True, gamma=2.0,
                  alpha=0.25, loss_weight=2.0),
    loss_bbox=dict(type='mmdet.L1Loss', loss_weight=5.0),
    loss_iou=dict(type='mmdet.GIoULoss', loss_weight=2.0),
    loss_mask=dict(type='mmdet.DiceLoss', use_sigmoid=False, activate=False,
                   naive_dice=False, eps=1e-6, loss_weight=2.0),
    box_matcher=dict(cls_weight=2.0, l1_weight=5.0, giou_weight=2.0),
    # UniAD's mask assigner doubles its configured class cost (2.0).
    mask_matcher=dict(cls_weight=4.0, l1_weight=5.0, giou_weight=2.0,
                      mask_weight=2.0),
    test_cfg=dict(max_per_img=100, mask_threshold=0.5, score_threshold=0.1,
                  overlap_threshold=0.4))
