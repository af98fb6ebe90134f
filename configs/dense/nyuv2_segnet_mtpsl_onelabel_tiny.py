# CPU smoke twin of nyuv2_segnet_mtpsl_onelabel.py: the MTL twin
# nyuv2_segnet_mtl_onelabel_tiny.py with MTPSL's mapping networks at the twin's
# widths.
_base_ = ['./nyuv2_segnet_mtl_onelabel_tiny.py',
          '../_base_/methods/dense.py']
model = dict(regularizer=dict(_base_.mtpsl_model_64ch.regularizer,
                              channels=(8, 16), feat_channels=8))
