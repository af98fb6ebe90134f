"""Short-training helper shared by the dense method tests."""
from typing import Callable, Dict, Optional, Tuple

import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import BaseDataElement

from nexusflow.datasets.dense import NYUv2MTLDataset


def task_losses(model, batch) -> Dict[str, float]:
    """Supervised loss per task in eval mode, without gradients."""
    model.eval()
    with torch.no_grad():
        losses = model.loss(torch.stack(batch['inputs']),
                            batch['data_samples'])
    model.train()
    return {t: float(losses[f'loss_{t}']) for t in model.tasks}


def train_onelabel(model, data_root: str, steps: int,
                   check: Optional[Callable[[dict], None]] = None
                   ) -> Tuple[Dict[str, float], Dict[str, float]]:
    """Trains ``model`` with Adam on the onelabel split of a synthetic
    NYUv2 set, batches of 4.

    Args:
        model: a DenseMTLModel.
        data_root (str): the synthetic set.
        steps (int): optimizer steps.
        check (callable, optional): called with each step's loss dict.

    Returns:
        tuple: per-task losses on the fully labeled set before and after.
    """
    train = NYUv2MTLDataset(data_root=data_root, label_setting='onelabel')
    assert (train.label_mask.sum(axis=1) == 1).all()
    full = NYUv2MTLDataset(data_root=data_root)
    full_batch = pseudo_collate([full[i] for i in range(len(full))])
    before = task_losses(model, full_batch)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        index = torch.randperm(len(train), generator=gen)[:4].tolist()
        batch = pseudo_collate([train[i] for i in index])
        losses = model.loss(torch.stack(batch['inputs']),
                            batch['data_samples'])
        if check is not None:
            check(losses)
        optimizer.zero_grad()
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        optimizer.step()
    return before, task_losses(model, full_batch)


def make_sample(mask: dict, size=(8, 12), seed: int = 0):
    """A data sample with random targets for the tasks ``mask`` labels."""
    gen = torch.Generator().manual_seed(seed)
    sample = BaseDataElement(metainfo=dict(task_mask=mask))
    if mask['semantic']:
        sample.gt_semantic = torch.randint(-1, 5, size, generator=gen)
    if mask['depth']:
        sample.gt_depth = torch.rand((1, ) + size, generator=gen) + 0.5
    if mask['normal']:
        normal = torch.randn((3, ) + size, generator=gen)
        sample.gt_normal = normal / normal.norm(dim=0, keepdim=True)
    return sample


def run_tiny_config(path: str, data_root: str, work_dir: str,
                    epochs: int = 1) -> Dict[str, float]:
    """Trains a dense ``*_tiny.py`` config through the Runner on
    ``data_root`` for ``epochs`` (seeded) and returns its test metrics."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner.test()


def check_config_wiring(cfg, path: str) -> None:
    """Asserts what every dense config must agree on: Cityscapes' two
    tasks and 7 classes on onelabel, and the MTPSL / NexusFlow widths equal
    to the backbone's feature width."""
    import os.path as osp
    model = cfg.model
    if osp.basename(path).startswith('cityscapes_'):
        classes = cfg.train_dataloader.dataset.num_classes
        assert model.tasks == dict(semantic=dict(num_classes=classes),
                                   depth=dict()), path
        assert cfg.val_evaluator.num_classes == classes == \
            cfg.val_dataloader.dataset.num_classes == 7, path
        assert cfg.train_dataloader.dataset.label_setting == 'onelabel'
    width = model.backbone.channels
    if 'regularizer' in model and model.regularizer.type == 'MTPSLLoss':
        assert model.regularizer.feat_channels == width, path
    if model.get('neck'):
        for surrogate in model.neck.surrogates.values():
            assert surrogate.aggregator.in_channels == width, path
