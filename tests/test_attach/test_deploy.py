"""nexusflow.attach.deploy: the host model without NexusFlow, for every way
of attaching it (drop-in hook, wrapper, UniAD neck, dense neck)."""
import os.path as osp
from typing import Optional

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import init_default_scope
from torch import nn

from mmdet3d.registry import MODELS
from nexusflow.attach.deploy import deploy
from nexusflow.core import SurrogateBank

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SURROGATE = dict(aggregator=dict(type='MLPAggregator', in_channels=8,
                                 out_dim=4),
                 flow=dict(type='RealNVPFlow', num_layers=2))
NEXUS = dict(taps=dict(a='head_a.0', b='head_b.0'),
             surrogates=dict(a=SURROGATE, b=SURROGATE),
             task_losses=dict(a=['a.'], b=['b.']))


@MODELS.register_module(force=True)
class DeployTinyHost(BaseModel):
    """Encoder (with BatchNorm buffers), optional neck, two heads."""

    def __init__(self, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.encoder = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1),
                                     nn.BatchNorm2d(8), nn.ReLU())
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head_a = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(),
                                    nn.Conv2d(8, 2, 1))
        self.head_b = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(),
                                    nn.Conv2d(8, 1, 1))

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        feat = self.encoder(inputs)
        if self.neck is not None:
            feat = self.neck(feat)
        return torch.cat([self.head_a(feat), self.head_b(feat)], dim=1)


def write_config(tmp_path, model: dict, hooks: list) -> str:
    path = tmp_path / 'nexus_tiny.py'
    path.write_text(f'default_scope = "mmdet3d"\nmodel = {model!r}\n'
                    f'custom_hooks = {hooks!r}\n')
    return str(path)


def trained(model: nn.Module) -> nn.Module:
    """Random non-default weights and BatchNorm statistics."""
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
    return model.eval()


def build_plain(out_cfg: str, out_ckpt: str) -> nn.Module:
    cfg = Config.fromfile(out_cfg)
    model = MODELS.build(cfg.model)
    saved = torch.load(out_ckpt)  # torch's safe default: plain tensors
    assert set(saved) == {'meta', 'state_dict'}
    model.load_state_dict(saved['state_dict'], strict=True)
    return model.eval()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


INPUTS = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(1))


def test_wrapper_deploys_to_its_detector(tmp_path):
    model_cfg = dict(type='NexusFlowWrapper',
                     detector=dict(type='DeployTinyHost'), **NEXUS)
    hooks = [dict(type='AlignWeightHook', align_weight=0.5, begin_iter=3),
             dict(type='EMAHook')]
    config = write_config(tmp_path, model_cfg, hooks)
    torch.manual_seed(0)
    wrapper = trained(MODELS.build(model_cfg))
    assert any(k.startswith('bank.') for k in wrapper.state_dict())
    ckpt = tmp_path / 'iter_4.pth'
    torch.save(dict(meta=dict(iter=4), state_dict=wrapper.state_dict(),
                    optimizer=dict(state={})), ckpt)

    out = deploy(config, str(ckpt), str(tmp_path / 'out'))
    out_cfg, out_ckpt = out['config'], out['checkpoint']
    assert osp.basename(out_cfg) == 'nexus_tiny.py'
    plain_cfg = Config.fromfile(out_cfg)
    assert plain_cfg.model.type == 'DeployTinyHost'
    assert [h['type'] for h in plain_cfg.custom_hooks] == ['EMAHook']
    plain = build_plain(out_cfg, out_ckpt)
    assert n_params(plain) == n_params(wrapper.detector)
    assert n_params(plain) < n_params(wrapper)
    with torch.no_grad():
        assert torch.equal(plain(INPUTS), wrapper(INPUTS, mode='tensor'))

    # Never overwrites.
    with pytest.raises(FileExistsError, match='nexus_tiny.py already exists'):
        deploy(config, str(ckpt), str(tmp_path / 'out'))


def test_neck_is_removed(tmp_path):
    neck = dict(type='NexusFlowNeck', surrogates=NEXUS['surrogates'],
                alignment=dict(type='CentroidAlignmentLoss'))
    model_cfg = dict(type='DeployTinyHost', neck=neck)
    config = write_config(tmp_path, model_cfg, [])
    torch.manual_seed(0)
    host = trained(MODELS.build(model_cfg))
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save(dict(meta={}, state_dict=host.state_dict()), ckpt)

    out = deploy(config, str(ckpt), str(tmp_path / 'out'))
    out_cfg, out_ckpt = out['config'], out['checkpoint']
    assert Config.fromfile(out_cfg).model.neck is None
    plain = build_plain(out_cfg, out_ckpt)
    assert n_params(plain) == n_params(host) - n_params(host.neck)
    with torch.no_grad():
        assert torch.equal(plain(INPUTS), host(INPUTS))


def test_hook_checkpoint_keeps_only_host_weights(tmp_path):
    model_cfg = dict(type='DeployTinyHost')
    config = write_config(tmp_path, model_cfg,
                          [dict(type='NexusFlowHook', **NEXUS)])
    torch.manual_seed(0)
    host = trained(MODELS.build(model_cfg))
    ckpt = tmp_path / 'iter_2.pth'
    torch.save(dict(meta={}, state_dict=host.state_dict(),
                    optimizer=dict(state={}, param_groups=[]),
                    nexusflow=dict(tasks=['a', 'b'], state_dict=dict(
                        w=torch.zeros(3)))), ckpt)
    out = deploy(config, str(ckpt), str(tmp_path / 'out'))
    out_cfg, out_ckpt = out['config'], out['checkpoint']
    assert Config.fromfile(out_cfg).custom_hooks == []
    plain = build_plain(out_cfg, out_ckpt)
    assert n_params(plain) == n_params(host)
    with torch.no_grad():
        assert torch.equal(plain(INPUTS), host(INPUTS))


def test_checkpoint_of_another_model_is_named(tmp_path):
    config = write_config(tmp_path, dict(type='DeployTinyHost'), [])
    ckpt = tmp_path / 'other.pth'
    torch.save(dict(state_dict=dict(w=torch.zeros(1))), ckpt)
    with pytest.raises(ValueError, match=r"does not fit the plain model.*"
                       r"missing keys \['encoder.0.weight'.*unexpected keys "
                       r"\['w'\]"):
        deploy(config, str(ckpt), str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists()


def _save(path, state_dict: dict, **extra) -> str:
    torch.save(dict(meta={}, state_dict=state_dict, **extra), path)
    return str(path)


def _banks(model: nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, SurrogateBank)]


# One shipped config per way of attaching NexusFlow, and how the host's own
# parameter count follows from the trained model.
ATTACHMENTS = {
    'hook': ('configs/nexusflow/centerpoint_pillar_domainsplit_hook_tiny.py',
             lambda model: model),
    'wrapper': (
        'configs/nexusflow/centerpoint_pillar_domainsplit_wrapper_tiny.py',
        lambda model: model.detector),
    'uniad_neck': ('configs/nexusflow/uniad_domainsplit_tiny.py', None),
    'dense_neck': ('configs/dense/nyuv2_segnet_nexusflow_onelabel_tiny.py',
                   None),
}


@pytest.mark.parametrize('way', list(ATTACHMENTS))
def test_every_attachment_deploys_to_the_bare_host(way, tmp_path):
    config, host_of = ATTACHMENTS[way]
    cfg = Config.fromfile(osp.join(REPO, config))
    init_default_scope('mmdet3d')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    extra = {}
    if way == 'hook':
        hook = next(h for h in cfg.custom_hooks
                    if h['type'] == 'NexusFlowHook')
        assert not _banks(model)
        bank = SurrogateBank(hook['surrogates'],
                             dict(type='CentroidAlignmentLoss'))
        extra['nexusflow'] = dict(tasks=bank.tasks,
                                  state_dict=bank.state_dict())
        host_params = n_params(model)
    elif host_of is None:
        assert len(_banks(model.neck)) == 1
        host_params = n_params(model) - n_params(model.neck)
    else:
        assert _banks(model)
        host_params = n_params(host_of(model))
    ckpt = _save(tmp_path / 'iter_1.pth', model.state_dict(), **extra)

    out = deploy(osp.join(REPO, config), ckpt, str(tmp_path / 'out'))
    plain_cfg = Config.fromfile(out['config'])
    hooks = [h['type'] for h in plain_cfg.get('custom_hooks', [])]
    assert not {'NexusFlowHook', 'AlignWeightHook'} & set(hooks)
    assert 'NexusFlow' not in plain_cfg.model['type']
    plain = build_plain(out['config'], out['checkpoint'])
    assert not _banks(plain)
    assert n_params(plain) == host_params == out['kept']
    saved = torch.load(out['checkpoint'])
    # A surrogate bank sits at ``bank.`` (wrapper, hook) or in a neck; the
    # UniAD host's own ``track_head.query_update.memory_bank.`` stays.
    assert not [k for k in saved['state_dict']
                if k.startswith('bank.') or '.bank.' in k
                or k.startswith('neck.')]
