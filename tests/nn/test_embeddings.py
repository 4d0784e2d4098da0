import math

import pytest
import torch

from sktransformer.nn import (
    FeatureTokenizer,
    LearnedPositions,
    SinusoidalPositions,
    StepProjection,
    TokenEmbedding,
)


@pytest.mark.parametrize("d_model", [6, 7])
def test_sinusoidal_values(d_model):
    pe = SinusoidalPositions(10, d_model)(5)
    assert pe.shape == (5, d_model)
    for pos in range(5):
        for i in range(d_model):
            angle = pos / 10000 ** (2 * (i // 2) / d_model)
            expected = math.sin(angle) if i % 2 == 0 else math.cos(angle)
            assert pe[pos, i].item() == pytest.approx(expected, abs=1e-6)


def test_positions_too_long_raises():
    with pytest.raises(ValueError, match="max"):
        SinusoidalPositions(4, 8)(5)
    with pytest.raises(ValueError, match="max"):
        LearnedPositions(4, 8)(5)
    assert LearnedPositions(4, 8)(3).shape == (3, 8)


def test_token_embedding_default_mask_and_values():
    torch.manual_seed(0)
    emb = TokenEmbedding(10, 8, max_length=4)
    ids = torch.tensor([[3, 4, 0, 0], [1, 2, 3, 5]])
    x, mask = emb(ids)
    assert x.shape == (2, 4, 8)
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[True, True, False, False], [True] * 4]
    torch.testing.assert_close(x, emb.tok.weight[ids] + emb.pos.weight[:4])
    # explicit masks (int) win over pad_id
    _, mask2 = emb(ids, torch.ones(2, 4, dtype=torch.long))
    assert mask2.dtype == torch.bool and mask2.all()
    # init std is small
    assert emb.tok.weight.std().item() < 0.05
    torch.testing.assert_close(emb.tok.weight[0], torch.zeros(8))


def test_token_embedding_cls():
    torch.manual_seed(0)
    emb = TokenEmbedding(10, 8, max_length=4, positional="sinusoidal", add_cls=True)
    ids = torch.tensor([[3, 4, 0, 0]])
    x, mask = emb(ids)
    assert x.shape == (1, 5, 8)
    assert mask.tolist() == [[True, True, True, False, False]]
    pe = SinusoidalPositions(5, 8)(5)
    torch.testing.assert_close(x[0, 0], emb.cls[0, 0] + pe[0])
    torch.testing.assert_close(x[0, 1], emb.tok.weight[3] + pe[1])


def test_token_embedding_bad_positional():
    with pytest.raises(ValueError, match="positional"):
        TokenEmbedding(10, 8, 4, positional="rotary")


def test_feature_tokenizer_both():
    torch.manual_seed(0)
    ft = FeatureTokenizer(2, [3, 4], d_model=8, add_cls=True)
    x_num = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    x_cat = torch.tensor([[0, 3], [2, 1]])
    x, mask = ft(x_num, x_cat)
    assert x.shape == (2, 5, 8)
    assert mask.shape == (2, 5) and mask.all()
    torch.testing.assert_close(x[0, 0], ft.cls[0, 0])
    torch.testing.assert_close(x[0, 2], -2.0 * ft.num_weight[1] + ft.num_bias[1])
    # second categorical column, code 3 -> row 3 + 3 (offset) of the shared table
    torch.testing.assert_close(x[0, 4], ft.cat_embed.weight[6] + ft.cat_bias[1])
    torch.testing.assert_close(x[1, 3], ft.cat_embed.weight[2] + ft.cat_bias[0])


def test_feature_tokenizer_numeric_only():
    ft = FeatureTokenizer(3, [], d_model=4, add_cls=False)
    x, mask = ft(torch.randn(5, 3), torch.zeros(5, 0, dtype=torch.long))
    assert x.shape == (5, 3, 4) and mask.all()
    x2, _ = ft(x_num=torch.randn(5, 3))
    assert x2.shape == (5, 3, 4)


def test_feature_tokenizer_categorical_only():
    ft = FeatureTokenizer(0, [2, 5], d_model=4)
    x, mask = ft(torch.zeros(6, 0), torch.tensor([[0, 4]] * 6))
    assert x.shape == (6, 3, 4) and mask.shape == (6, 3) and mask.all()
    x2, _ = ft(x_cat=torch.tensor([[1, 1]]))
    assert x2.shape == (1, 3, 4)


def test_feature_tokenizer_errors():
    with pytest.raises(ValueError, match="at least one"):
        FeatureTokenizer(0, [], d_model=4)
    ft = FeatureTokenizer(2, [3], d_model=4)
    with pytest.raises(ValueError, match="x_num"):
        ft(torch.randn(2, 3), torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="x_cat"):
        ft(torch.randn(2, 2), None)


def test_feature_tokenizer_noise_only_in_training():
    torch.manual_seed(0)
    x_num, x_cat = torch.randn(64, 3), torch.randint(0, 2, (64, 1))
    ft = FeatureTokenizer(3, [2], d_model=4, noise_std=0.5)
    plain = FeatureTokenizer(3, [2], d_model=4)
    plain.load_state_dict(ft.state_dict())
    ft.eval()
    assert torch.equal(ft(x_num, x_cat)[0], plain(x_num, x_cat)[0])  # no noise at evaluation
    ft.train()
    noisy, clean = ft(x_num, x_cat)[0], plain(x_num, x_cat)[0]
    # numeric tokens move, by noise * weight: the recovered noise has the asked-for spread
    moved = (noisy[:, 1:4] - clean[:, 1:4]) / ft.num_weight
    assert 0.4 < moved.std().item() < 0.6
    torch.testing.assert_close(moved, moved[..., :1].expand_as(moved))  # one draw per value
    assert torch.equal(noisy[:, 4:], clean[:, 4:])  # categorical tokens (and CLS) are untouched
    assert torch.equal(noisy[:, 0], clean[:, 0])
    with pytest.raises(ValueError, match="noise_std"):
        FeatureTokenizer(3, [], d_model=4, noise_std=-1.0)


def test_feature_tokenizer_clip():
    torch.manual_seed(0)
    x_num = torch.tensor([[0.0, 1.0, -2.0], [5.0, -40.0, 1e9]])
    ft = FeatureTokenizer(3, [], d_model=4, add_cls=False, clip=3.0, noise_std=0.5)
    plain = FeatureTokenizer(3, [], d_model=4, add_cls=False)
    plain.load_state_dict(ft.state_dict())
    ft.eval()
    squashed = x_num / torch.sqrt(1 + (x_num / 3.0) ** 2)
    torch.testing.assert_close(ft(x_num)[0], plain(squashed)[0])
    assert squashed[0, 1] == pytest.approx(0.949, abs=1e-3)  # a typical value barely moves
    # a value a billion deviations out lands where one at the bound would: its token stays bounded
    torch.testing.assert_close(ft(x_num)[0][1, 2], 3.0 * ft.num_weight[2] + ft.num_bias[2])
    # The noise comes after the clip: a value at the bound still moves by the full noise (were it
    # added first, 0.5 on top of 1e9 would be squashed back to the bound).
    ft.train()
    far = torch.full((256, 3), 1e9)
    moved = (ft(far)[0] - plain(torch.full((256, 3), 3.0))[0]) / ft.num_weight
    assert 0.4 < moved.std().item() < 0.6
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="clip"):
            FeatureTokenizer(3, [], d_model=4, clip=bad)
    del ft.clip  # as unpickled from a version before clip: the class default (no clip) applies
    ft.eval()
    torch.testing.assert_close(ft(x_num)[0], plain(x_num)[0])


def test_step_projection():
    torch.manual_seed(0)
    sp = StepProjection(3, 8, max_length=6, add_cls=True)
    x_seq = torch.randn(2, 4, 3)
    x, mask = sp(x_seq)
    assert x.shape == (2, 5, 8) and mask.all()
    torch.testing.assert_close(x[:, 1:], sp.proj(x_seq) + sp.pos.weight[1:5])
    _, mask = sp(x_seq, torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]]))
    assert mask.tolist() == [[True, True, True, False, False], [True] * 5]
    with pytest.raises(ValueError, match="max"):
        sp(torch.randn(1, 7, 3))


def test_local_projection_kernel_one_is_linear_and_padding_does_not_leak():
    from sktransformer.nn.embeddings import LocalProjection

    torch.manual_seed(0)
    lp = LocalProjection(2, 4, kernel_size=1)
    x = torch.randn(3, 5, 2)
    torch.testing.assert_close(lp(x), x @ lp.weight[:, :, 0].T + lp.bias)
    with pytest.raises(ValueError, match="odd"):
        LocalProjection(2, 4, kernel_size=4)

    sp = StepProjection(2, 8, max_length=6, kernel_size=3, positional=None)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    a = torch.randn(1, 6, 2)
    b = a.clone()
    b[:, 3:] = 100.0  # junk on padding steps
    xa, _ = sp(a, mask)
    xb, _ = sp(b, mask)
    torch.testing.assert_close(xa[:, :3], xb[:, :3])  # real tokens unaffected by padding values
    assert sp(torch.randn(2, 1, 2))[0].shape == (2, 1, 8)  # shorter than the kernel
