import pytest
import torch
from torch import nn

from nexusflow.attach import FeatureTaps


class MultiOutput(nn.Module):

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        if self.kind == 'tuple':
            return x, x + 1
        if self.kind == 'dict':
            return dict(feat=x * 2, other=x)
        return x.flatten(0, 1)  # breaks the batch dimension


class Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
        self.pair = MultiOutput('tuple')
        self.named = MultiOutput('dict')
        self.merge = MultiOutput('flatten')

    def forward(self, x, repeat=1):
        for _ in range(repeat):
            x = self.backbone(x)
        self.pair(x)
        self.named(x)
        return x


def test_selects_outputs_and_removes_hooks():
    model = Model()
    taps = FeatureTaps(model, dict(
        a='backbone.1', b=dict(module='pair', index=1),
        c=dict(module='named', key='feat')))
    x = torch.randn(2, 3)
    with taps:
        out = model(x, repeat=2)  # backbone.1 runs twice: last call kept
    feats = taps.collect(batch_size=2)
    assert torch.equal(feats['a'], out)
    assert torch.equal(feats['b'], out + 1)
    assert torch.equal(feats['c'], out * 2)
    assert not any(m._forward_hooks for m in model.modules())
    with pytest.raises(ValueError, match="tap 'a'.*did not run"):
        taps.collect()  # cleared after collecting


def test_errors_name_the_tap():
    model = Model()
    with pytest.raises(ValueError,
                       match=r"no submodule 'backbone.5'.*'backbone.1'"):
        FeatureTaps(model, dict(a='backbone.5'))
    with pytest.raises(ValueError, match='dict\\(module=path'):
        FeatureTaps(model, dict(a=dict(path='pair')))
    x = torch.randn(2, 4, 3)
    for spec, message in [
        (dict(module='named'), r"keys \['feat', 'other'\]"),
        (dict(module='pair', index=2), 'index=2 is out of range'),
        ('merge', r'gave shape \(8, 3\), expected batch size 2'),
    ]:
        taps = FeatureTaps(model, dict(a=spec))
        with taps:
            model(x)
            model.merge(x)
        with pytest.raises(ValueError, match=message):
            taps.collect(batch_size=2)
