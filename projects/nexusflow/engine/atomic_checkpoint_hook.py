"""Checkpoints that appear whole or not at all."""
import contextlib
import os
import os.path as osp
from typing import Iterator

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from mmdet3d.registry import HOOKS

PART_SUFFIX = '.part'  # a checkpoint being written


def fsync_path(path: str) -> None:
    """Flushes a written file (or a folder's entries) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and a rename, so
    a reader sees the old content or the new one, never a prefix.

    Args:
        path (str): the file.
        text (str): its new content.
    """
    part = path + PART_SUFFIX
    with open(part, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with crash-safe files.

    The stock hook writes ``iter_N.pth`` in place, so a process killed
    while saving leaves a truncated file under the final name. Here each
    checkpoint (everything in it: the host, the optimizer and NexusFlow's
    ``checkpoint['nexusflow']``) is written to ``<name>.part``, flushed to
    disk and renamed, and ``last_checkpoint`` is rewritten the same way
    after it: a kill leaves either the complete new checkpoint or the
    previous one for ``--resume``. Remote backends keep the stock writes.
    ``tools/train.py`` uses it in place of ``CheckpointHook``; the
    arguments are the stock hook's.
    """

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Saves like the stock hook, through a temporary name."""
        with self._atomic_saves(runner):
            super()._save_checkpoint_with_step(runner, step, meta)
        if is_main_process() and self._local:
            # The stock hook rewrote it in place; a reader that met it
            # half-written falls back (``nexusflow.utils.checkpoint``).
            write_text_atomic(osp.join(runner.work_dir, 'last_checkpoint'),
                              self.last_ckpt)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """Saves the best checkpoint like the stock hook, atomically."""
        with self._atomic_saves(runner):
            super()._save_best_checkpoint(runner, metrics)

    @property
    def _local(self) -> bool:
        return isinstance(self.file_backend, LocalBackend)

    @contextlib.contextmanager
    def _atomic_saves(self, runner) -> Iterator[None]:
        """Routes ``runner.save_checkpoint`` through a temporary name."""
        if not self._local or 'save_checkpoint' in vars(runner):
            yield  # remote backend, or already inside an atomic save
            return
        save = runner.save_checkpoint

        def atomic_save(out_dir: str, filename: str, *args, **kwargs):
            save(out_dir, filename + PART_SUFFIX, *args, **kwargs)
            if is_main_process():  # the runner saves on rank 0 only
                part = osp.join(out_dir, filename + PART_SUFFIX)
                fsync_path(part)
                os.replace(part, osp.join(out_dir, filename))
                fsync_path(out_dir)

        runner.save_checkpoint = atomic_save
        try:
            yield
        finally:
            del runner.save_checkpoint  # the class's method again
