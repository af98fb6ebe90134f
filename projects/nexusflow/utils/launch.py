"""Config loading and runner start-up shared by ``tools/train.py`` and
``tools/test.py``: CPU-friendly distributed setup and clear errors for
missing files."""
import argparse
import os
import os.path as osp
import sys
from typing import Iterator, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict, DictAction

# What creates each kind of data root, for the error message of a missing one.
DATA_HINTS = {
    'NuScenesDataset': 'python tools/create_synthetic_nuscenes.py '
    '--out {root} '
    '(synthetic) or python tools/create_data.py nuscenes --root {root} ...',
    'NuScenesTrackMapDataset': 'python tools/create_synthetic_nuscenes.py '
    '--out {root} && python tools/create_data.py nuscenes --root {root} '
    '--version v1.0-mini --out {root}',
}
DEFAULT_HINT = 'see README.md, section "Data"'


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """Loads a config file and merges ``--cfg-options``.

    Args:
        path (str): the config file.
        options (dict, optional): dotted-key overrides.

    Returns:
        Config: the merged config.
    """
    if not osp.isfile(path):
        raise SystemExit(f'error: config file {path} does not exist')
    try:
        cfg = Config.fromfile(path)
    except FileNotFoundError as err:  # a `_base_` it names is missing
        raise FileNotFoundError(
            f'config {path} (or one of its _base_ files) names '
            f'{err.filename or err} as a _base_ file, which does not exist; '
            f'expected a config file at that path') from None
    if options:
        cfg.merge_from_dict(options)
    return cfg


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """Adds the options train.py and test.py share: ``--work-dir``,
    ``--cfg-options``, ``--launcher`` and ``--local-rank``."""
    parser.add_argument('--work-dir', help='where logs, checkpoints and '
                        'metrics go (default: work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--debug', action='store_true',
        help='show the traceback of an error in the config, data or '
        'settings instead of one error line (also NEXUSFLOW_DEBUG=1)')


def prepare_config(args: argparse.Namespace) -> Config:
    """Loads ``args.config`` with the shared options applied.

    Args:
        args (Namespace): parsed arguments (see :func:`add_launch_args`).

    Returns:
        Config: the config with launcher and work_dir set.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def _dataset_cfgs(cfg: Config) -> Iterator[ConfigDict]:
    """Yields every dataset config of the loaders, wrapped ones included."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        stack = [loader.get('dataset')] if loader else []
        while stack:
            dataset = stack.pop()
            if isinstance(dataset, dict):
                yield dataset
                stack.append(dataset.get('dataset'))
                stack.extend(dataset.get('datasets', []) or [])


def check_data_roots(cfg: Config) -> None:
    """Fails with one line naming a missing ``data_root`` and how to make it.

    Args:
        cfg (Config): the full config.
    """
    for dataset in _dataset_cfgs(cfg):
        root = dataset.get('data_root')
        if root is None or osp.isdir(root):
            continue
        hint = DATA_HINTS.get(dataset.get('type'), DEFAULT_HINT)
        raise SystemExit(f'error: data_root {root} (dataset '
                         f'{dataset.get("type")}) does not exist; create it '
                         f'with: {hint.format(root=root)}')


def check_load_from(cfg: Config) -> None:
    """Fails with one line when ``load_from`` names a missing file (not on a
    resume, which loads ``resume``'s checkpoint instead).

    For the converted official checkpoints the line names the official
    download URL and the convert command.

    Args:
        cfg (Config): the full config (after ``--resume`` is applied).
    """
    path = cfg.get('load_from')
    if not path and not cfg.get('resume'):
        _note_frozen_dcn(cfg)
    if not path or cfg.get('resume') or '://' in str(path) or \
            osp.isfile(path):
        return
    from ..converters.checkpoint import OFFICIAL_CHECKPOINTS
    for kind, info in OFFICIAL_CHECKPOINTS.items():
        if osp.basename(path) == info['converted']:
            official = osp.join(osp.dirname(path) or '.', info['file'])
            raise SystemExit(
                f'error: load_from {path} does not exist; download the '
                f'official checkpoint {info["url"]} to {official} and '
                f'convert it with: python tools/convert_checkpoint.py '
                f'{kind} {official} {path}')
    raise SystemExit(f'error: load_from {path} does not exist (set '
                     f'load_from to an existing checkpoint)')


def _note_frozen_dcn(cfg: Config) -> None:
    """Says so when a run starts without a checkpoint while DCN layers of
    the image backbone are frozen: an ImageNet file has no DCN offsets, so
    they would stay zero (plain convolutions) for the whole run."""
    backbone = (cfg.get('model') or {}).get('img_backbone') or {}
    stages = backbone.get('stage_with_dcn') or ()
    frozen = backbone.get('frozen_stages', -1)
    if os.environ.get('RANK', '0') == '0' and backbone.get('dcn') and any(
            dcn and index < frozen for index, dcn in enumerate(stages)):
        print(f'warning: load_from is not set and the backbone\'s DCN '
              f'stages are frozen (frozen_stages={frozen}): their offsets '
              f'stay zero for the whole run; start from a converted '
              f'BEVFormer/UniAD checkpoint (README, "From the official '
              f'checkpoints to training") or unfreeze them', file=sys.stderr)


def setup_distributed(cfg: Config) -> None:
    """Makes ``--launcher pytorch`` work without CUDA.

    mmengine's launcher calls ``torch.cuda.set_device`` and wraps the model
    with ``device_ids=[LOCAL_RANK]``, both of which fail on a CPU-only
    machine. Without CUDA we start a gloo process group ourselves (mmengine
    then skips its own init) and ask for a device-less DDP wrapper.

    Args:
        cfg (Config): the config; edited in place.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', ConfigDict())
    cfg.env_cfg.setdefault('dist_cfg', ConfigDict())
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo', rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def build_runner(cfg: Config):
    """Builds the runner named by ``runner_type`` (default mmengine Runner).

    Args:
        cfg (Config): the full config.

    Returns:
        Runner: the runner.
    """
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    check_data_roots(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def finish_distributed() -> None:
    """Ends a distributed run in step: every process waits for the others,
    then tears its process group down before the interpreter exits (gloo's
    threads killed at exit can abort a process whose peer already left)."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
