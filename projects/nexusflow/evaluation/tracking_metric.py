"""nuScenes tracking metric (AMOTA, AMOTP, IDS...) via the official devkit."""
import contextlib
import io
import json
import os
import os.path as osp
import tempfile
from collections.abc import Mapping as MappingABC
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdet3d.registry import METRICS
from ..structures.nuscenes_meta import DETECTION_CLASSES, TRACKING_CLASSES
from .domains import DEFAULT_DOMAINS, check_domains, get_meta, match_domains
from .nuscenes_boxes import lidar_boxes_to_global
from .nuscenes_splits import (SceneInfo, check_version_dir, load_scenes,
                              overlay_root, resolve_split)

SUMMARY_KEYS = ('amota', 'amotp', 'recall', 'motar', 'mota', 'motp', 'mt',
                'ml', 'faf', 'tp', 'fp', 'fn', 'ids', 'frag', 'tid', 'lgd')
# Custom split names written into the overlay root's splits.json.
SPLIT_PREFIX = 'nexusflow_eval'


def _field(container: Any, key: str) -> Any:
    """``container[key]`` for dicts, ``container.key`` for InstanceData."""
    if isinstance(container, MappingABC):
        return container.get(key)
    return getattr(container, key, None)


@METRICS.register_module()
class NuScenesTrackingMetric(BaseMetric):
    """nuScenes 3D multi-object tracking metric, overall and per domain.

    Predicted LiDAR-frame tracks are converted to global boxes, written as a
    devkit result json (every sample of the evaluated split present, empty
    lists allowed) and scored by ``nuscenes.eval.tracking.evaluate.
    TrackingEval`` with ``eval_config``. Each domain (scenes whose
    ``log.location`` matches its patterns) is evaluated as its own custom
    split through a temporary overlay of the data root, so the user's data
    root is only read. Reported keys: ``tracking/<key>`` and
    ``tracking/<domain>/<key>`` for ``key`` in amota, amotp, recall, motar,
    mota, motp, mt, ml, faf, tp, fp, fn, ids, frag, tid, lgd.

    Each data sample (``Det3DDataSample.to_dict()``) needs the metainfo
    ``token`` and ``lidar2global`` (4x4), and ``pred_track_3d`` with
    ``bboxes_3d`` (box_dim 9: x, y, z bottom centre, l, w, h, yaw, vx, vy in
    the LiDAR frame), ``scores_3d``, ``labels_3d`` (indices into ``classes``)
    and ``track_ids``.

    Args:
        data_root (str): nuScenes root (holding ``<version>/``).
        version (str): e.g. ``'v1.0-trainval'``. Defaults to
            'v1.0-trainval'.
        eval_set (str | Sequence[str]): devkit split (``'val'``,
            ``'mini_val'``...), a custom split from
            ``<data_root>/<version>/splits.json``, or explicit scene names.
            Defaults to 'val'.
        classes (Sequence[str], optional): class name of each label index,
            devkit detection classes with at least one tracking class (e.g.
            the 10 classes UniAD trains on); tracks of the non-tracking
            classes (barrier, traffic cone, construction vehicle) are not
            scored, as in the devkit. Defaults to the dataset's classes
            (``dataset_meta``, as mmdet3d's metrics do), else
            TRACKING_CLASSES.
        domains (dict[str, list[str]], optional): ``{name: [fnmatch patterns
            over log.location]}``; ``None`` or ``{}`` evaluates overall only.
        jsonfile_prefix (str, optional): folder to keep the result json and
            the devkit outputs in; a temporary folder when None.
        format_only (bool): only write the result json (e.g. for the test
            server); requires ``jsonfile_prefix``. Defaults to False.
        score_thr (float): boxes scoring below are dropped. Defaults to 0.
        eval_config (str): devkit config name. Defaults to
            'tracking_nips_2019'.
        use_camera (bool): ``meta.use_camera`` of the result json.
        use_lidar (bool): ``meta.use_lidar`` of the result json.
        verbose (bool): let the devkit print. Defaults to False.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to 'tracking'.
    """
    default_prefix = 'tracking'

    def __init__(self,
                 data_root: str,
                 version: str = 'v1.0-trainval',
                 eval_set: Union[str, Sequence[str]] = 'val',
                 classes: Optional[Sequence[str]] = None,
                 domains: Optional[Mapping[str, Sequence[str]]] = (
                     DEFAULT_DOMAINS),
                 jsonfile_prefix: Optional[str] = None,
                 format_only: bool = False,
                 score_thr: float = 0.0,
                 eval_config: str = 'tracking_nips_2019',
                 use_camera: bool = True,
                 use_lidar: bool = False,
                 verbose: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        from nuscenes.eval.common.config import config_factory

        owner = type(self).__name__
        check_version_dir(data_root, version, owner)
        if classes is not None:
            _check_classes(owner, classes)
        if format_only and jsonfile_prefix is None:
            raise ValueError(f'{owner}: format_only=True needs '
                             f'jsonfile_prefix to keep the result json')
        self.data_root = data_root
        self.version = version
        self.eval_set = eval_set if isinstance(eval_set, str) else list(
            eval_set)
        self._classes = None if classes is None else tuple(classes)
        self.domains = check_domains(owner, domains)
        self.jsonfile_prefix = jsonfile_prefix
        self.format_only = format_only
        self.score_thr = float(score_thr)
        self.eval_cfg = config_factory(eval_config)
        self.meta = dict(
            use_camera=use_camera,
            use_lidar=use_lidar,
            use_radar=False,
            use_map=False,
            use_external=False)
        self.verbose = verbose

    @property
    def classes(self) -> tuple:
        """Class name of each label index."""
        if self._classes is None:
            meta = self.dataset_meta or {}
            classes = tuple(meta.get('classes') or TRACKING_CLASSES)
            _check_classes(type(self).__name__, classes)
            self._classes = classes
        return self._classes

    # ------------------------------------------------------------------ #
    # process: LiDAR tracks -> compact global boxes
    # ------------------------------------------------------------------ #
    def _parse_sample(self, sample: Mapping) -> Dict[str, Any]:
        """Checks one data sample and converts its tracks to global boxes."""
        owner = type(self).__name__
        token = get_meta(sample, 'token', owner)
        pred = sample.get('pred_track_3d')
        if pred is None:
            raise ValueError(f'{owner}: sample {token!r} has no '
                             f"'pred_track_3d' (keys: {sorted(sample)})")
        fields = {}
        for key in ('bboxes_3d', 'scores_3d', 'labels_3d', 'track_ids'):
            value = _field(pred, key)
            if value is None:
                raise ValueError(f'{owner}: sample {token!r} has no '
                                 f'pred_track_3d[{key!r}]')
            fields[key] = value
        boxes = fields['bboxes_3d']
        boxes = getattr(boxes, 'tensor', boxes)
        boxes = torch.as_tensor(boxes).detach().cpu().double()
        if boxes.ndim != 2 or boxes.shape[1] != 9:
            raise ValueError(
                f"{owner}: sample {token!r} pred_track_3d['bboxes_3d'] has "
                f'shape {tuple(boxes.shape)}; expected (N, 9) = x, y, z, l, '
                f'w, h, yaw, vx, vy in the LiDAR frame (box_dim=9)')
        num = boxes.shape[0]
        arrays = {
            key: torch.as_tensor(fields[key]).detach().cpu().numpy()
            for key in ('scores_3d', 'labels_3d', 'track_ids')
        }
        for key, value in arrays.items():
            if value.shape != (num, ):
                raise ValueError(f'{owner}: sample {token!r} '
                                 f'pred_track_3d[{key!r}] has shape '
                                 f'{value.shape}; expected ({num},) like '
                                 f'bboxes_3d')
        labels = arrays['labels_3d'].astype(np.int64)
        if num and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise ValueError(f"{owner}: sample {token!r} pred_track_3d"
                             f"['labels_3d'] must index classes "
                             f'{self.classes}, got values {np.unique(labels)}')
        if not (torch.isfinite(boxes).all()
                and np.isfinite(arrays['scores_3d']).all()):
            raise ValueError(f'{owner}: sample {token!r} has non-finite '
                             f'boxes or scores in pred_track_3d')
        tracked = np.array([name in TRACKING_CLASSES
                            for name in self.classes])
        keep = (arrays['scores_3d'] >= self.score_thr) & tracked[labels]
        lidar2global = get_meta(sample, 'lidar2global', owner)
        try:
            glob = lidar_boxes_to_global(boxes[torch.from_numpy(keep)],
                                         lidar2global)
        except ValueError as err:
            raise ValueError(f'{owner}: sample {token!r}: {err}') from None
        glob.update(
            token=token,
            scores=arrays['scores_3d'][keep].astype(np.float64),
            labels=labels[keep],
            track_ids=arrays['track_ids'][keep].astype(np.int64))
        return glob

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Stores the global-frame tracks of each sample.

        Args:
            data_batch (Any): unused.
            data_samples (Sequence[dict]): outputs of
                ``Det3DDataSample.to_dict()``.
        """
        for sample in data_samples:
            self.results.append(self._parse_sample(sample))

    # ------------------------------------------------------------------ #
    # compute_metrics: result json -> devkit TrackingEval
    # ------------------------------------------------------------------ #
    def _boxes_json(self, result: Dict[str, Any]) -> List[dict]:
        """Devkit result entries of one sample, best scores first, at most
        the config's ``max_boxes_per_sample`` (the devkit rejects more)."""
        order = np.argsort(-result['scores'], kind='stable')
        order = order[:self.eval_cfg.max_boxes_per_sample]
        return [
            dict(
                sample_token=result['token'],
                translation=result['translation'][i].tolist(),
                size=result['size'][i].tolist(),
                rotation=result['rotation'][i].tolist(),
                velocity=result['velocity'][i].tolist(),
                tracking_id=str(int(result['track_ids'][i])),
                tracking_name=self.classes[int(result['labels'][i])],
                tracking_score=float(result['scores'][i])) for i in order
        ]

    def format_results(self, results: List[dict],
                       scenes: Mapping[str, SceneInfo],
                       split: Sequence[str]) -> Dict[str, List[dict]]:
        """Devkit ``results`` for every key frame of ``split``.

        Samples of the split without a prediction get an empty list and are
        counted in the log; predictions outside the split are dropped.

        Args:
            results (list[dict]): outputs of :meth:`process`.
            scenes (Mapping[str, SceneInfo]): the scene index.
            split (Sequence[str]): evaluated scene names.

        Returns:
            dict[str, list[dict]]: ``{sample_token: [box, ...]}``.
        """
        logger = MMLogger.get_current_instance()
        by_token = {}
        for result in results:
            by_token.setdefault(result['token'], result)
        formatted, missing, capped = {}, 0, 0
        cap = self.eval_cfg.max_boxes_per_sample
        for name in split:
            for token in scenes[name].sample_tokens:
                if token in by_token:
                    result = by_token.pop(token)
                    capped += len(result['scores']) > cap
                    formatted[token] = self._boxes_json(result)
                else:
                    formatted[token] = []
                    missing += 1
        if capped:
            logger.warning(f'{type(self).__name__}: kept the {cap} best '
                           f'boxes of {capped} samples with more')
        if missing:
            logger.warning(f'{type(self).__name__}: {missing} of '
                           f'{len(formatted)} samples of the evaluated split '
                           f'have no prediction; they are scored as empty')
        if by_token:
            logger.warning(f'{type(self).__name__}: ignored predictions for '
                           f'{len(by_token)} samples outside the evaluated '
                           f'split')
        return formatted

    def _write_results(self, path: str, results: Dict[str, List[dict]]
                       ) -> None:
        with open(path, 'w') as f:
            json.dump(dict(meta=self.meta, results=results), f)

    def _no_box_results(self, results: Dict[str, List[dict]]
                        ) -> Dict[str, List[dict]]:
        """Results without any box, made acceptable to the devkit.

        The devkit reads the box type from the first box it finds and fails
        when there is none. One box a million metres away is added instead:
        the devkit's own distance filter removes it, so every class is
        scored exactly as the devkit scores a class without predictions.
        """
        token = next(iter(results))
        far = dict(
            sample_token=token,
            translation=[1e6, 1e6, 0.0],
            size=[1.0, 1.0, 1.0],
            rotation=[1.0, 0.0, 0.0, 0.0],
            velocity=[0.0, 0.0],
            tracking_id='-1',
            tracking_name=TRACKING_CLASSES[0],
            tracking_score=0.0)
        return {**results, token: [far]}

    def _run_devkit(self, root: str, split_name: str, result_path: str,
                    output_dir: str) -> Dict[str, float]:
        """Runs TrackingEval on one custom split and reads its summary."""
        from nuscenes.eval.tracking.evaluate import TrackingEval

        with contextlib.ExitStack() as quiet:
            if not self.verbose:
                # The devkit prints tables and tqdm bars even when quiet.
                quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))
                quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
            try:
                evaluator = TrackingEval(
                    config=self.eval_cfg,
                    result_path=result_path,
                    eval_set=split_name,
                    output_dir=output_dir,
                    nusc_version=self.version,
                    nusc_dataroot=root,
                    verbose=self.verbose)
                summary = evaluator.main(render_curves=False)
            except Exception as err:
                raise RuntimeError(
                    f'{type(self).__name__}: nuScenes TrackingEval failed on '
                    f'{result_path!r} (data_root {self.data_root!r}, '
                    f'version {self.version!r}): {type(err).__name__}: '
                    f'{err}') from err
        return {key: float(summary[key]) for key in SUMMARY_KEYS}

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Writes the result json(s) and runs the devkit (rank 0 only).

        Args:
            results (list[dict]): outputs of :meth:`process` from all ranks.

        Returns:
            dict[str, float]: ``<key>`` and ``<domain>/<key>``; empty when
            ``format_only``.
        """
        logger = MMLogger.get_current_instance()
        owner = type(self).__name__
        scenes = load_scenes(self.data_root, self.version, owner)
        split = resolve_split(self.eval_set, self.data_root, self.version,
                              scenes, owner)
        formatted = self.format_results(results, scenes, split)

        subsets = {'': split}
        for name, patterns in self.domains.items():
            subsets[name] = [
                s for s in split
                if match_domains(scenes[s].location, {name: patterns})
            ]

        with contextlib.ExitStack() as stack:
            out_dir = self.jsonfile_prefix or stack.enter_context(
                tempfile.TemporaryDirectory(prefix='nexusflow_track_'))
            os.makedirs(out_dir, exist_ok=True)
            result_path = osp.join(out_dir, 'results_nusc_tracking.json')
            self._write_results(result_path, formatted)
            logger.info(f'{owner}: wrote {result_path}')
            if self.format_only:
                return {}

            split_names = {
                d: f'{SPLIT_PREFIX}_{d}' if d else SPLIT_PREFIX
                for d in subsets
            }
            root = stack.enter_context(
                overlay_root(self.data_root, self.version, {
                    split_names[d]: names
                    for d, names in subsets.items() if names
                }))
            metrics = {}
            for domain, names in subsets.items():
                key_prefix = f'{domain}/' if domain else ''
                if not names:
                    logger.warning(f'{owner}: no scene of the evaluated split '
                                   f'is in domain {domain!r}; its metrics '
                                   f'are NaN')
                    metrics.update(
                        {key_prefix + k: np.nan
                         for k in SUMMARY_KEYS})
                    continue
                subset = {
                    t: formatted[t]
                    for s in names for t in scenes[s].sample_tokens
                }
                # The devkit reads only the split's samples from the file.
                path = result_path
                if not any(subset.values()):
                    path = osp.join(out_dir, f'empty_{domain or "all"}.json')
                    self._write_results(path, self._no_box_results(subset))
                summary = self._run_devkit(
                    root, split_names[domain], path,
                    osp.join(out_dir, 'tracking_eval', domain or 'all'))
                metrics.update(
                    {key_prefix + k: v
                     for k, v in summary.items()})
        return metrics


def _check_classes(owner: str, classes: Sequence[str]) -> None:
    unknown = [c for c in classes if c not in DETECTION_CLASSES]
    if unknown or not set(classes) & set(TRACKING_CLASSES):
        raise ValueError(f'{owner}: classes must be devkit detection classes '
                         f'{DETECTION_CLASSES} including tracking classes '
                         f'{TRACKING_CLASSES}, got {tuple(classes)}')
