"""A tiny two-task detector, dataset and runner for the NexusFlowHook tests
(a module of its own so that spawned processes can import it)."""
import datetime
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement
from torch import nn
from torch.utils.data import Dataset

import nexusflow  # noqa: F401 (registers NexusFlowHook)
from mmdet3d.registry import MODELS

SURROGATE = dict(aggregator=dict(type='MLPAggregator', in_channels=8,
                                 out_dim=4),
                 flow=dict(type='RealNVPFlow', num_layers=2))


def hook_cfg(**overrides) -> dict:
    """A drop-in NexusFlowHook config for :class:`HookTinyDetector`."""
    cfg = dict(type='NexusFlowHook',
               taps=dict(a='head_a.0', b='head_b.0'),
               surrogates=dict(a=SURROGATE, b=SURROGATE),
               task_losses=dict(a=['a.'], b=['b.']),
               align_weight=1.0)
    cfg.update(overrides)
    return cfg


@MODELS.register_module(force=True)
class HookTinyDetector(BaseModel):
    """Shared encoder + two heads whose losses are ``a.*`` and ``b.*``."""

    def __init__(self, data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.encoder = nn.Conv2d(3, 8, 3, padding=1)
        self.head_a = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(),
                                    nn.Conv2d(8, 2, 1))
        self.head_b = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(),
                                    nn.Conv2d(8, 1, 1))

    def _heads(self, inputs):
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        feat = self.encoder(inputs).relu()
        return self.head_a(feat).mean(dim=(2, 3)), self.head_b(feat).mean(
            dim=(1, 2, 3))

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        return self._heads(inputs)

    def loss(self, inputs, data_samples: list) -> Dict[str, torch.Tensor]:
        out_a, out_b = self._heads(inputs)
        target_a = torch.stack([s.target_a for s in data_samples])
        target_b = torch.stack([s.target_b for s in data_samples])
        return {'a.loss_reg': (out_a - target_a).pow(2).mean(),
                'b.loss_reg': (out_b - target_b).pow(2).mean()}

    def predict(self, inputs, data_samples=None) -> torch.Tensor:
        out_a, out_b = self._heads(inputs)
        return torch.cat([out_a, out_b[:, None]], dim=1)


class TinyTaskSet(Dataset):
    """Deterministic samples with the given ``(a, b)`` task masks."""

    def __init__(self, masks: Sequence[tuple], seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.items = []
        for labeled_a, labeled_b in masks:
            sample = BaseDataElement(metainfo=dict(
                task_mask=dict(a=labeled_a, b=labeled_b)))
            sample.target_a = torch.randn(2, generator=gen)
            sample.target_b = torch.randn((), generator=gen)
            self.items.append(
                dict(inputs=torch.randn(3, 6, 6, generator=gen),
                     data_samples=sample))
        self.metainfo = dict(classes=('a', 'b'))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


class Recorder(Hook):
    """Keeps the logged values, lambda and every group's lr per iteration."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.logs: List[Dict[str, float]] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        record = {k: float(v) for k, v in outputs.items()}
        record['iter'] = runner.iter
        record['align_weight'] = runner.message_hub.get_scalar(
            'train/align_weight').current()
        record['lrs'] = [g['lr'] for g in runner.optim_wrapper.param_groups]
        self.logs.append(record)


MASKS = [(True, False), (False, True), (True, True), (True, False)]


def make_runner(work_dir: str,
                hooks: Sequence,
                max_iters: int = 4,
                model: Optional[nn.Module] = None,
                masks: Sequence[tuple] = MASKS,
                lr: float = 0.1,
                param_scheduler: Optional[list] = None,
                resume_from: Optional[str] = None,
                distributed: bool = False,
                optim_type: str = 'OptimWrapper',
                checkpoint_type: str = 'CheckpointHook',
                checkpoint_interval: int = 2) -> Runner:
    """A CPU runner training the tiny detector with the given hooks,
    optimizer wrapper and checkpoint hook."""
    torch.manual_seed(0)
    model = model if model is not None else HookTinyDetector()
    extra = {}
    if distributed:
        extra = dict(launcher='pytorch',
                     env_cfg=dict(dist_cfg=dict(backend='gloo')),
                     cfg=dict(model_wrapper_cfg=dict(
                         type='MMDistributedDataParallel', device_ids=None,
                         broadcast_buffers=False)))
    stamp = datetime.datetime.now().strftime('%H%M%S%f')
    return Runner(
        model=model,
        work_dir=work_dir,
        experiment_name=f'{osp.basename(work_dir)}_{stamp}_{os.getpid()}',
        train_dataloader=dict(
            dataset=TinyTaskSet(masks), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=dict(type=optim_type,
                           optimizer=dict(type='SGD', lr=lr, momentum=0.9)),
        param_scheduler=param_scheduler,
        custom_hooks=list(hooks),
        default_hooks=dict(checkpoint=dict(type=checkpoint_type,
                                           by_epoch=False,
                                           interval=checkpoint_interval),
                           logger=dict(type='LoggerHook', interval=1)),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
        resume=resume_from is not None,
        load_from=resume_from,
        default_scope='mmdet3d',
        **extra)


def flat_params(module: nn.Module) -> torch.Tensor:
    """All parameters of ``module`` as one detached vector."""
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def dist_worker(rank: int, world_size: int, port: int, work_dir: str,
                out_dir: str) -> None:
    """One rank of a gloo run; saves its surrogate and host parameters."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world_size), MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        'gloo', rank=rank, world_size=world_size,
        timeout=datetime.timedelta(seconds=60))
    hook = hook_cfg()
    recorder = Recorder()
    # Rank 0 gets samples 0 and 2 (both lack task b); rank 1 gets 1 and 3.
    masks = [(True, False), (False, True), (True, False), (True, True)]
    runner = make_runner(work_dir, [hook, recorder], max_iters=3,
                         masks=masks, distributed=True)
    runner.train()
    nexus = next(h for h in runner.hooks if type(h).__name__ ==
                 'NexusFlowHook')
    torch.save(dict(bank=flat_params(nexus.bank),
                    host=flat_params(runner.model.module),
                    logs=recorder.logs),
               osp.join(out_dir, f'rank{rank}.pth'))
    torch.distributed.destroy_process_group()
