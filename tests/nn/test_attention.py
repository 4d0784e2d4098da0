import math

import pytest
import torch
from torch import nn

from sktransformer.nn import MultiHeadSelfAttention, build_attention_mask

B, T, C, H = 3, 5, 8, 2


@pytest.fixture
def attn():
    torch.manual_seed(0)
    m = MultiHeadSelfAttention(C, H)
    m.eval()
    return m


@pytest.fixture
def x():
    torch.manual_seed(1)
    return torch.randn(B, T, C)


@pytest.fixture
def mask():
    return torch.tensor(
        [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool
    )


def naive(m, x, mask=None, causal=False):
    """softmax(QK^T / sqrt(d)) V written out by hand from the module's weights."""
    Bx, Tx, Cx = x.shape
    D = Cx // m.n_heads
    Wq, Wk, Wv = m.qkv.weight.split(Cx, 0)
    bq, bk, bv = m.qkv.bias.split(Cx, 0)
    q = (x @ Wq.T + bq).view(Bx, Tx, m.n_heads, D).transpose(1, 2)
    k = (x @ Wk.T + bk).view(Bx, Tx, m.n_heads, D).transpose(1, 2)
    v = (x @ Wv.T + bv).view(Bx, Tx, m.n_heads, D).transpose(1, 2)
    scores = q @ k.transpose(-1, -2) / math.sqrt(D)
    allowed = torch.ones(Bx, 1, Tx, Tx, dtype=torch.bool)
    if mask is not None:
        allowed = allowed & mask[:, None, None, :]
    if causal:
        allowed = allowed & torch.ones(Tx, Tx, dtype=torch.bool).tril()
    scores = scores.masked_fill(~allowed, float("-inf"))
    w = torch.softmax(scores, -1)
    y = (w @ v).transpose(1, 2).reshape(Bx, Tx, Cx)
    return y @ m.out_proj.weight.T + m.out_proj.bias, w


@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_matches_naive_reference(attn, x, mask, use_mask, causal, need_weights):
    m = mask if use_mask else None
    out, w = attn(x, m, causal=causal, need_weights=need_weights)
    ref, ref_w = naive(attn, x, m, causal)
    assert out.shape == (B, T, C)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    if need_weights:
        assert w.shape == (B, H, T, T)
        torch.testing.assert_close(w, ref_w, atol=1e-6, rtol=1e-5)
    else:
        assert w is None


def test_matches_torch_multihead_attention(attn, x, mask):
    ref = nn.MultiheadAttention(C, H, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(attn.qkv.weight)
        ref.in_proj_bias.copy_(attn.qkv.bias)
        ref.out_proj.weight.copy_(attn.out_proj.weight)
        ref.out_proj.bias.copy_(attn.out_proj.bias)
    ref.eval()
    expected, expected_w = ref(
        x, x, x, key_padding_mask=~mask, need_weights=True, average_attn_weights=False
    )
    out, w = attn(x, mask)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    out_w, w = attn(x, mask, need_weights=True)
    torch.testing.assert_close(out_w, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(w, expected_w, atol=1e-5, rtol=1e-5)
    # without any mask too
    expected_nomask, _ = ref(x, x, x, need_weights=False)
    torch.testing.assert_close(attn(x)[0], expected_nomask, atol=1e-5, rtol=1e-5)


def test_weights_rows_sum_to_one_and_zero_on_padding(attn, x, mask):
    _, w = attn(x, mask, need_weights=True)
    torch.testing.assert_close(w.sum(-1), torch.ones(B, H, T))
    pad_keys = ~mask[:, None, None, :].expand(B, H, T, T)
    assert torch.all(w[pad_keys] == 0)
    assert w[pad_keys].numel() == H * T * (2 + 4)


def test_padding_does_not_change_real_tokens(attn):
    torch.manual_seed(2)
    x = torch.randn(2, 4, C)
    mask = torch.ones(2, 4, dtype=torch.bool)
    out, _ = attn(x, mask)
    for causal in (False, True):
        out, _ = attn(x, mask, causal=causal)
        x_pad = torch.cat([x, 100 * torch.randn(2, 3, C)], dim=1)
        mask_pad = torch.cat([mask, torch.zeros(2, 3, dtype=torch.bool)], dim=1)
        out_pad, _ = attn(x_pad, mask_pad, causal=causal)
        torch.testing.assert_close(out_pad[:, :4], out, atol=1e-5, rtol=1e-5)


def test_int_and_float_masks_accepted(attn, x, mask):
    out, _ = attn(x, mask)
    torch.testing.assert_close(attn(x, mask.long())[0], out)
    torch.testing.assert_close(attn(x, mask.float())[0], out)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_all_masked_rows_do_not_produce_nan(attn, x, need_weights, causal):
    # row 0: all padding; row 1: left padding, so causal rows 0-1 see no key
    mask = torch.tensor(
        [[0, 0, 0, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=torch.bool
    )
    out, w = attn(x, mask, causal=causal, need_weights=need_weights)
    assert torch.isfinite(out).all()
    # a query with no visible key attends to nothing: output is the out_proj bias
    torch.testing.assert_close(out[0], attn.out_proj.bias.expand(T, C))
    if causal:
        torch.testing.assert_close(out[1, :2], attn.out_proj.bias.expand(2, C))
    if need_weights:
        assert torch.all(w[0] == 0)
        torch.testing.assert_close(w[2].sum(-1), torch.ones(H, T))
    # valid rows still match the reference
    ref, _ = naive(attn, x[2:], mask[2:], causal)
    torch.testing.assert_close(out[2:], ref, atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in attn.parameters())


def test_dropout_only_in_training(x, mask):
    torch.manual_seed(0)
    m = MultiHeadSelfAttention(C, H, dropout=0.5)
    m.eval()
    a, _ = m(x, mask)
    b, _ = m(x, mask)
    torch.testing.assert_close(a, b)
    m.train()
    c, _ = m(x, mask)
    assert not torch.allclose(a, c)


def test_d_model_not_divisible_raises():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadSelfAttention(10, 3)


def test_build_attention_mask():
    assert build_attention_mask(None, 4, False, "cpu") is None
    causal = build_attention_mask(None, 3, True, "cpu")
    assert causal.shape == (1, 1, 3, 3)
    assert causal[0, 0].tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    m = build_attention_mask(torch.tensor([[1, 1, 0]]), 3, True, "cpu")
    assert m.dtype == torch.bool
    assert m[0, 0].tolist() == [[True, False, False], [True, True, False], [True, True, False]]
    kp = build_attention_mask(torch.tensor([[1, 0]]), 2, False, "cpu")
    assert kp.shape == (1, 1, 1, 2)
