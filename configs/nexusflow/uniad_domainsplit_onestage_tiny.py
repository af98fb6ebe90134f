# One-stage NexusFlow on the tiny model: alignment from the first iteration.
_base_ = ['./uniad_domainsplit_tiny.py']

custom_hooks = [dict(type='AlignWeightHook', align_weight=0.1, warmup_iters=2)]
