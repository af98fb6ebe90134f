# centerpoint_pillar_domainsplit_hook.py with NexusFlowWrapper around the
# unchanged detector instead of the drop-in hook; the hook only schedules
# lambda.
_base_ = ['./centerpoint_pillar_domainsplit_hook.py']

model = dict(
    _delete_=True,
    type='NexusFlowWrapper',
    detector=_base_.model,
    taps=_base_.nexusflow_taps,
    surrogates=_base_.nexusflow_surrogates,
    alignment=dict(type='CentroidAlignmentLoss'),
    task_losses=_base_.nexusflow_task_losses)
custom_hooks = [dict(type='AlignWeightHook', **_base_.nexusflow_schedule)]
