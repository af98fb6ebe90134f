# CTAL-MS on HRNet-18, NYUv2 (../_base_/baselines/ctal.py): per-scale
# initial predictions (two residual blocks + 1x1 conv), cross-scale fusion
# per task at 1/4, then one CTAL; the schedule of ctal-ss.
_base_ = './nyuv2_hrnet18_ctal-ss_full.py'
model = dict(backbone=dict(multi_scale=True),
             refiner=dict(_base_.ctal_nyuv2.refiner_ms, _delete_=True))
