# Single-task learning: one SegNet-MTAN per task (the Delta_m reference).
_base_ = './nyuv2_segnet_mtl_full.py'
model = dict(separate=True)
