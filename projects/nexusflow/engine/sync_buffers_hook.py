"""Identical buffers on every process after each training iteration."""
from mmengine.dist import all_reduce_params, is_distributed
from mmengine.hooks import Hook

from mmdet3d.registry import HOOKS


@HOOKS.register_module()
class SyncTrainBuffersHook(Hook):
    """Averages the model's buffers (BatchNorm running statistics, ...)
    over the processes after every training iteration.

    DDP without ``broadcast_buffers`` leaves each process with its own
    running statistics. mmengine's ``SyncBuffersHook`` averages them before
    validation, but in an iteration-based loop the checkpoint of that
    iteration is written first, with rank 0's statistics only, so validation
    under N processes and ``tools/test.py`` on the checkpoint disagree. The
    averages do not change training (BatchNorm normalises with batch
    statistics there); they make checkpoints, validation and testing see the
    same model. The hook runs after the optimizer step and before the
    checkpoint hook; on one process it does nothing.
    """

    priority = 'BELOW_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """All-reduces (mean) the buffers when training is distributed."""
        if is_distributed():
            all_reduce_params(runner.model.buffers(), op='mean')
