# centerpoint_pillar_domainsplit_hook.py with NexusFlowWrapper around the
# unchanged detector instead of the drop-in hook; the hook only schedules
# lambda.
_base_ = ['./centerpoint_pillar_domainsplit_hook.py']

model = dict(_delete_=True, type='NexusFlowWrapper', detector=_base_.model,
             surrogates=_base_.nexusflow_surrogates, **_base_.nexusflow_attach)
custom_hooks = [dict(type='AlignWeightHook', **_base_.nexusflow_schedule)]
