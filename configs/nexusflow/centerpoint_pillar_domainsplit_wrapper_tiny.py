# CPU smoke twin of centerpoint_pillar_domainsplit_wrapper.py:
# centerpoint_pillar_domainsplit_hook_tiny.py with NexusFlowWrapper around the
# unchanged detector instead of the drop-in hook; the hook only schedules
# lambda. It restates the wrapper of the full config because `detector` must
# be the tiny twin's model.
_base_ = ['./centerpoint_pillar_domainsplit_hook_tiny.py']

model = dict(_delete_=True, type='NexusFlowWrapper', detector=_base_.model,
             surrogates=_base_.nexusflow_surrogates, **_base_.nexusflow_attach)
custom_hooks = [dict(type='AlignWeightHook', **_base_.nexusflow_schedule)]
