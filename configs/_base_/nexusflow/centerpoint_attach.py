# What the CenterPoint configs attach NexusFlow with, whether by the hook or
# by the wrapper, on top of the tasks and domain rule of
# centerpoint_class_groups.py; under their own names, as the configs that
# use them set the keys they go into:
#   train_dataloader = dict(dataset=dict(dataset=dict(
#       _base_.nexusflow_domain_split, _delete_=True,
#       dataset=_base_.train_dataloader.dataset.dataset)))
#   custom_hooks = [dict(type='NexusFlowHook', surrogates=...,
#                        **_base_.nexusflow_attach, **schedule)]
_base_ = ['./centerpoint_class_groups.py']
# The training set with each task's labels kept only in its domains.
nexusflow_domain_split = dict(type='NuScenesDomainSplitDataset',
                              rules=_base_.domain_rules,
                              tasks=_base_.nexusflow_tasks)
# Where the surrogates tap the detector, the alignment, and which of
# CenterHead's losses belong to which task.
nexusflow_attach = dict(taps=_base_.nexusflow_taps,
                        alignment=dict(type='CentroidAlignmentLoss'),
                        task_losses=_base_.nexusflow_task_losses)
# Averages BatchNorm statistics over the processes after each iteration, so
# that validation under N processes equals tools/test.py on the checkpoint:
#   default_hooks = dict(sync_buffers=_base_.nexusflow_sync_buffers)
nexusflow_sync_buffers = dict(type='SyncTrainBuffersHook')
