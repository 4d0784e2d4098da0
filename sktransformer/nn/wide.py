"""Wide parts of a wide-and-deep model: linear scores straight from the inputs, added to the head's.

A transformer learned from scratch on a small corpus misses some of what a linear model over word
n-grams gets at once (a rare but telling bigram), and the two err on different samples. Cheng et
al.'s *Wide & Deep Learning* (2016) trains both as one model: the output is the sum of the deep
head's scores and a linear model's, and one loss trains them together.
"""

import numpy as np
import torch
from torch import nn

from .embeddings import category_offsets

#: Multiplier of ``hash(previous n-gram)`` in the rolling n-gram hash (a prime above any vocabulary).
_HASH_PRIME = 1_000_003


class NgramLinear(nn.Module):
    """Linear scores from a bag of token n-grams (text).

    Token ids are the unigrams (one weight row each); longer n-grams are hashed into
    ``n_buckets`` rows. A sample's score is the sum of its n-grams' rows divided by the square root
    of their count, so long and short texts give scores of the same scale (as the L2-normalised
    counts of a bag-of-words model). Padding is ignored. The weights start at zero.

    Parameters
    ----------
    vocab_size : int
    n_outputs : int
    ngram_max : int, default=2
        Longest n-gram (``1``: unigrams only).
    n_buckets : int, default=2**18
        Hash buckets of the n-grams longer than one token.
    pad_id : int or None, default=0
        Padding id; it defines the mask when ``attention_mask`` is not given.

    Examples
    --------
    >>> import torch
    >>> wide = NgramLinear(vocab_size=10, n_outputs=3, n_buckets=16)
    >>> tuple(wide(torch.tensor([[3, 4, 5, 0]])).shape)
    (1, 3)
    """

    def __init__(self, vocab_size, n_outputs, ngram_max=2, n_buckets=2**18, pad_id=0):
        super().__init__()
        if ngram_max < 1:
            raise ValueError(f"ngram_max must be >= 1, got {ngram_max}.")
        self.vocab_size = vocab_size
        self.ngram_max = ngram_max
        self.n_buckets = n_buckets if ngram_max > 1 else 0
        self.pad_id = pad_id
        self.weight = nn.Parameter(torch.zeros(vocab_size + self.n_buckets, n_outputs))

    def ngrams(self, input_ids, attention_mask=None):
        """Return ``(ids (B, N), mask (B, N) bool)``: the row of every n-gram, and which are real."""
        if attention_mask is not None:
            mask = attention_mask.bool()  # (B, T)
        elif self.pad_id is not None:
            mask = input_ids != self.pad_id
        else:
            mask = torch.ones_like(input_ids, dtype=torch.bool)
        ids = input_ids.long()
        T = ids.shape[1]
        all_ids, all_masks = [ids], [mask]
        for n in range(2, min(self.ngram_max, T) + 1):
            h, m = ids[:, : T - n + 1], mask[:, : T - n + 1]  # (B, T-n+1)
            for k in range(1, n):
                h = h * _HASH_PRIME + ids[:, k : T - n + 1 + k]
                m = m & mask[:, k : T - n + 1 + k]
            all_ids.append(self.vocab_size + h.remainder(self.n_buckets))
            all_masks.append(m)
        return torch.cat(all_ids, dim=1), torch.cat(all_masks, dim=1)

    def forward(self, input_ids, attention_mask=None):
        ids, mask = self.ngrams(input_ids, attention_mask)  # (B, N)
        w = mask.to(self.weight.dtype)
        w = w / w.sum(1, keepdim=True).clamp_min(1.0).sqrt()  # (B, N)
        return torch.einsum("bn,bnk->bk", w, self.weight[ids])  # (B, n_outputs)


class ColumnLinear(nn.Module):
    """Linear scores from a table: the scaled numeric columns and one-hot categories.

    A missing number (NaN) counts as 0 (the training mean once scaled) plus, with ``missing``,
    a learned weight of its own per column and output (a missing-indicator column).

    Parameters
    ----------
    n_numeric : int
    cat_cardinalities : sequence of int
        Categories of each categorical column.
    n_outputs : int
    missing : bool or sequence of bool of length n_numeric, default=False
        Learn the weights of missing numbers (when any column is named; the weights start at zero).

    Examples
    --------
    >>> import torch
    >>> wide = ColumnLinear(n_numeric=2, cat_cardinalities=[3], n_outputs=1)
    >>> tuple(wide(x_num=torch.randn(4, 2), x_cat=torch.tensor([[0], [2], [1], [0]])).shape)
    (4, 1)
    """

    def __init__(self, n_numeric, cat_cardinalities, n_outputs, missing=False):
        super().__init__()
        cards = [int(c) for c in cat_cardinalities]
        self.n_numeric = n_numeric
        self.numeric = nn.Linear(n_numeric, n_outputs, bias=False) if n_numeric else None
        self.missing = nn.Linear(n_numeric, n_outputs, bias=False) if n_numeric and any(np.ravel(missing)) else None
        self.register_buffer("cat_offsets", category_offsets(cards), persistent=False)  # (n_cat,)
        self.categories = nn.Parameter(torch.zeros(sum(cards), n_outputs)) if cards else None
        for part in (self.numeric, self.missing):
            if part is not None:
                nn.init.zeros_(part.weight)

    def forward(self, x_num=None, x_cat=None):
        out = 0
        if self.numeric is not None:
            nan = torch.isnan(x_num)  # (B, n_num)
            out = self.numeric(x_num.masked_fill(nan, 0.0))  # (B, n_outputs)
            if self.missing is not None:
                out = out + self.missing(nan.to(out.dtype))
        if self.categories is not None:
            out = out + self.categories[x_cat.long() + self.cat_offsets].sum(1)  # (B, n_outputs)
        return out


class MixedLinear(nn.Module):
    """Linear scores from a mixed row: the text tokens' n-grams plus the table columns.

    Parameters
    ----------
    ngrams : NgramLinear
    columns : ColumnLinear or None
        None when every column is text.
    """

    def __init__(self, ngrams, columns=None):
        super().__init__()
        self.ngrams = ngrams
        self.columns = columns

    def forward(self, input_ids, attention_mask=None, x_num=None, x_cat=None, **_):
        out = self.ngrams(input_ids, attention_mask)  # (B, n_outputs)
        if self.columns is not None:
            out = out + self.columns(x_num=x_num, x_cat=x_cat)
        return out
