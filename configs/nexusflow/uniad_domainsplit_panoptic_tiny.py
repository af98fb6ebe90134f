# uniad_domainsplit_tiny.py with UniAD's panoptic map head (at the tiny size
# set there) instead of the dense one, as the full-size configs have it:
# trains on the synthetic nuScenes set on a CPU. NexusFlow's map surrogate
# pools the head's last decoder-layer queries (a query set).
_base_ = ['./uniad_domainsplit_tiny.py']

model = dict(
    map_head=dict(_delete_=True, **_base_.panoptic_map_head),
    neck=dict(surrogates=dict(
        map=dict(aggregator=dict(in_channels=_base_.embed_dims)))))
