"""The dense benchmark matrix: every backbone has every method on both
datasets' onelabel setting, CTAL-MS only on the multi-scale HRNet, and every
JTR config trains with JTR's augmentations."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs', 'dense')
METHODS = ('stl', 'mtl', 'mtpsl', 'jtr', 'ctal-ss', 'nexusflow')


@pytest.mark.parametrize('dataset', ['nyuv2', 'cityscapes'])
@pytest.mark.parametrize('backbone', ['segnet', 'deeplabv3plus', 'hrnet18'])
def test_every_method_on_onelabel(dataset, backbone):
    names = {osp.basename(p)[:-3] for p in glob.glob(
        osp.join(CONFIGS, f'{dataset}_{backbone}_*_onelabel.py'))}
    methods = set(METHODS) | ({'ctal-ms'} if backbone == 'hrnet18' else set())
    assert names == {f'{dataset}_{backbone}_{m}_onelabel' for m in methods}


@pytest.mark.parametrize('path', sorted(
    glob.glob(osp.join(CONFIGS, '*_jtr_*.py'))))
def test_jtr_trains_with_its_augmentations(path):
    cfg = Config.fromfile(path)
    steps = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert steps == ['LoadDenseMTLSample', 'DenseRandomScaleCrop',
                     'DenseRandAugment', 'PackDenseMTLInputs']
    assert cfg.model.regularizer.type == 'JTRLoss'
