import pytest
import torch

from sktransformer.nn import Encoder, EncoderBlock, FeedForward

C, H, FF = 8, 2, 16


def test_feedforward_shape():
    ff = FeedForward(C, FF)
    assert ff(torch.randn(2, 3, C)).shape == (2, 3, C)


@pytest.mark.parametrize("norm_first", [True, False])
def test_block_shapes(norm_first):
    torch.manual_seed(0)
    block = EncoderBlock(C, H, FF, dropout=0.0, norm_first=norm_first)
    x = torch.randn(2, 5, C)
    out, w = block(x)
    assert out.shape == (2, 5, C)
    assert w is None
    out, w = block(x, need_weights=True)
    assert w.shape == (2, H, 5, 5)


def test_post_ln_output_is_normalized():
    torch.manual_seed(0)
    block = EncoderBlock(C, H, FF, dropout=0.0, norm_first=False)
    out, _ = block(3 * torch.randn(2, 5, C) + 1)
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 5), atol=1e-5, rtol=0)


def test_pre_ln_block_matches_formula():
    torch.manual_seed(0)
    block = EncoderBlock(C, H, FF, dropout=0.0, norm_first=True).eval()
    x = torch.randn(2, 5, C)
    h = x + block.attn(block.ln1(x))[0]
    expected = h + block.ff(block.ln2(h))
    torch.testing.assert_close(block(x)[0], expected)


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_encoder_padding_invariance(norm_first, causal):
    torch.manual_seed(0)
    enc = Encoder(C, H, 3, FF, dropout=0.0, norm_first=norm_first).eval()
    x = torch.randn(2, 4, C)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    out, _ = enc(x, mask, causal=causal)
    x_pad = torch.cat([x, torch.randn(2, 3, C)], dim=1)
    mask_pad = torch.cat([mask, torch.zeros(2, 3, dtype=torch.bool)], dim=1)
    out_pad, _ = enc(x_pad, mask_pad, causal=causal)
    torch.testing.assert_close(out_pad[0, :4], out[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out_pad[1, :2], out[1, :2], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_weights_list(norm_first):
    enc = Encoder(C, H, 3, FF, norm_first=norm_first).eval()
    x = torch.randn(2, 4, C)
    out, weights = enc(x, need_weights=True)
    assert out.shape == (2, 4, C)
    assert len(weights) == 3
    assert all(w.shape == (2, H, 4, 4) for w in weights)
    assert enc(x)[1] is None
    # the final LayerNorm exists only for pre-LN
    assert isinstance(enc.ln_f, torch.nn.LayerNorm) == norm_first


@pytest.mark.parametrize("first_norm", [True, False])
def test_encoder_first_norm_decides_whether_input_scale_reaches_attention(first_norm):
    torch.manual_seed(0)
    enc = Encoder(C, H, 2, FF, dropout=0.0, first_norm=first_norm).eval()
    block = enc.layers[0]
    x = torch.randn(2, 4, C)
    # the first attention sees ln1(x): with the LayerNorm, 3x and x look the same to it
    a1 = block.attn(block.ln1(x))[0]
    a3 = block.attn(block.ln1(3 * x))[0]
    assert torch.allclose(a1, a3, atol=1e-5) == first_norm
    # only the first block changes: the second keeps its input LayerNorm
    assert isinstance(enc.layers[1].ln1, torch.nn.LayerNorm)
    h = x + a1
    torch.testing.assert_close(enc(x)[0], enc.ln_f(enc.layers[1](h + block.ff(block.ln2(h)))[0]))


def test_encoder_first_norm_is_moot_for_post_ln():
    enc = Encoder(C, H, 2, FF, norm_first=False, first_norm=False)
    assert all(isinstance(layer.ln1, torch.nn.LayerNorm) for layer in enc.layers)
