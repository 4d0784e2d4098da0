import pytest
import torch
import torch.nn.functional as F

from sktransformer.nn import MaskedReconstructionLoss, MLMLoss


def test_masked_reconstruction_loss_is_the_mean_over_hidden_tokens():
    errors = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    hidden = torch.tensor([[True, False, True], [False, False, True]])
    loss = MaskedReconstructionLoss()((errors, hidden), torch.zeros(2, 1))  # skorch's y is ignored
    assert loss.item() == pytest.approx((1 + 3 + 6) / 3)
    # nothing hidden: 0, not NaN
    assert MaskedReconstructionLoss()((errors, torch.zeros(2, 3, dtype=torch.bool))).item() == 0.0
    # errors outside the hidden tokens do not count, even huge ones
    big = errors.masked_fill(~hidden, 1e6)
    assert MaskedReconstructionLoss()((big, hidden)).item() == pytest.approx(loss.item())


def test_mlm_loss_is_cross_entropy_in_float():
    torch.manual_seed(0)
    logits, targets = torch.randn(5, 7), torch.tensor([0, 3, 6, 2, 2])
    loss = MLMLoss()((logits, targets), None)
    expected = -logits.log_softmax(-1)[torch.arange(5), targets].mean()
    torch.testing.assert_close(loss, expected)
    half = MLMLoss()((logits.bfloat16(), targets))
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, F.cross_entropy(logits.bfloat16().float(), targets))


def test_losses_live_in_one_module():
    from sktransformer.nn import losses

    assert losses.MLMLoss is MLMLoss and losses.MaskedReconstructionLoss is MaskedReconstructionLoss
    from sktransformer.nn import backbones

    assert not hasattr(backbones, "MLMLoss") and not hasattr(backbones, "MaskedLanguageModel")
