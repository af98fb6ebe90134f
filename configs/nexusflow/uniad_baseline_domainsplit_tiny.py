# Baseline: UniAD without NexusFlow under the domain split (map labels in
# Boston only, track labels in Singapore only).
_base_ = ['./uniad_domainsplit_tiny.py']

model = dict(neck=None)
custom_hooks = []
