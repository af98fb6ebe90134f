# One-stage NexusFlow: alignment from the first iteration (lambda warmed up
# over 500 iterations) instead of the two-stage schedule.
_base_ = ['./uniad_domainsplit.py']

custom_hooks = [
    dict(type='AlignWeightHook', align_weight=0.1, warmup_iters=500)
]
