import math

import pytest
import torch

from sktransformer.nn import ClassificationHead, ColumnLinear, NgramLinear, TokenEmbedding, TransformerModel
from sktransformer.nn.wide import _HASH_PRIME


def random_weights(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return module


def test_ngram_linear_is_the_scaled_sum_of_unigram_and_hashed_bigram_rows():
    V, B = 10, 16
    wide = random_weights(NgramLinear(V, 3, n_buckets=B))
    ids = [3, 4, 7]
    rows = ids + [V + (a * _HASH_PRIME + b) % B for a, b in zip(ids, ids[1:])]  # 3 unigrams, 2 bigrams
    expected = wide.weight[rows].sum(0) / math.sqrt(len(rows))
    out = wide(torch.tensor([ids]))
    torch.testing.assert_close(out[0], expected)


def test_ngram_linear_ignores_padding_and_sees_word_order():
    wide = random_weights(NgramLinear(10, 2, n_buckets=32))
    x = torch.tensor([[3, 4, 7]])
    padded = torch.tensor([[3, 4, 7, 0, 0]])
    torch.testing.assert_close(wide(x), wide(padded))
    mask = torch.tensor([[True, True, True, False, False]])
    torch.testing.assert_close(wide(x), wide(torch.tensor([[3, 4, 7, 9, 9]]), attention_mask=mask))
    swapped = torch.tensor([[4, 3, 7]])  # same unigrams, other bigrams
    assert not torch.allclose(wide(x), wide(swapped))
    unigrams = random_weights(NgramLinear(10, 2, ngram_max=1))
    assert unigrams.weight.shape == (10, 2)
    torch.testing.assert_close(unigrams(x), unigrams(swapped))  # a bag of words has no order


def test_ngram_linear_rejects_ngram_max_below_one():
    with pytest.raises(ValueError, match="ngram_max"):
        NgramLinear(10, 2, ngram_max=0)


def test_column_linear_is_a_linear_model_on_columns_and_one_hot_categories():
    wide = random_weights(ColumnLinear(2, [3, 4], 2))
    x_num = torch.randn(5, 2)
    x_cat = torch.tensor([[0, 3], [2, 0], [1, 1], [0, 2], [2, 3]])
    one_hot = torch.cat([torch.nn.functional.one_hot(x_cat[:, 0], 3), torch.nn.functional.one_hot(x_cat[:, 1], 4)], 1)
    expected = x_num @ wide.numeric.weight.T + one_hot.float() @ wide.categories
    torch.testing.assert_close(wide(x_num=x_num, x_cat=x_cat), expected)
    only_cats = random_weights(ColumnLinear(0, [3], 1))
    torch.testing.assert_close(only_cats(x_cat=torch.tensor([[2]])), only_cats.categories[2:3])


def test_wide_parts_start_at_zero():
    assert NgramLinear(10, 2).weight.abs().sum() == 0
    wide = ColumnLinear(2, [3], 2)
    assert all(p.abs().sum() == 0 for p in wide.parameters())


def test_transformer_model_adds_the_wide_scores_to_the_head():
    torch.manual_seed(0)
    wide = random_weights(NgramLinear(12, 2, n_buckets=8))
    model = TransformerModel(TokenEmbedding(12, 16, 8), 16, 2, 1, 32, dropout=0.0,
                             head=ClassificationHead(16, 2), wide=wide).eval()
    ids = torch.tensor([[1, 5, 6, 0], [2, 3, 4, 9]])
    deep = model.head(model.forward_features(input_ids=ids)["sentence_embedding"])
    torch.testing.assert_close(model(input_ids=ids), deep + wide(ids))


def test_column_linear_gives_a_missing_number_its_own_weight():
    wide = ColumnLinear(n_numeric=2, cat_cardinalities=[], n_outputs=1, missing=True)
    with torch.no_grad():
        wide.numeric.weight.fill_(1.0)
        wide.missing.weight.copy_(torch.tensor([[5.0, 7.0]]))
    x = torch.tensor([[1.0, 2.0], [float("nan"), 2.0], [1.0, float("nan")]])
    assert wide(x_num=x).ravel().tolist() == [3.0, 7.0, 8.0]  # a hole counts 0, plus its weight
    assert ColumnLinear(2, [], 1).missing is None
