# CPU smoke twin of nyuv2_hrnet18_ctal-ms_onelabel.py: the MTL twin
# nyuv2_hrnet18_mtl_onelabel_tiny.py (tiny HRNet) with CTAL-MS, CTAL on the
# 8x12 finest scale; of CTAL's schedule only the weight decay (the twin's
# batch, lr and constant schedule stay).
_base_ = ['./nyuv2_hrnet18_mtl_onelabel_tiny.py',
          '../_base_/baselines/ctal.py']
model = dict(backbone=dict(multi_scale=True),
             refiner=dict(_base_.ctal_nyuv2.refiner_ms, channels=8,
                          size=(8, 12), chunk_size=32))
optim_wrapper = dict(optimizer=dict(
    weight_decay=_base_.ctal_nyuv2.optim_wrapper.optimizer.weight_decay))
