# CPU smoke twin of nyuv2_segnet_ctal-ss_onelabel.py: the MTL twin
# nyuv2_segnet_mtl_onelabel_tiny.py with CTAL-SS, affinities at 8x12 (1/4 of
# 32x48); of CTAL's schedule only the weight decay (the twin's batch, lr and
# constant schedule stay).
_base_ = ['./nyuv2_segnet_mtl_onelabel_tiny.py',
          '../_base_/baselines/ctal.py']
model = dict(refiner=dict(_base_.ctal_nyuv2.refiner_ss, size=(8, 12),
                          chunk_size=32))
optim_wrapper = dict(optimizer=dict(
    weight_decay=_base_.ctal_nyuv2.optim_wrapper.optimizer.weight_decay))
