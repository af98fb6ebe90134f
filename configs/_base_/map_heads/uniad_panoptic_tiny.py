# The panoptic map head at CPU-test size (32-wide BEV, 2 + 2 deformable
# layers built for the one BEV level, 20 queries, 2 + 2 mask layers).
_base_ = ['./uniad_panoptic.py']

panoptic_map_head = dict(
    embed_dims=32,
    num_query=20,
    transformer=dict(num_encoder_layers=2, num_decoder_layers=2, num_heads=4,
                     num_points=2, num_levels=1, cuda_level_layout=False,
                     ffn_dims=64),
    thing_decoder=dict(num_layers=2, num_heads=4),
    stuff_decoder=dict(num_layers=2, num_heads=4),
    test_cfg=dict(max_per_img=20))
