import itertools

import pytest
import torch

from mmdet3d.registry import MODELS
from nexusflow.core import (CentroidAlignmentLoss, PairwiseAlignmentLoss,
                            centroid_distances, latent_centroid)


def make_latents(n, batch=4, dim=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {
        f'task{i}': torch.randn(batch, dim, generator=gen, dtype=torch.float64)
        for i in range(n)
    }


@pytest.mark.parametrize('n', [2, 3, 5])
def test_centroid_equals_pairwise_over_n(n):
    latents = make_latents(n)
    centroid = CentroidAlignmentLoss(reduction='none')(latents)
    pairwise = PairwiseAlignmentLoss(reduction='none')(latents)
    assert centroid.shape == (4, )
    assert torch.allclose(centroid, pairwise / n, rtol=1e-12)


def test_losses_match_their_definitions():
    latents = make_latents(3)
    zs = list(latents.values())
    mean = sum(zs) / 3
    centroid = sum(((z - mean)**2).sum(-1) for z in zs)
    pairwise = sum(((a - b)**2).sum(-1)
                   for a, b in itertools.combinations(zs, 2))
    assert torch.allclose(CentroidAlignmentLoss()(latents), centroid.mean())
    assert torch.allclose(PairwiseAlignmentLoss()(latents), pairwise.mean())


def test_reduction_and_loss_weight():
    latents = make_latents(3)
    per_sample = CentroidAlignmentLoss(reduction='none')(latents)
    loss = MODELS.build(dict(type='CentroidAlignmentLoss', loss_weight=2.5,
                             reduction='sum'))
    assert torch.allclose(loss(latents), 2.5 * per_sample.sum())
    assert torch.allclose(CentroidAlignmentLoss()(latents), per_sample.mean())


def test_identical_latents_give_zero():
    z = torch.randn(3, 4)
    latents = dict(a=z, b=z.clone(), c=z.clone())
    assert CentroidAlignmentLoss()(latents).item() < 1e-12
    assert PairwiseAlignmentLoss()(latents).item() == 0


def test_weighted_centroid():
    latents = make_latents(3, batch=2)
    equal = {task: torch.full((2, ), 0.7, dtype=torch.float64)
             for task in latents}
    loss = CentroidAlignmentLoss(reduction='none')
    assert torch.allclose(loss(latents, equal), loss(latents))
    one_hot = {task: torch.tensor([1.0, 0.0], dtype=torch.float64)
               for task in latents}
    one_hot['task1'] = torch.tensor([0.0, 2.0], dtype=torch.float64)
    z = latents
    assert torch.allclose(
        latent_centroid(latents, one_hot),
        torch.stack([(z['task0'][0] + z['task2'][0]) / 2, z['task1'][1]]))
    expected_1 = sum(((z[t][1] - z['task1'][1])**2).sum() for t in z)
    assert torch.allclose(loss(latents, one_hot)[1], expected_1)


def test_centroid_distances():
    latents = make_latents(3)
    mean = sum(latents.values()) / 3
    dists = centroid_distances(latents)
    assert set(dists) == set(latents)
    for task, z in latents.items():
        assert torch.allclose(dists[task], (z - mean).norm(dim=-1).mean())


def test_bad_inputs():
    loss = CentroidAlignmentLoss()
    with pytest.raises(ValueError, match='same shape'):
        loss(dict(a=torch.zeros(2, 3), b=torch.zeros(2, 4)))
    with pytest.raises(ValueError, match='non-empty dict'):
        loss({})
    latents = dict(a=torch.zeros(2, 3), b=torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"weight tasks \['a'\]"):
        loss(latents, dict(a=torch.ones(2)))
    with pytest.raises(ValueError, match=r"weights\['b'\] must have shape"):
        loss(latents, dict(a=torch.ones(2), b=torch.ones(3)))
    with pytest.raises(ValueError, match='>= 0'):
        loss(latents, dict(a=torch.ones(2), b=-torch.ones(2)))
    with pytest.raises(ValueError, match='no per-task'):
        PairwiseAlignmentLoss()(latents, dict(a=torch.ones(2),
                                              b=torch.ones(2)))
    with pytest.raises(ValueError, match='reduction'):
        CentroidAlignmentLoss(reduction='max')
