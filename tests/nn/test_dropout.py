import pytest
import torch

from sktransformer.nn import Dropout


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_zeroes_a_share_p_and_keeps_the_mean(p):
    torch.manual_seed(0)
    layer = Dropout(p).train()
    x = torch.ones(200_000)
    y = layer(x)
    assert abs((y == 0).float().mean().item() - p) < 0.01
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)))
    assert abs(y.mean().item() - 1.0) < 0.02


def test_dropout_is_the_identity_in_eval_and_at_zero():
    x = torch.randn(4, 5)
    assert torch.equal(Dropout(0.3).eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))


def test_dropout_gradient_flows_through_kept_elements_only():
    torch.manual_seed(0)
    x = torch.ones(1000, requires_grad=True)
    y = Dropout(0.5).train()(x)
    y.sum().backward()
    assert torch.equal(x.grad == 0, y.detach() == 0)
