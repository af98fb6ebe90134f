# Upper bound: UniAD without NexusFlow, track and map labels everywhere.
_base_ = ['./uniad_domainsplit_tiny.py']

model = dict(neck=None)
custom_hooks = []
train_dataloader = dict(dataset=dict(rules=dict(map=None, track=None)))
