"""Shared helpers of the UniAD host tests: configs, models, synthetic data."""
import copy
import os.path as osp

from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs/nexusflow/uniad_domainsplit_tiny.py')
FULL = osp.join(REPO, 'configs/nexusflow/uniad_domainsplit.py')
PANOPTIC_TINY = osp.join(
    REPO, 'configs/nexusflow/uniad_domainsplit_panoptic_tiny.py')


def load_config(path: str) -> Config:
    """A config with the nexusflow modules registered."""
    import nexusflow  # noqa: F401
    init_default_scope('mmdet3d')
    return Config.fromfile(path)


def build_model(cfg: Config, seed: int = 0, init: bool = True):
    """The config's model, seeded and (unless ``init`` is False, e.g. for
    pretrained weights that would be downloaded) initialised."""
    import torch

    from mmdet3d.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg.model))
    if init:
        model.init_weights()
    return model


def build_dataset(cfg: Config, infos: dict, split: str = 'train',
                  rules=None, queue_length: int = 2):
    """The config's track + map dataset on the synthetic infos, optionally
    wrapped in the domain split with ``rules``."""
    from mmdet3d.registry import DATASETS
    inner = copy.deepcopy(cfg.train_dataset if split == 'train' else
                          cfg.val_dataset)
    inner.update(data_root=infos['root'] + '/',
                 ann_file=infos[f'trackmap_{split}'])
    if split == 'train':
        # The test pipeline (no random augmentation) with the training
        # targets: the map thing instances of the panoptic map head.
        pipeline = copy.deepcopy(cfg.test_pipeline)
        for step in pipeline:
            if step['type'] == 'LoadTrackMapAnnotations':
                step['with_map_instances'] = True
        inner.update(queue_length=queue_length, pipeline=pipeline)
    if rules is not None:
        inner = dict(type='NuScenesDomainSplitDataset', rules=rules,
                     dataset=inner)
    return DATASETS.build(inner)


def collate(model, items, training: bool = True) -> dict:
    """Dataset items -> preprocessed model inputs."""
    return model.data_preprocessor(pseudo_collate(list(items)), training)
