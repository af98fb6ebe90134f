"""Latents of a model's surrogates, and the probe that grafts a NexusFlow
neck onto a frozen host without one."""
import os.path as osp

import numpy as np
import pytest
import torch

from nexusflow.analysis import (collect, find_bank, fit_probe,
                                graft_surrogates, load_host)
from helpers.analysis import root_options

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DENSE_MTL = 'configs/dense/nyuv2_segnet_mtl_onelabel_tiny.py'
DENSE_NEXUSFLOW = 'configs/dense/nyuv2_segnet_nexusflow_onelabel_tiny.py'
NECK = dict(type='NexusFlowNeck', surrogates=dict(a=dict()),
            alignment=dict(type='CentroidAlignmentLoss'))


def test_find_bank_needs_exactly_one():
    with pytest.raises(ValueError, match='found 0'):
        find_bank(torch.nn.Linear(2, 2))


def test_graft_takes_the_probe_neck():
    host = dict(type='Host', backbone=dict(type='B'), neck=None)
    grafted = graft_surrogates(host, dict(type='Other', neck=NECK))
    assert grafted == dict(host, neck=NECK)
    assert host['neck'] is None and grafted['neck'] is not NECK
    # A host config without the key at all gets it too.
    assert graft_surrogates(dict(type='Host'), dict(neck=NECK))['neck'] == \
        NECK
    with pytest.raises(ValueError, match='already has a neck'):
        graft_surrogates(dict(neck=NECK), dict(neck=NECK))
    with pytest.raises(ValueError, match='no neck with surrogates'):
        graft_surrogates(host, dict(neck=None))


def test_collect_keeps_domains_in_sample_order():
    from mmengine.model import BaseModel
    from mmengine.structures import BaseDataElement

    from mmdet3d.registry import MODELS

    class TwoTasks(BaseModel):

        def __init__(self):
            super().__init__()
            surrogate = dict(
                aggregator=dict(type='MLPAggregator', in_channels=4,
                                out_dim=8),
                flow=dict(type='RealNVPFlow', num_layers=2, hidden_dim=8))
            self.neck = MODELS.build(dict(
                type='NexusFlowNeck', surrogates=dict(a=surrogate,
                                                      b=surrogate),
                alignment=dict(type='CentroidAlignmentLoss')))
            self.grouped = False

        def forward(self, inputs, data_samples=None, mode='loss'):
            feats = torch.stack(inputs)
            if self.grouped:  # one group per sample, last sample first
                for feat in reversed(feats.split(1)):
                    self.neck.bank.encode(dict(a=feat, b=2 * feat))
                return {}
            return self.neck.loss(dict(a=feats, b=2 * feats))

    locations = ['boston', 'singapore', 'singapore', 'boston', 'boston']
    batches = [
        dict(inputs=[torch.randn(4, 3, 3) for _ in chunk],
             data_samples=[BaseDataElement(metainfo=dict(location=loc))
                           for loc in chunk])
        for chunk in (locations[:2], locations[2:4], locations[4:])
    ]
    model = TwoTasks()
    arrays = collect(model, batches, max_samples=4)
    assert arrays['domain'].tolist() == locations[:4]
    assert arrays['z_a'].shape == arrays['h_b'].shape == (4, 8)
    # Task b sees twice the feature, so its h' differs from a's.
    assert not np.allclose(arrays['h_a'], arrays['h_b'])
    assert find_bank(model) is model.neck.bank

    # Rows encoded in groups may not follow the samples: no domain then.
    model.grouped = True
    grouped = collect(model, batches)
    assert 'domain' not in grouped and grouped['z_b'].shape == (5, 8)


def test_probe_fits_only_the_surrogates(tiny_nyuv2, tmp_path):
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from mmdet3d.registry import MODELS
    from nexusflow.utils.launch import load_config
    init_default_scope('mmdet3d')
    options = dict(o.split('=') for o in root_options(tiny_nyuv2))
    host_cfg = load_config(osp.join(REPO, DENSE_MTL), options)
    probe_cfg = load_config(osp.join(REPO, DENSE_NEXUSFLOW))
    host = MODELS.build(host_cfg.model)
    assert host.neck is None
    ckpt = tmp_path / 'host.pth'
    torch.save({'state_dict': host.state_dict()}, ckpt)

    model = MODELS.build(graft_surrogates(host_cfg.model, probe_cfg.model))
    assert find_bank(model) is model.neck.bank
    load_host(model, str(ckpt))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loader = Runner.build_dataloader(host_cfg.train_dataloader, seed=0)
    losses = fit_probe(model, loader, steps=3, lr=1e-2)
    assert len(losses) == 3 and all(np.isfinite(losses))
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith('neck.bank.') for k in changed)
    for key, value in host.state_dict().items():
        assert torch.equal(after[key], value), key
    assert not any(p.requires_grad for p in model.parameters())
    assert model.neck.align_weight == probe_cfg.model.neck.align_weight

    # A model that has surrogates of its own is not probed.
    with pytest.raises(ValueError, match='already has'):
        graft_surrogates(probe_cfg.model, probe_cfg.model)
    # The host checkpoint must hold every host weight, and no neck.
    partial = {k: v for k, v in host.state_dict().items()
               if not k.startswith('heads.')}
    torch.save({'state_dict': partial}, tmp_path / 'partial.pth')
    with pytest.raises(ValueError, match=r'partial.pth: does not fit'):
        load_host(MODELS.build(graft_surrogates(host_cfg.model,
                                                probe_cfg.model)),
                  str(tmp_path / 'partial.pth'))
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'probed.pth')
    with pytest.raises(ValueError, match='already has neck weights'):
        load_host(model, str(tmp_path / 'probed.pth'))
