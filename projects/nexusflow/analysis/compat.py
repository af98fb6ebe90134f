"""Which stock mmdet3d nuScenes configs take the drop-in ``NexusFlowHook``.

:data:`STOCK_CONFIGS` is the one list: each stock config of mmdet3d 1.4,
how its tasks are separated (``task_losses`` for heads per class group,
``task_classes`` for class groups inside one head), where the surrogates
tap it, and, for configs that cannot run on CPU, the error that says why.
:func:`check_config` builds the config's shrunk twin (:func:`shrink`: only
the grid / image size, the data root, the loaders and the iterations
change, like ``configs/nexusflow/centerpoint_pillar_tiny.py``), drops the
hook in with class-group tasks under a city rule (:func:`attach`), trains
it for a few iterations through mmengine's Runner and returns the status;
:func:`compat_markdown` makes the README's table of the results
(``tools/analysis/compat_table.py``).
"""
import copy
import math
import os.path as osp
import re
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

#: The tasks: class groups, labeled by city (vehicles in Boston, vulnerable
#: road users in Singapore); barriers are in no task (always labeled).
TASK_CLASSES = dict(
    vehicle=['car', 'truck', 'construction_vehicle', 'bus', 'trailer'],
    vru=['motorcycle', 'bicycle', 'pedestrian', 'traffic_cone'])
DOMAIN_RULES = dict(vehicle=['boston-seaport'], vru=['singapore-*'])
#: CenterHead's class-group heads of the two tasks (its loss keys are
#: ``task<i>.loss_heatmap`` / ``task<i>.loss_bbox``).
CENTERPOINT_TASK_LOSSES = dict(vehicle=[r'task[0-2]\.'], vru=[r'task[45]\.'])
CENTERPOINT_TAPS = dict(vehicle='pts_bbox_head.task_heads.0.heatmap.0',
                        vru='pts_bbox_head.task_heads.5.heatmap.0')
#: The largest BEV grid side (a multiple of GRID_STRIDE) of a shrunk config
#: and its image size: the synthetic cameras' own size, as the stock 1600x900
#: is nuScenes'.
MAX_GRID = 128
GRID_STRIDE = 8
IMAGE_SCALE = (64, 36)
ITERS = 4


@dataclass
class StockConfig:
    """One stock config of the table.

    Args:
        config (str): path under mmdet3d's ``configs/``.
        separation (str): ``'task_losses'`` or ``'task_classes'``.
        taps (dict): ``{task: FeatureTaps spec}`` in the model.
        channels (int): channels of the tapped features.
        cpu_error (str, optional): for configs that cannot run on CPU, a
            regex of the error they stop with (checked by running them).
        note (str): what else the shrunk twin changes, if anything.
    """
    config: str
    separation: str
    taps: Dict[str, object]
    channels: int
    cpu_error: Optional[str] = None
    note: str = ''

    @property
    def name(self) -> str:
        return self.config.rpartition('/')[2][:-len('.py')]


_NECK = dict(vehicle=dict(module='pts_neck', index=0),
             vru=dict(module='pts_neck', index=0))
_MONO_NECK = dict(vehicle=dict(module='neck', index=0),
                  vru=dict(module='neck', index=1))
_PRETRAINED = 'no ImageNet weights (offline)'
_CENTERPOINT = dict(separation='task_losses', taps=CENTERPOINT_TAPS,
                    channels=64)
_SPCONV = r'get_indice_pairs is not implemented on CPU'

STOCK_CONFIGS: List[StockConfig] = [
    StockConfig('centerpoint/centerpoint_pillar02_second_secfpn_head-'
                'circlenms_8xb4-cyclic-20e_nus-3d.py', **_CENTERPOINT),
    StockConfig('pointpillars/pointpillars_hv_fpn_sbn-all_8xb4-2x_nus-3d.py',
                'task_classes', _NECK, 256),
    StockConfig('pointpillars/pointpillars_hv_secfpn_sbn-all_8xb4-2x_nus-'
                '3d.py', 'task_classes', _NECK, 384),
    StockConfig('regnet/pointpillars_hv_regnet-400mf_fpn_sbn-all_8xb4-2x_'
                'nus-3d.py', 'task_classes', _NECK, 256, note=_PRETRAINED),
    StockConfig('ssn/ssn_hv_secfpn_sbn-all_16xb2-2x_nus-3d.py',
                'task_classes', _NECK, 384),
    StockConfig('fcos3d/fcos3d_r101-caffe-dcn_fpn_head-gn_8xb2-1x_nus-'
                'mono3d.py', 'task_classes', _MONO_NECK, 256,
                note=_PRETRAINED),
    StockConfig('pgd/pgd_r101-caffe_fpn_head-gn_16xb2-1x_nus-mono3d.py',
                'task_classes', _MONO_NECK, 256, note=_PRETRAINED),
    StockConfig('centerpoint/centerpoint_voxel01_second_secfpn_head-'
                'circlenms_8xb4-cyclic-20e_nus-3d.py', **_CENTERPOINT,
                cpu_error=_SPCONV),
    StockConfig('pointpillars/pointpillars_hv_fpn_sbn-all_8xb2-amp-2x_nus-'
                '3d.py', 'task_classes', _NECK, 256,
                cpu_error=r'AmpOptimizerWrapper`` is only available '
                r'training on gpu'),
]


def stock_config(name: str) -> StockConfig:
    """The entry of :data:`STOCK_CONFIGS` with that short name."""
    for entry in STOCK_CONFIGS:
        if entry.name == name:
            return entry
    raise KeyError(f'{name!r} is not in STOCK_CONFIGS: '
                   f'{[e.name for e in STOCK_CONFIGS]}')


def _grid_factor(model: dict) -> int:
    """How many times coarser the BEV grid gets: the smallest factor that
    divides its sides into multiples of :data:`GRID_STRIDE` (the backbones'
    downsampling) of at most :data:`MAX_GRID`."""
    sides: List[int] = []

    def visit(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ('output_shape', 'sparse_shape'):
                    sides.extend(int(v) for v in value[-2:])
                elif key == 'grid_size':
                    sides.extend(int(v) for v in value[:2])
                else:
                    visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    visit(model)
    if not sides:
        return 1
    for factor in range(1, max(sides) + 1):
        if all(s % factor == 0 and s // factor % GRID_STRIDE == 0
               and s // factor <= MAX_GRID for s in sides):
            return factor
    raise ValueError(f'no grid factor makes {sorted(set(sides))} multiples '
                     f'of {GRID_STRIDE} of at most {MAX_GRID}')


def _coarser_grid(node, factor: int):
    """Voxels ``factor`` times larger in x and y, grids as many times
    smaller (voxel_size, output_shape, grid_size, sparse_shape)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'voxel_size':
                node[key] = [v * factor if i < 2 else v
                             for i, v in enumerate(value)]
            elif key in ('output_shape', 'sparse_shape'):
                node[key] = [*value[:-2], *(v // factor
                                            for v in value[-2:])]
            elif key == 'grid_size':
                node[key] = [v // factor if i < 2 else v
                             for i, v in enumerate(value)]
            else:
                _coarser_grid(value, factor)
    elif isinstance(node, list):
        for value in node:
            _coarser_grid(value, factor)


def _no_pretrained(node) -> None:
    """Drops ``init_cfg=dict(type='Pretrained', ...)`` (no downloads)."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            _no_pretrained(value)
    elif isinstance(node, list):
        for value in node:
            _no_pretrained(value)


def _pipeline_shrink(pipeline: list, data_root: str) -> list:
    for step in pipeline:
        if step.get('type') in ('Resize', 'mmdet.Resize') and 'scale' in step:
            step['scale'] = IMAGE_SCALE
        sampler = step.get('db_sampler')
        if sampler is not None:
            sampler['data_root'] = data_root
            sampler['info_path'] = data_root + sampler[
                'info_path'].rpartition('/')[2]
    return pipeline


def innermost_dataset(dataset: dict) -> dict:
    """The dataset dict inside wrappers (CBGSDataset, ...)."""
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def shrink(cfg: Config, data_root: str, iters: int = ITERS) -> Config:
    """The stock config shrunk to a few CPU iterations on ``data_root``.

    Only what ``centerpoint_pillar_tiny.py`` changes changes: the BEV grid
    (voxels coarser in x/y until the grid is at most :data:`MAX_GRID`
    wide) or the image size (:data:`IMAGE_SCALE`), the data root (infos,
    ObjectSample's database, metainfo version ``v1.0-mini``), the loaders
    (batch 2, no workers), and an iteration loop of ``iters`` without
    validation or checkpoints. Pretrained backbone weights are not loaded
    (no downloads).

    Args:
        cfg (Config): the stock config (not modified).
        data_root (str): root of the (synthetic) nuScenes infos.
        iters (int): training iterations.

    Returns:
        Config: the shrunk copy.
    """
    cfg = copy.deepcopy(cfg)
    data_root = data_root.rstrip('/') + '/'
    model = cfg.model.to_dict()
    factor = _grid_factor(model)
    if factor > 1:
        _coarser_grid(model, factor)
    _no_pretrained(model)
    cfg.model = model
    cfg.load_from = None

    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    inner = innermost_dataset(loader.dataset)
    inner['data_root'] = data_root
    metainfo = dict(inner.get('metainfo') or {})
    metainfo.setdefault('classes', cfg.get('class_names'))
    inner['metainfo'] = dict(metainfo, version='v1.0-mini')
    inner['pipeline'] = _pipeline_shrink(list(inner['pipeline']), data_root)
    for key in ('val', 'test'):
        for suffix in ('dataloader', 'evaluator', 'cfg'):
            cfg[f'{key}_{suffix}'] = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    hooks = cfg.default_hooks
    hooks.logger = dict(type='LoggerHook', interval=1)
    hooks.checkpoint = None
    hooks.pop('visualization', None)
    cfg.log_processor = dict(by_epoch=False)
    return cfg


def attach(cfg: Config, entry: StockConfig, out_dim: int = 16) -> Config:
    """The config with the domain split and ``NexusFlowHook`` dropped in.

    The tasks are :data:`TASK_CLASSES` under :data:`DOMAIN_RULES`;
    separated by CenterHead's loss keys or as class groups of one head,
    per ``entry.separation``. Alignment from iteration 1 on.
    """
    cfg = copy.deepcopy(cfg)
    cfg.custom_imports = dict(imports=['nexusflow'],
                              allow_failed_imports=False)
    tasks = {t: dict(classes=names) for t, names in TASK_CLASSES.items()}
    parent = cfg.train_dataloader
    while 'dataset' in parent.dataset:
        parent = parent.dataset
    parent.dataset = dict(type='NuScenesDomainSplitDataset',
                          dataset=parent.dataset, rules=DOMAIN_RULES,
                          tasks=tasks)
    surrogate = dict(
        aggregator=dict(type='MLPAggregator', in_channels=entry.channels,
                        out_dim=out_dim),
        flow=dict(type='RealNVPFlow', num_layers=2))
    hook = dict(type='NexusFlowHook', taps=dict(entry.taps),
                surrogates={t: surrogate for t in TASK_CLASSES},
                alignment=dict(type='CentroidAlignmentLoss'),
                align_weight=0.1, begin_iter=1, warmup_iters=2)
    if entry.separation == 'task_losses':
        hook['task_losses'] = CENTERPOINT_TASK_LOSSES
    elif entry.separation == 'task_classes':
        hook['task_classes'] = TASK_CLASSES
    else:
        raise ValueError(f'{entry.name}: separation must be task_losses or '
                         f'task_classes, got {entry.separation!r}')
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [hook]
    return cfg


def stock_config_path(entry: StockConfig) -> str:
    """The file of the stock config in the installed mmdet3d."""
    import mmdet3d
    return osp.join(osp.dirname(mmdet3d.__file__), '.mim', 'configs',
                    entry.config)


def build_config(entry: StockConfig, data_root: str, work_dir: str,
                 iters: int = ITERS) -> Config:
    """The shrunk stock config with the hook, ready for the Runner."""
    from mmdet3d.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(stock_config_path(entry))
    cfg = attach(shrink(cfg, data_root, iters), entry)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{entry.name}_{time.time_ns()}'
    return cfg


@dataclass
class CompatResult:
    """What :func:`check_config` found."""
    entry: StockConfig
    status: str  # 'runs' | 'no CPU' | 'fails'
    seconds: float
    iters: int = 0
    losses: Dict[str, float] = field(default_factory=dict)
    error: str = ''

    @property
    def expected(self) -> bool:
        """Whether the status is the one the table expects."""
        return self.status == ('no CPU' if self.entry.cpu_error else 'runs')


class _Record:
    """Counts training iterations and keeps the last losses."""

    def __init__(self) -> None:
        self.iters = 0
        self.losses: Dict[str, float] = {}


def _first_line(err: BaseException) -> str:
    text = f'{type(err).__name__}: {err}'.strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def check_config(entry: StockConfig, data_root: str, work_dir: str,
                 iters: int = ITERS) -> CompatResult:
    """Trains the shrunk config with the hook for ``iters`` iterations.

    Returns:
        CompatResult: ``runs`` when all iterations ran with a finite loss;
        ``no CPU`` when it stopped with ``entry.cpu_error``; else
        ``fails`` with the error's first line.
    """
    import torch
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    from ..utils.compat import patch_empty_mono3d_labels, patch_numpy_aliases
    patch_numpy_aliases()  # ObjectSample of the stock configs
    patch_empty_mono3d_labels()  # mono-3D images without boxes
    record = _Record()

    class RecordHook(Hook):
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            record.iters += 1
            hub = runner.message_hub
            record.losses = {
                key[len('train/'):]: float(hub.get_scalar(key).current())
                for key in hub.log_scalars
                if key.startswith('train/loss')}

    start = time.perf_counter()
    try:
        cfg = build_config(entry, data_root, work_dir, iters)
        runner = Runner.from_cfg(cfg)
        runner.register_hook(RecordHook())
        torch.manual_seed(0)
        runner.train()
    except Exception as err:  # noqa: B902 - the status is the result
        seconds = time.perf_counter() - start
        message = _first_line(err)
        status = 'no CPU' if entry.cpu_error and re.search(
            entry.cpu_error, f'{type(err).__name__}: {err}') else 'fails'
        return CompatResult(entry, status, seconds, record.iters,
                            record.losses, message)
    seconds = time.perf_counter() - start
    total = record.losses.get('loss', float('nan'))
    ok = record.iters == iters and math.isfinite(total)
    return CompatResult(entry, 'runs' if ok else 'fails', seconds,
                        record.iters, record.losses,
                        '' if ok else f'{record.iters} iterations, loss '
                        f'{total}')


def compat_markdown(results: Sequence[CompatResult]) -> str:
    """The README table: config, task separation, status (with time)."""
    lines = ['| stock config (mmdet3d 1.4) | tasks separated by | status |',
             '|---|---|---|']
    for r in results:
        if r.status == 'runs':
            status = (f'runs: {r.iters} iterations in {r.seconds:.0f} s, '
                      f'loss {r.losses.get("loss", float("nan")):.2f}')
            if r.entry.note:
                status += f'; {r.entry.note}'
        else:
            error = r.error.replace('|', '\\|')
            status = f'{r.status}: `{error}`'
        lines.append(f'| `{r.entry.name}` | `{r.entry.separation}` | '
                     f'{status} |')
    return '\n'.join(lines)
