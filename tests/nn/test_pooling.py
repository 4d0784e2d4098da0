import pytest
import torch

from sktransformer.nn import Pooling


@pytest.fixture
def data():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    return x, mask


def test_mean(data):
    x, mask = data
    out = Pooling("mean")(x, mask)
    torch.testing.assert_close(out[0], x[0].mean(0))
    torch.testing.assert_close(out[1], x[1, :2].mean(0))
    torch.testing.assert_close(out[2], torch.zeros(5))


def test_max(data):
    x, mask = data
    out = Pooling("max")(x, mask)
    torch.testing.assert_close(out[0], x[0].max(0).values)
    torch.testing.assert_close(out[1], x[1, :2].max(0).values)
    torch.testing.assert_close(out[2], torch.zeros(5))


def test_cls(data):
    x, mask = data
    torch.testing.assert_close(Pooling("cls")(x, mask), x[:, 0])


@pytest.mark.parametrize("mode", ["mean", "max", "cls"])
def test_padding_values_ignored(data, mode):
    x, mask = data
    pool = Pooling(mode)
    out = pool(x, mask)
    x2 = x.clone()
    x2[~mask] = 1e6
    x2[2] = 0.0 if mode == "cls" else x2[2]  # cls reads position 0 even when masked
    torch.testing.assert_close(pool(x2, mask)[:2], out[:2])
    assert torch.isfinite(pool(x2, mask)).all()


def test_no_mask_and_int_mask(data):
    x, mask = data
    torch.testing.assert_close(Pooling("mean")(x), x.mean(1))
    torch.testing.assert_close(Pooling("max")(x, mask.long()), Pooling("max")(x, mask))


def test_unknown_mode():
    with pytest.raises(ValueError, match="pooling"):
        Pooling("sum")
