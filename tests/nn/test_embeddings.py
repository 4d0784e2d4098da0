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


def test_feature_tokenizer_is_linear_in_the_raw_values_in_training_and_evaluation():
    # No noise and no clip: token j is x_j * W_j + b_j for any x_j, a far value included, and the
    # module computes the same thing in both modes.
    torch.manual_seed(0)
    ft = FeatureTokenizer(3, [2], d_model=4, add_cls=False)
    x_num = torch.tensor([[0.0, 1.0, -2.0], [5.0, -40.0, 1e9]])
    x_cat = torch.tensor([[0], [1]])
    expected = x_num[:, :, None] * ft.num_weight + ft.num_bias  # (2, 3, 4)
    for mode in (True, False):
        x, _ = ft.train(mode)(x_num, x_cat)
        torch.testing.assert_close(x[:, :3], expected)
        torch.testing.assert_close(x[:, 3], ft.cat_embed.weight[x_cat[:, 0]] + ft.cat_bias[0])
    assert not hasattr(FeatureTokenizer, "clip") and not hasattr(ft, "noise_std")
    for removed in ({"noise_std": 0.5}, {"clip": 3.0}):
        with pytest.raises(TypeError, match=next(iter(removed))):
            FeatureTokenizer(3, [], d_model=4, **removed)


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


def test_make_positions():
    from sktransformer.nn.embeddings import make_positions

    assert isinstance(make_positions("learned", 5, 8), LearnedPositions)
    sin = make_positions("sinusoidal", 5, 8)
    assert isinstance(sin, SinusoidalPositions) and sin.max_len == 5
    assert make_positions(None, 5, 8) is None and make_positions("none", 5, 8) is None
    with pytest.raises(ValueError, match="positional"):
        make_positions("rotary", 5, 8)


def test_prepend_cls():
    from sktransformer.nn.embeddings import prepend_cls

    cls = torch.tensor([[[7.0, 8.0]]])  # (1, 1, C)
    x = torch.randn(3, 4, 2)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=torch.bool)
    out, out_mask = prepend_cls(cls, x, mask)
    assert out.shape == (3, 5, 2) and out_mask.shape == (3, 5)
    torch.testing.assert_close(out[:, 0], cls[0].expand(3, 2))
    torch.testing.assert_close(out[:, 1:], x)
    assert out_mask[:, 0].all() and torch.equal(out_mask[:, 1:], mask)


def test_one_module_per_input_kind_and_the_package_reexports_them():
    import sktransformer.nn as nn_pkg
    from sktransformer.nn import embeddings
    from sktransformer.nn.embeddings import positions, sequence, tabular, text

    assert embeddings.TokenEmbedding is text.TokenEmbedding is nn_pkg.TokenEmbedding
    assert embeddings.FeatureTokenizer is tabular.FeatureTokenizer is nn_pkg.FeatureTokenizer
    assert embeddings.category_offsets is tabular.category_offsets
    assert embeddings.StepProjection is sequence.StepProjection is nn_pkg.StepProjection
    assert embeddings.LocalProjection is sequence.LocalProjection
    assert embeddings.DEFAULT_STEP_KERNEL == sequence.DEFAULT_STEP_KERNEL == 7
    assert embeddings.SinusoidalPositions is positions.SinusoidalPositions
    assert embeddings.LearnedPositions is positions.LearnedPositions
    assert embeddings.category_offsets([3, 4, 2]).tolist() == [0, 3, 7]
    assert embeddings.category_offsets([]).tolist() == []


def test_column_tokens_are_neighbours_in_groups_whose_sizes_differ_by_one_at_most():
    from sktransformer.nn import column_tokens

    for n_columns, n_tokens in [(7, 3), (1600, 64), (65, 64), (100, 1)]:
        token = column_tokens(n_columns, n_tokens)
        assert token.shape == (n_columns,) and token[0] == 0 and token[-1] == n_tokens - 1
        assert torch.all(token.diff() >= 0) and torch.all(token.diff() <= 1)  # neighbours, in order
        sizes = torch.bincount(token)
        assert len(sizes) == n_tokens and sizes.max() - sizes.min() <= 1
    assert torch.equal(column_tokens(5, 8), torch.arange(5)) and torch.equal(column_tokens(5), torch.arange(5))
    with pytest.raises(ValueError, match="n_tokens"):
        column_tokens(5, 0)


def test_grouped_feature_tokens_sum_their_columns_vectors():
    torch.manual_seed(0)
    one = FeatureTokenizer(5, [3, 4], d_model=8, add_cls=False)
    grouped = FeatureTokenizer(5, [3, 4], d_model=8, add_cls=True, n_tokens=3)
    grouped.load_state_dict(one.state_dict(), strict=False)
    x_num, x_cat = torch.randn(4, 5), torch.randint(0, 3, (4, 2))
    per_column, _ = one(x_num, x_cat)  # (4, 7, 8)
    x, mask = grouped(x_num, x_cat)  # CLS + 3 tokens
    assert x.shape == (4, 4, 8) and mask.all() and grouped.n_tokens == 3
    assert grouped.token_of_column.tolist() == [0, 0, 0, 1, 1, 2, 2]  # categorical columns last
    for t, columns in enumerate([[0, 1, 2], [3, 4], [5, 6]]):
        expected = per_column[:, columns].sum(1) / len(columns) ** 0.5
        torch.testing.assert_close(x[:, 1 + t], expected)
    x.sum().backward()  # every column's weights learn through its group
    assert grouped.num_weight.grad.abs().sum(1).gt(0).all()
    assert grouped.cat_embed.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("n_tokens", [None, 2])
def test_missing_numbers_get_their_columns_missing_vector(n_tokens):
    torch.manual_seed(0)
    ft = FeatureTokenizer(3, [4], d_model=8, add_cls=False, n_tokens=n_tokens, missing=[True, False, True])
    m = ft.num_missing.detach()
    assert m[1].abs().max() == 0 and (m[[0, 2]].abs() > 0).any(dim=1).all()  # holes in training: own token
    x = torch.tensor([[0.5, -1.0, 2.0], [0.5, -1.0, 2.0]])
    x[1, 0] = float("nan")
    x_cat = torch.tensor([[1], [1]])
    out, _ = ft(x, x_cat)
    assert torch.isfinite(out).all()
    filled = x.clone()
    filled[1, 0] = 0.0
    expected, _ = ft(filled, x_cat)  # the hole: the token of 0 plus the column's missing vector
    shift = expected.new_zeros(expected.shape)
    if n_tokens is None:
        shift[1, 0] = m[0]
    else:  # column 0 shares token 0 with column 1 (scaled by 1 / sqrt(2))
        shift[1, 0] = m[0] / math.sqrt(2)
    torch.testing.assert_close(out, expected + shift)
    out.sum().backward()
    assert torch.isfinite(ft.num_weight.grad).all() and ft.num_missing.grad[0].abs().sum() > 0
    assert FeatureTokenizer(3, [], d_model=8).num_missing is None  # no holes: the earlier layout
