# The light dense map head (BEVMapHead): a few convolutions on the BEV give
# one logit plane per class (divider, ped_crossing, contour, drivable) on
# the map canvas, trained per pixel (sigmoid cross-entropy + Dice), no
# matching. The tiny configs use it; to put it in a full-size config:
#   model = dict(map_head=dict(_delete_=True, **_base_.dense_map_head),
#                neck=dict(surrogates=dict(map=dict(aggregator=dict(
#                    in_channels=128)))))  # its feature: (B, 128, H, W)
dense_map_head = dict(
    type='BEVMapHead',
    in_channels=256,
    feat_channels=128,
    num_classes=4,
    out_size=(200, 200),
    loss_mask=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                   loss_weight=1.0),
    loss_dice=dict(type='mmdet.DiceLoss', use_sigmoid=True, loss_weight=1.0))
