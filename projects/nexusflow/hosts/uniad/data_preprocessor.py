"""Data preprocessor for multi-camera clips of the track + map dataset."""
from typing import List, Sequence

from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
from mmdet3d.registry import MODELS


@MODELS.register_module()
class TrackMapDataPreprocessor(Det3DDataPreprocessor):
    """``Det3DDataPreprocessor`` that also takes training clips.

    ``NuScenesTrackMapDataset`` yields a clip as ``img`` ``(T, N, 3, H, W)``
    plus ``T`` data samples; mmengine's ``pseudo_collate`` turns ``B`` clips
    into ``inputs['img']`` = ``B`` such tensors and a time-major
    ``data_samples`` = ``T`` lists of ``B`` samples. Clips are normalised
    and padded frame by frame with the parent's image processing and come
    out as ``inputs['imgs']`` ``(B, T, N, 3, H', W')`` with
    ``data_samples`` as ``B`` lists of ``T`` (sample-major). Single frames
    pass through the parent unchanged (``imgs`` ``(B, N, 3, H', W')``).

    Args:
        **kwargs: see :class:`Det3DDataPreprocessor`.
    """

    def simple_process(self, data: dict, training: bool = False) -> dict:
        """Normalises, pads and stacks a batch of frames or clips.

        Args:
            data (dict): collated ``inputs`` and ``data_samples``.
            training (bool): training mode.

        Returns:
            dict: ``inputs`` with ``imgs`` and ``data_samples``.
        """
        samples = data.get('data_samples')
        if not samples or not isinstance(samples[0], (list, tuple)):
            return super().simple_process(data, training)
        imgs = data['inputs'].get('img')
        num_frames, batch = len(samples), len(samples[0])
        if imgs is None or len(imgs) != batch or any(
                img.dim() != 5 or img.shape[0] != num_frames
                for img in imgs):
            shapes = [tuple(img.shape) for img in imgs or []]
            raise ValueError(
                f'TrackMapDataPreprocessor: a clip batch of {batch} clips x '
                f'{num_frames} frames needs inputs["img"] as {batch} tensors '
                f'(T={num_frames}, N, 3, H, W), got {shapes}')
        if any(len(frame) != batch for frame in samples):
            raise ValueError('TrackMapDataPreprocessor: every frame of a '
                             'clip batch must hold one sample per clip')
        frames = [img[t] for img in imgs for t in range(num_frames)]
        flat = [samples[t][b] for b in range(batch)
                for t in range(num_frames)]
        out = super().simple_process(
            dict(inputs=dict(img=frames), data_samples=flat), training)
        stacked = out['inputs']['imgs']
        out['inputs']['imgs'] = stacked.view(batch, num_frames,
                                             *stacked.shape[1:])
        out['data_samples'] = _split(out['data_samples'], batch, num_frames)
        return out


def _split(items: Sequence, batch: int, num_frames: int) -> List[list]:
    """Sample-major ``[B][T]`` lists from a flat ``B*T`` sequence."""
    return [list(items[b * num_frames:(b + 1) * num_frames])
            for b in range(batch)]
