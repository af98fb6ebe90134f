# The schedule of the dense CPU smoke twins (*_tiny): 6 epochs of the 8
# synthetic images at batch 4 (12 Adam iterations) at a constant lr 3e-3,
# high enough to move the losses in so few steps; one validation and one
# checkpoint at the end, every iteration logged. Under their own names
# because the twin's full config already sets these keys (mmengine refuses a
# key set by two `_base_` files); the MTL twins (*_mtl_onelabel_tiny, which
# the other twins inherit) assign each, e.g.
#   optim_wrapper = _base_.tiny_optim_wrapper
tiny_optim_wrapper = dict(optimizer=dict(lr=3e-3))
tiny_param_scheduler = []
tiny_train_cfg = dict(max_epochs=6, val_interval=6)
tiny_default_hooks = dict(logger=dict(interval=1),
                          checkpoint=dict(interval=6, max_keep_ckpts=1))
tiny_log_processor = dict(window_size=1)
