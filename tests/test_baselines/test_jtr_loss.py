"""JTRLoss: paper-size latent, target stack, weights, detached recon."""
import torch

from nexusflow.baselines import JTRLoss

CHANNELS = dict(semantic=3, depth=1, normal=3)


def test_paper_size_latent_is_512x9x12():
    with torch.device('meta'):
        jtr = JTRLoss(dict(semantic=13, depth=1, normal=3))
        latent = jtr.encode(torch.empty(1, 17, 288, 384))
        recon = jtr.decoder(latent)
    assert latent.shape == (1, 512, 9, 12)
    assert recon.shape == (1, 17, 288, 384)
    assert jtr.c_dist == 4.0 and jtr.c_recon == 2.0


def _inputs(labeled_depth):
    torch.manual_seed(0)
    preds = dict(semantic=torch.randn(2, 3, 8, 8, requires_grad=True),
                 depth=torch.rand(2, 1, 8, 8, requires_grad=True),
                 normal=torch.nn.functional.normalize(
                     torch.randn(2, 3, 8, 8), dim=1).requires_grad_())
    targets = dict(semantic=torch.randint(-1, 3, (2, 8, 8)),
                   depth=torch.rand(2, 1, 8, 8) + 1,
                   normal=torch.zeros(2, 3, 8, 8))
    labeled = dict(semantic=torch.tensor([True, False]),
                   depth=torch.tensor(labeled_depth),
                   normal=torch.tensor([False, False]))
    return preds, targets, labeled


def test_target_stack_uses_labels_where_present():
    jtr = JTRLoss(CHANNELS, channels=(4, 8))
    preds, targets, labeled = _inputs([True, False])
    pred_stack = jtr._prediction_stack(preds)
    stack = jtr._target_stack(pred_stack, targets, labeled)
    assert torch.equal(stack['depth'][0], targets['depth'][0])
    assert torch.equal(stack['depth'][1], pred_stack['depth'][1])
    valid = targets['semantic'][0] >= 0
    assert torch.equal(stack['semantic'][0].argmax(0)[valid],
                       targets['semantic'][0][valid])
    assert torch.equal(stack['semantic'][0][:, ~valid],
                       pred_stack['semantic'][0][:, ~valid])
    assert torch.equal(stack['normal'], pred_stack['normal'])


def test_no_labels_gives_zero_distance():
    jtr = JTRLoss(CHANNELS, channels=(4, 8))
    jtr.eval()
    preds, targets, labeled = _inputs([False, False])
    labeled['semantic'] = torch.tensor([False, False])
    losses = jtr(preds, targets, labeled)
    assert losses['loss_jtr_dist'].abs() < 1e-6
    assert losses['loss_jtr_recon'] > 0


def test_weights_and_detached_reconstruction():
    base = JTRLoss(CHANNELS, channels=(4, 8))
    scaled = JTRLoss(CHANNELS, channels=(4, 8), c_dist=8.0, c_recon=1.0)
    scaled.load_state_dict(base.state_dict())
    preds, targets, labeled = _inputs([True, False])
    one = base(preds, targets, labeled)
    two = scaled(preds, targets, labeled)
    assert torch.allclose(two['loss_jtr_dist'], 2 * one['loss_jtr_dist'])
    assert torch.allclose(two['loss_jtr_recon'], one['loss_jtr_recon'] / 2)
    # Reconstruction trains the auto-encoder only, never the predictions.
    one['loss_jtr_recon'].backward()
    assert all(p.grad is None for p in preds.values())
    assert any(p.grad is not None for p in base.decoder.parameters())
