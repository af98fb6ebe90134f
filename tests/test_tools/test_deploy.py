"""tools/deploy.py: the host model without NexusFlow, for all three ways of
attaching it (wrapper, neck, hook)."""
import importlib.util
import os.path as osp
import subprocess
import sys
from typing import Optional

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from torch import nn

from mmdet3d.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SURROGATE = dict(aggregator=dict(type='MLPAggregator', in_channels=8,
                                 out_dim=4),
                 flow=dict(type='RealNVPFlow', num_layers=2))
NEXUS = dict(taps=dict(a='head_a.0', b='head_b.0'),
             surrogates=dict(a=SURROGATE, b=SURROGATE),
             task_losses=dict(a=['a.'], b=['b.']))


def load_deploy():
    sys.path.insert(0, osp.join(REPO, 'tools'))
    spec = importlib.util.spec_from_file_location(
        'nexusflow_deploy_tool', osp.join(REPO, 'tools', 'deploy.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


deploy_tool = load_deploy()


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
    saved = torch.load(out_ckpt, weights_only=False)
    assert set(saved) == {'meta', 'state_dict'}
    model.load_state_dict(saved['state_dict'], strict=True)
    return model.eval()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


INPUTS = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(1))


def test_wrapper_deploys_to_its_detector(tmp_path):
    model_cfg = dict(type='NexusFlowWrapper',
                     detector=dict(type='DeployTinyHost'), **NEXUS)
    hooks = [dict(type='NexusFlowHook', align_weight=0.5, begin_iter=3),
             dict(type='EMAHook')]
    config = write_config(tmp_path, model_cfg, hooks)
    torch.manual_seed(0)
    wrapper = trained(MODELS.build(model_cfg))
    assert any(k.startswith('surrogates.') for k in wrapper.state_dict())
    ckpt = tmp_path / 'iter_4.pth'
    torch.save(dict(meta=dict(iter=4), state_dict=wrapper.state_dict(),
                    optimizer=dict(state={})), ckpt)

    out_cfg, out_ckpt = deploy_tool.deploy(config, str(ckpt),
                                           str(tmp_path / 'out'))
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
        deploy_tool.deploy(config, str(ckpt), str(tmp_path / 'out'))


def test_neck_is_removed(tmp_path):
    neck = dict(type='NexusFlowNeck', surrogates=NEXUS['surrogates'],
                alignment=dict(type='CentroidAlignmentLoss'))
    model_cfg = dict(type='DeployTinyHost', neck=neck)
    config = write_config(tmp_path, model_cfg, [])
    torch.manual_seed(0)
    host = trained(MODELS.build(model_cfg))
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save(dict(meta={}, state_dict=host.state_dict()), ckpt)

    out_cfg, out_ckpt = deploy_tool.deploy(config, str(ckpt),
                                           str(tmp_path / 'out'))
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
    out_cfg, out_ckpt = deploy_tool.deploy(config, str(ckpt),
                                           str(tmp_path / 'out'))
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
        deploy_tool.deploy(config, str(ckpt), str(tmp_path / 'out'))
    assert not (tmp_path / 'out').exists()


def test_cli_missing_checkpoint_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, 'tools/deploy.py',
         'configs/nexusflow/centerpoint_pillar_domainsplit_hook_tiny.py',
         str(tmp_path / 'none.pth'), str(tmp_path / 'out')],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f'error: checkpoint {tmp_path / "none.pth"} does not exist')
