# The HRNet of the dense CPU smoke twins (*_tiny), merged into the backbone
# of dense_hrnet18.py: 4/8/16 wide, one block per branch and three branches
# (stride 16: 32x48 is no multiple of 32), no pretrained weights. Under its
# own name because the twin's full config already sets `model`:
#   model = dict(backbone=_base_.tiny_hrnet18_backbone)
tiny_hrnet18_backbone = dict(
    encoder=dict(
        init_cfg=None,
        extra=dict(
            stage1=dict(num_blocks=(1, ), num_channels=(8, )),
            stage2=dict(num_blocks=(1, 1), num_channels=(4, 8)),
            stage3=dict(num_modules=1, num_blocks=(1, 1, 1),
                        num_channels=(4, 8, 16)),
            stage4=dict(num_modules=1, num_branches=3, num_blocks=(1, 1, 1),
                        num_channels=(4, 8, 16)))),
    channels=8)
