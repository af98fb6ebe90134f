import pytest
import torch
from mmengine.structures import BaseDataElement

from nexusflow.attach import (get_task_masks, group_by_task_mask,
                              match_loss_keys, zero_unlabeled_losses)

TASKS = ['track', 'map']
TASK_LOSSES = dict(track=['loss_cls', r'd\d\.loss_bbox'], map=['map.'])


def sample(**mask):
    return BaseDataElement(metainfo=dict(task_mask=mask) if mask else {})


def test_get_task_masks():
    samples = [sample(track=True, map=0, extra=False), sample()]
    assert get_task_masks(samples, TASKS) == [
        dict(track=True, map=False), dict(track=True, map=True)]
    with pytest.raises(ValueError, match=r"data_samples\[0\].*'map'"):
        get_task_masks([sample(track=True)], TASKS)
    with pytest.raises(ValueError, match='no metainfo'):
        get_task_masks([dict(task_mask={})], TASKS)


def test_group_by_task_mask_keeps_first_appearance_order():
    a, b = dict(track=True, map=False), dict(track=False, map=True)
    groups = group_by_task_mask([a, b, dict(a), b, a])
    assert groups == [(a, [0, 2, 4]), (b, [1, 3])]


def make_losses():
    weight = torch.ones((), requires_grad=True)
    return weight, {
        'loss_cls': weight * 2,
        'd0.loss_bbox': [weight * 3, weight * 4],
        'map.loss_mask': weight * 5,
        'loss_shared': weight * 6,
    }


def test_zero_unlabeled_losses_keeps_keys_and_graph():
    weight, losses = make_losses()
    zeroed = zero_unlabeled_losses(losses, dict(track=False, map=True),
                                   TASK_LOSSES)
    assert list(zeroed) == list(losses)
    assert zeroed['loss_cls'].item() == 0.0
    assert [v.item() for v in zeroed['d0.loss_bbox']] == [0.0, 0.0]
    assert zeroed['map.loss_mask'].item() == 5.0
    assert zeroed['loss_shared'].item() == 6.0
    assert zeroed['loss_cls'].requires_grad  # still in the graph
    total = zeroed['loss_cls'] + sum(zeroed['d0.loss_bbox'])
    total.backward()
    assert weight.grad.item() == 0.0


def test_match_loss_keys_errors():
    _, losses = make_losses()
    owned = match_loss_keys(list(losses), TASK_LOSSES)
    assert owned == dict(track=['loss_cls', 'd0.loss_bbox'],
                         map=['map.loss_mask'])
    with pytest.raises(ValueError, match=r"task_losses\['map'\].*matches "
                       'none'):
        match_loss_keys(list(losses), dict(track=['loss_cls'], map=['seg']))
    with pytest.raises(ValueError, match="'d0.loss_bbox' is matched by"):
        match_loss_keys(list(losses), dict(track=['d0'], map=[r'd\d']))
