# CTAL-MS (WACV 2025) on HRNet-18: initial predictions (two residual blocks +
# 1x1 conv) deep-supervised at each of the four scales, cross-scale fusion
# per task at 1/4, then one CTAL (72x96 affinities, f = 3, gamma = 0.05); the
# schedule of ctal-ss.
_base_ = './nyuv2_hrnet18_ctal-ss_full.py'
model = dict(
    backbone=dict(multi_scale=True),
    refiner=dict(_delete_=True, type='CTALMultiScale', channels=64,
                 size=(72, 96), kernel_size=3, gamma=0.05, efficient=True,
                 chunk_size=1024))
