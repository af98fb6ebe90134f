import pytest
import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.structures import BaseDataElement
from torch import nn

from mmdet3d.registry import MODELS
from nexusflow.attach import take_samples


@MODELS.register_module(force=True)
class TinyTwoTaskDetector(BaseModel):
    """Shared encoder + two heads; per-sample ops only (no BatchNorm)."""

    def __init__(self, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.encoder = nn.Conv2d(3, 8, 3, padding=1)
        self.det_head = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(),
                                      nn.Conv2d(8, 2, 1))
        self.seg_head = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(),
                                      nn.Conv2d(8, 1, 1))
        self.loss_calls = 0

    def _heads(self, inputs):
        feat = self.encoder(inputs).relu()
        return self.det_head(feat), self.seg_head(feat)

    def loss(self, inputs, data_samples):
        self.loss_calls += 1
        det, seg = self._heads(inputs)
        det_target = torch.stack([s.det_target for s in data_samples])
        seg_target = torch.stack([s.seg_target for s in data_samples])
        return dict(
            loss_det=(det.mean(dim=(2, 3)) - det_target).pow(2).mean(),
            seg_loss=[(seg.mean(dim=(1, 2, 3)) - seg_target).pow(2).mean()],
            loss_reg=1e-3 * self.encoder.weight.pow(2).sum())

    def predict(self, inputs, data_samples):
        det, _ = self._heads(inputs)
        return det.mean(dim=(2, 3))

    def _forward(self, inputs, data_samples=None):
        return self._heads(inputs)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return getattr(self, dict(loss='loss', predict='predict',
                                  tensor='_forward')[mode])(inputs,
                                                            data_samples)


SURROGATE = dict(aggregator=dict(type='MLPAggregator', in_channels=8,
                                 out_dim=4),
                 flow=dict(type='RealNVPFlow', num_layers=2))


def wrapper_cfg(**overrides):
    cfg = dict(
        type='NexusFlowWrapper',
        detector=dict(type='TinyTwoTaskDetector'),
        taps=dict(det='det_head.0', seg=dict(module='seg_head.0', index=0)),
        surrogates=dict(det=SURROGATE, seg=SURROGATE),
        alignment=dict(type='CentroidAlignmentLoss'),
        task_losses=dict(det=['loss_det'], seg=['seg_']),
        align_weight=1.0)
    cfg.update(overrides)
    return cfg


def build_wrapper(**overrides):
    torch.manual_seed(0)
    return MODELS.build(wrapper_cfg(**overrides))


def make_batch(masks, seed=1):
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(len(masks), 3, 6, 6, generator=gen)
    samples = []
    for det, seg in masks:
        sample = BaseDataElement(metainfo=dict(task_mask=dict(det=det,
                                                              seg=seg)))
        sample.det_target = torch.randn(2, generator=gen)
        sample.seg_target = torch.randn((), generator=gen)
        samples.append(sample)
    return inputs, samples


def grads(module):
    return torch.cat([
        p.grad.flatten() if p.grad is not None else torch.zeros(p.numel())
        for p in module.parameters()
    ])


def backward_of(model, loss):
    model.zero_grad()
    loss.backward(retain_graph=True)


def test_gradient_control_for_an_unlabeled_task():
    model = build_wrapper()
    det = model.detector
    losses = model.loss(*make_batch([(True, False), (True, False)]))
    assert losses['seg_loss'][0].item() == 0.0
    assert losses['loss_det'].item() > 0

    backward_of(model, losses['loss_det'] + losses['seg_loss'][0])
    assert grads(det.seg_head).abs().sum() == 0  # no task-loss gradient
    assert grads(det.det_head).abs().sum() > 0

    backward_of(model, losses['loss_align'])
    assert grads(model.bank.surrogates['seg']).abs().sum() > 0
    assert grads(det.encoder).abs().sum() > 0
    assert grads(det.seg_head[0]).abs().sum() > 0  # up to the tap


def test_labeled_task_gets_task_gradient():
    model = build_wrapper()
    losses = model.loss(*make_batch([(True, True), (True, True)]))
    backward_of(model, losses['seg_loss'][0])
    assert grads(model.detector.seg_head).abs().sum() > 0


def test_mixed_batch_is_grouped_and_weighted_by_group_size():
    model = build_wrapper()
    det = model.detector
    masks = [(True, False), (False, True), (True, False)]
    inputs, samples = make_batch(masks)
    losses = model.loss(inputs, samples)
    assert det.loss_calls == 2

    group_a = det.loss(inputs[[0, 2]], [samples[0], samples[2]])
    group_b = det.loss(inputs[[1]], [samples[1]])
    assert torch.allclose(losses['loss_det'], 2 / 3 * group_a['loss_det'])
    assert torch.allclose(losses['seg_loss'][0],
                          1 / 3 * group_b['seg_loss'][0])
    assert torch.allclose(losses['loss_reg'], group_a['loss_reg'])

    # every sample contributes to alignment, whatever its mask
    with model.taps:
        det.loss(inputs, samples)
    full = model.bank(model.taps.collect(3))
    assert torch.allclose(losses['loss_align'], full['loss_align'])
    assert torch.allclose(losses['dist_seg'], full['dist_seg'])


def test_train_step_logs_alignment():
    model = build_wrapper(align_weight=0.0)
    inputs, samples = make_batch([(True, False), (False, True)])
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(dict(inputs=inputs, data_samples=samples), optim)
    assert {'loss', 'loss_align', 'dist_det', 'dist_seg'} <= set(log)
    assert log['loss_align'].item() == 0.0


def test_inference_is_the_detector_s_own():
    model = build_wrapper()
    inputs, samples = make_batch([(True, True)])
    model.loss(inputs, samples)
    hooked = [m for m in model.detector.modules() if m._forward_hooks]
    assert not hooked  # taps exist only inside loss
    expected = model.detector.predict(inputs, samples)
    assert torch.equal(model(inputs, samples, mode='predict'), expected)
    assert torch.equal(model.predict(inputs, samples), expected)
    assert model.data_preprocessor is model.detector.data_preprocessor


def test_state_dict_has_detector_and_surrogate_keys_only():
    keys = build_wrapper().state_dict().keys()
    assert all(k.startswith(('detector.', 'bank.')) for k in keys)
    assert any(k.startswith('bank.') for k in keys)


def test_take_splits_tensors_lists_and_voxels():
    coors = torch.tensor([[0, 1, 1, 1], [2, 0, 0, 0], [1, 3, 3, 3],
                          [2, 5, 5, 5]])
    inputs = dict(imgs=torch.arange(3), points=['p0', 'p1', 'p2'],
                  voxels=dict(coors=coors, voxels=torch.arange(4)))
    taken = take_samples(inputs, [0, 2], 3, 'inputs')
    assert taken['imgs'].tolist() == [0, 2]
    assert taken['points'] == ['p0', 'p2']
    assert taken['voxels']['voxels'].tolist() == [0, 1, 3]
    assert taken['voxels']['coors'][:, 0].tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match=r"inputs\['imgs'\] of shape \(2,\)"):
        take_samples(dict(imgs=torch.zeros(2)), [0], 3, 'inputs')


def test_bad_configs():
    with pytest.raises(ValueError,
                       match=r"no submodule 'det_head.7'.*'det_head.0'"):
        build_wrapper(taps=dict(det='det_head.7', seg='seg_head.0'))
    with pytest.raises(ValueError, match=r"no submodule 'seg_haed'.*"
                       r"'seg_head'"):
        build_wrapper(taps=dict(det='det_head.0', seg='seg_haed'))
    with pytest.raises(ValueError, match=r"taps=\['det', 'seg'\], "
                       r"surrogates=\['det', 'seg'\], "
                       r"task_losses \+ task_classes=\['det', 'map'\]"):
        build_wrapper(task_losses=dict(det=['loss_det'], map=['seg_']))
    with pytest.raises(ValueError, match=r"taps=\['det'\]"):
        build_wrapper(taps=dict(det='det_head.0'))
    with pytest.raises(ValueError, match='>= 0'):
        build_wrapper(align_weight=-1.0)
    model = build_wrapper(task_losses=dict(det=['loss_det'], seg=['loss_seg']))
    with pytest.raises(ValueError, match=r"task_losses\['seg'\]"):
        model.loss(*make_batch([(True, False)]))
    model = build_wrapper(task_losses=None)
    with pytest.raises(ValueError, match=r"unlabeled for \['seg'\]"):
        model.loss(*make_batch([(True, False)]))
    model = build_wrapper(taps=dict(det='det_head.0', seg='seg_head'))
    with pytest.raises(ValueError, match="surrogate 'seg'.*C=1"):
        model.loss(*make_batch([(True, True)]))  # seg_head gives 1 channel
