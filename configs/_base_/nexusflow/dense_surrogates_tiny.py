# The surrogate of the dense CPU smoke twins (*_tiny) on a 64-wide host
# (SegNet-MTAN): dense_surrogate_64ch of dense_surrogates.py with
# dense_surrogate_tiny merged into its aggregator and flow, under its own
# name as the twin's base already sets `model`:
#   model = dict(neck=dict(_base_.dense_nexusflow_neck, surrogates={
#       task: _base_.dense_surrogate_64ch_tiny for task in _base_.tasks}))
_base_ = ['./dense_surrogates.py']
dense_surrogate_64ch_tiny = {
    part: dict(_base_.dense_surrogate_64ch[part],
               **_base_.dense_surrogate_tiny[part])
    for part in ('aggregator', 'flow')}
