# CPU smoke twin of cityscapes_segnet_ctal-ss_onelabel.py: the MTL twin
# cityscapes_segnet_mtl_onelabel_tiny.py with CTAL-SS, affinities at 8x16 (1/4
# of 32x64); of CTAL's schedule only the weight decay (the twin's batch, lr and
# constant schedule stay).
_base_ = ['./cityscapes_segnet_mtl_onelabel_tiny.py',
          '../_base_/baselines/ctal.py']
model = dict(refiner=dict(_base_.ctal_cityscapes.refiner_ss, size=(8, 16),
                          chunk_size=32))
optim_wrapper = dict(optimizer=dict(
    weight_decay=_base_.ctal_cityscapes.optim_wrapper.optimizer.weight_decay))
