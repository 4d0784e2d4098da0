"""Table input: one token per column (FT-Transformer style)."""

import math

import torch
from torch import nn

from .positions import prepend_cls


def category_offsets(cardinalities):
    """First row of each categorical column in one shared table of category rows: a (n_cat,) long
    tensor, ``[0, c_0, c_0 + c_1, ...]`` (empty without categorical columns).

    Examples
    --------
    >>> category_offsets([3, 4, 2]).tolist()
    [0, 3, 7]
    """
    cards = [int(c) for c in cardinalities]
    return torch.tensor([0] + cards, dtype=torch.long).cumsum(0)[: len(cards)]


def column_tokens(n_columns, n_tokens=None):
    """The token of each column when ``n_columns`` columns share ``n_tokens`` tokens: a
    (n_columns,) long tensor. Neighbouring columns share a token, as neighbouring pixels share a
    patch; group sizes differ by at most one. ``None``, or at least as many tokens as columns,
    gives one token per column.

    Examples
    --------
    >>> column_tokens(7, 3).tolist()
    [0, 0, 0, 1, 1, 2, 2]
    >>> column_tokens(3).tolist()
    [0, 1, 2]
    """
    if n_tokens is None or n_tokens >= n_columns:
        return torch.arange(n_columns)
    if n_tokens < 1:
        raise ValueError(f"n_tokens must be >= 1, got {n_tokens}.")
    return torch.arange(n_columns) * n_tokens // n_columns


def column_slots(token):
    """Where each column sits in a (n_tokens, k) grid that holds every token's columns in order,
    ``k`` being the largest group: ``(slot (n_columns,) long, k)``. Grouped models compute a
    token's sum over its columns as one batched matrix product over this grid (zero where a
    group is smaller), without a (B, n_columns, C) tensor.

    Examples
    --------
    >>> slot, k = column_slots(column_tokens(7, 3))
    >>> slot.tolist(), k
    ([0, 1, 2, 3, 4, 6, 7], 3)
    """
    n_tokens = int(token[-1]) + 1
    sizes = torch.bincount(token, minlength=n_tokens)
    starts = sizes.cumsum(0) - sizes  # each token's first column (its columns are neighbours)
    k = int(sizes.max())
    return token * k + torch.arange(len(token)) - starts[token], k


def grid_rows(rows, slot, n_tokens, width):
    """The rows (n_columns, C) of the columns placed at their ``slot`` (:func:`column_slots`) of a
    zero grid: (n_tokens, width, C)."""
    grid = rows.new_zeros(n_tokens * width, rows.shape[1]).index_copy(0, slot, rows)
    return grid.view(n_tokens, width, rows.shape[1])


class FeatureTokenizer(nn.Module):
    """One token per table column (FT-Transformer style), or per group of neighbouring columns.

    Numeric column ``j`` becomes ``x_j * W_j + b_j``; categorical column ``j``
    becomes ``E_j[x_j] + b_j`` with its own embedding table. Tokens are ordered
    numeric then categorical; the same in training and evaluation.

    A missing number (NaN in ``x_num``) becomes ``b_j + M_j``, ``M_j`` the learned missing vector
    of column ``j``: a token of its own, initialised as the other column vectors, for the columns
    that ``missing`` names (those with holes in the training data); zero, and never moved by
    training, for the others, where a missing value is then the token of a value of 0 (the
    training mean once scaled). ``missing=False``: no missing vectors (every ``M_j`` is 0).

    With ``n_tokens`` smaller than the number of columns, the columns are split into
    ``n_tokens`` groups of neighbours (:func:`column_tokens`, in token order) and a group's token
    is the sum of its columns' vectors over the square root of their number: a linear map of the
    group's values. The encoder then attends over ``n_tokens`` tokens whatever the width, so a
    row costs time linear in its columns.

    Parameters
    ----------
    n_numeric : int
        Number of numeric columns (may be 0).
    cat_cardinalities : sequence of int
        Number of categories of each categorical column (may be empty).
        Codes must lie in ``[0, cardinality)``.
    d_model : int
    add_cls : bool, default=True
        Prepend a learned CLS vector at position 0.
    n_tokens : int or None, default=None
        Tokens per row; ``None`` is one per column.
    missing : bool or sequence of bool of length n_numeric, default=False
        The numeric columns whose missing vector starts as a token of its own (``True``: all);
        ``num_missing`` exists when any does.

    Attributes
    ----------
    token_of_column : long tensor of shape (n_columns,)
        The token that holds each column (a buffer; not counting the CLS token).
    n_tokens : int
        Tokens per row, not counting the CLS token.

    Examples
    --------
    >>> import torch
    >>> ft = FeatureTokenizer(2, [3], d_model=4)
    >>> x_cat = torch.tensor([[0], [1], [2], [0], [1]])
    >>> x, mask = ft(torch.randn(5, 2), x_cat)
    >>> tuple(x.shape), bool(mask.all())
    ((5, 4, 4), True)
    >>> x, _ = FeatureTokenizer(5, [3], d_model=4, add_cls=False, n_tokens=2)(torch.randn(5, 5), x_cat)
    >>> tuple(x.shape)
    (5, 2, 4)
    >>> ft = FeatureTokenizer(2, [], d_model=4, add_cls=False, missing=True)
    >>> x, _ = ft(torch.tensor([[float("nan"), 1.0]]))
    >>> bool(torch.equal(x[0, 0], ft.num_bias[0] + ft.num_missing[0]))
    True
    """

    def __init__(self, n_numeric, cat_cardinalities, d_model, add_cls=True, n_tokens=None, missing=False):
        super().__init__()
        cat_cardinalities = [int(c) for c in (cat_cardinalities or [])]
        if n_numeric < 0:
            raise ValueError(f"n_numeric must be >= 0, got {n_numeric}.")
        if any(c < 1 for c in cat_cardinalities):
            raise ValueError(
                f"cat_cardinalities must be positive, got {cat_cardinalities}."
            )
        if n_numeric + len(cat_cardinalities) == 0:
            raise ValueError("FeatureTokenizer needs at least one feature.")
        self.n_numeric = n_numeric
        self.n_cat = len(cat_cardinalities)
        self.cat_cardinalities = cat_cardinalities
        self.add_cls = add_cls
        self.d_model = d_model
        self.num_weight = nn.Parameter(torch.empty(n_numeric, d_model))
        self.num_bias = nn.Parameter(torch.empty(n_numeric, d_model))
        missing = torch.as_tensor(missing, dtype=torch.bool).expand(n_numeric)  # (n_numeric,)
        self.num_missing = nn.Parameter(torch.zeros(n_numeric, d_model)) if bool(missing.any()) else None
        self.register_buffer("cat_offsets", category_offsets(cat_cardinalities), persistent=False)
        self.cat_embed = nn.Embedding(sum(cat_cardinalities), d_model) if self.n_cat else None
        self.cat_bias = nn.Parameter(torch.empty(self.n_cat, d_model))
        self.cls = nn.Parameter(torch.empty(1, 1, d_model)) if add_cls else None
        n_columns = n_numeric + self.n_cat
        token = column_tokens(n_columns, n_tokens)
        self.n_tokens = int(token[-1]) + 1
        self.register_buffer("token_of_column", token, persistent=False)
        sizes = torch.bincount(token, minlength=self.n_tokens).to(torch.float32)  # (n_tokens,)
        self.register_buffer("column_scale", sizes.rsqrt()[token], persistent=False)  # (n_columns,)
        slot, self.group_width = column_slots(token)
        self.register_buffer("numeric_slot", slot[:n_numeric], persistent=False)  # (n_numeric,)
        self._init_weights()
        if self.num_missing is not None:  # a token of its own where training has holes, 0 elsewhere
            bound = 1.0 / math.sqrt(d_model)
            with torch.no_grad():
                self.num_missing[missing] = torch.empty(int(missing.sum()), d_model).uniform_(-bound, bound)

    def _init_weights(self):
        # uniform(-1/sqrt(C), 1/sqrt(C)) as in the FT-Transformer reference
        bound = 1.0 / math.sqrt(self.d_model)
        params = [self.num_weight, self.num_bias, self.cat_bias]
        if self.cat_embed is not None:
            params.append(self.cat_embed.weight)
        if self.cls is not None:
            params.append(self.cls)
        for p in params:
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x_num=None, x_cat=None):
        """Return ``(x (B, n_tokens, C), mask (B, n_tokens) all True)``."""
        parts, nan = [], None
        if self.n_numeric:
            if x_num is None or x_num.dim() != 2 or x_num.shape[1] != self.n_numeric:
                got = None if x_num is None else tuple(x_num.shape)
                raise ValueError(
                    f"x_num must have shape (B, {self.n_numeric}), got {got}."
                )
            x_num = x_num.to(self.num_weight.dtype)  # (B, n_num)
            nan = torch.isnan(x_num)  # (B, n_num): missing values
            x_num = x_num.masked_fill(nan, 0.0)
        if self.n_cat:
            if x_cat is None or x_cat.dim() != 2 or x_cat.shape[1] != self.n_cat:
                got = None if x_cat is None else tuple(x_cat.shape)
                raise ValueError(f"x_cat must have shape (B, {self.n_cat}), got {got}.")
            idx = x_cat.long() + self.cat_offsets  # (B, n_cat)
            parts.append(self.cat_embed(idx) + self.cat_bias)  # (B, n_cat, C)
        if self.n_tokens < self.n_numeric + self.n_cat:  # groups of columns: each token sums its columns
            x = self._grouped(x_num, nan, parts[0] if parts else None)
        else:
            if self.n_numeric:
                num = x_num[:, :, None] * self.num_weight + self.num_bias  # (B, n_num, C)
                if self.num_missing is not None:
                    num = num + nan[:, :, None].to(num.dtype) * self.num_missing
                parts.insert(0, num)
            x = torch.cat(parts, dim=1)  # (B, n_columns, C)
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)  # (B, n_tokens)
        if self.add_cls:
            x, mask = prepend_cls(self.cls, x, mask)  # (B, n_tokens+1, C)
        return x, mask

    def _grouped(self, x_num, nan, cat):
        """Each token's sum of its columns' scaled vectors (B, n_tokens, C), from the numeric
        values (B, n_num) (0 where missing, ``nan``) and the categorical vectors (B, n_cat, C)."""
        T, C, n = self.n_tokens, self.d_model, self.n_numeric
        scale = self.column_scale.to(self.num_weight.dtype)
        bias = self.num_weight.new_zeros(T, C).index_add(0, self.token_of_column[:n], self.num_bias * scale[:n, None])
        x = bias.expand((x_num if n else cat).shape[0], T, C)  # (B, T, C)
        if n:
            x = x + self._token_sums(x_num * scale[:n], self.num_weight)
            if self.num_missing is not None:
                x = x + self._token_sums(nan.to(x_num.dtype) * scale[:n], self.num_missing)
        if cat is not None:
            x = x.index_add(1, self.token_of_column[n:], cat * scale[n:, None])
        return x.contiguous()

    def _token_sums(self, values, rows):
        """Each token's sum of its numeric columns' ``values`` (B, n_num) times their ``rows``
        (n_num, C): (B, T, C), one batched product over the (T, k) grid of columns."""
        T, k = self.n_tokens, self.group_width
        grid = values.new_zeros(len(values), T * k).index_copy(1, self.numeric_slot, values)  # (B, T * k)
        weight = grid_rows(rows, self.numeric_slot, T, k)  # (T, k, C)
        return torch.bmm(grid.view(-1, T, k).transpose(0, 1), weight).transpose(0, 1)  # (B, T, C)
