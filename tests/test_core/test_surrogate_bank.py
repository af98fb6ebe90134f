import pytest
import torch

from nexusflow.core import SurrogateBank

SURROGATES = dict(
    track=dict(aggregator=dict(type='MLPAggregator', in_channels=6,
                               out_dim=4),
               flow=dict(type='RealNVPFlow', num_layers=2)),
    map=dict(aggregator=dict(type='MLPAggregator', in_channels=8,
                             out_dim=4, pool='max'),
             flow=dict(type='RealNVPFlow', num_layers=2)))


def make_bank(**kwargs):
    torch.manual_seed(0)
    return SurrogateBank(SURROGATES, dict(type='CentroidAlignmentLoss'),
                         **kwargs)


def make_feats():
    return dict(track=torch.randn(3, 5, 6), map=torch.randn(3, 8, 4, 4))


def test_losses_and_logged_distances():
    bank = make_bank()
    losses = bank(make_feats())
    assert set(losses) == {'loss_align', 'dist_track', 'dist_map'}
    assert losses['loss_align'].requires_grad
    assert not losses['dist_track'].requires_grad
    assert losses['dist_track'] > 0


def test_loss_is_scaled_by_lambda():
    bank, feats = make_bank(), make_feats()
    base = bank(feats)['loss_align']
    bank.align_weight = 2.5
    assert torch.allclose(bank(feats)['loss_align'], 2.5 * base)


def test_zero_lambda_keeps_every_parameter_in_graph():
    bank = make_bank(align_weight=0.0)
    losses = bank(make_feats())
    assert losses['loss_align'].item() == 0.0
    losses['loss_align'].backward()
    missing = [n for n, p in bank.named_parameters() if p.grad is None]
    assert not missing
    assert all(p.grad.abs().sum() == 0 for p in bank.parameters())


def test_query_set_with_mask_tuple():
    bank = make_bank()
    feats = make_feats()
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[:, 2:] = True
    latents = bank.encode(dict(track=(feats['track'], mask),
                               map=feats['map']))
    expected = bank.surrogates['track'](feats['track'][:, :2])
    assert torch.allclose(latents['track'], expected)


def test_bad_config_and_inputs():
    with pytest.raises(ValueError, match='>= 0'):
        make_bank(align_weight=-0.1)
    bank = make_bank()
    with pytest.raises(ValueError, match='>= 0'):
        bank.align_weight = -1
    with pytest.raises(ValueError,
                       match=r"\['lane', 'track'\] must equal the surrogate "
                       r"tasks \['map', 'track'\]"):
        bank(dict(track=torch.randn(2, 5, 6), lane=torch.randn(2, 8, 4, 4)))
    surrogates = dict(SURROGATES)
    surrogates['map'] = dict(
        aggregator=dict(type='MLPAggregator', in_channels=8, out_dim=3))
    with pytest.raises(ValueError, match='same latent size'):
        SurrogateBank(surrogates, dict(type='CentroidAlignmentLoss'))


@pytest.mark.parametrize('fault', ['nan_feature', 'exploding_flow'])
def test_nonfinite_alignment_is_dropped_not_propagated(fault):
    bank = SurrogateBank(
        dict(a=dict(aggregator=dict(type='MLPAggregator', in_channels=4,
                                    out_dim=3),
                    flow=dict(type='RealNVPFlow', num_layers=2)),
             b=dict(aggregator=dict(type='MLPAggregator', in_channels=4,
                                    out_dim=3),
                    flow=dict(type='RealNVPFlow', num_layers=2))),
        dict(type='CentroidAlignmentLoss'))
    host = torch.nn.Linear(4, 4)  # stands in for the host's tapped branch
    x = torch.randn(2, 4)
    feats = dict(a=host(x).unsqueeze(-1).unsqueeze(-1),
                 b=host(x + 1).unsqueeze(-1).unsqueeze(-1))
    if fault == 'nan_feature':
        feats['a'] = feats['a'] * torch.tensor(float('nan'))
    else:
        with torch.no_grad():
            for p in bank.surrogates['b'].aggregator.parameters():
                p.fill_(1e38)
    losses = bank(feats)
    assert losses['loss_align'].item() == 0.0
    assert bank.nonfinite_steps == 1
    task_loss = host(x).pow(2).mean()  # the host's own task loss
    (task_loss + losses['loss_align']).backward()
    for p in list(host.parameters()) + list(bank.parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all()
    # The host's gradient is its task loss's alone.
    expected = torch.autograd.grad(host(x).pow(2).mean(), host.weight)[0]
    torch.testing.assert_close(host.weight.grad, expected)
