"""Output heads.

Prediction heads map the pooled vector (B, C) -> (B, n_outputs). Reconstruction heads map token
vectors (B, T, C) back to what each token held, one head per input kind (table cells, sequence
steps, subwords); :class:`~sktransformer.nn.TransformerAutoencoder` scores rows by their errors.
A mixed row's head (:class:`MixedReconstructionHead`) joins a table head and a text head. Each
reconstruction head has the same four methods: ``predict(h)``, ``replace(inputs, rec, t)``,
``errors(h, targets, select=None)`` and ``columns(select)``. A token holds one item (a cell, a step,
a subword), or, for a wide table, a group of cells; ``predict`` and ``errors`` work item by item, ``replace`` sets the items of
one token and ``columns`` maps a (B, T) selection of tokens to the items they hold.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .dropout import Dropout
from .embeddings.tabular import column_slots, grid_rows


class ClassificationHead(nn.Module):
    """Dropout -> Linear, producing logits.

    Parameters
    ----------
    d_model : int
    n_outputs : int
        Number of classes (logits).
    dropout : float, default=0.0
    """

    def __init__(self, d_model, n_outputs, dropout=0.0):
        super().__init__()
        self.dropout = Dropout(dropout)
        self.linear = nn.Linear(d_model, n_outputs)

    def forward(self, pooled):
        return self.linear(self.dropout(pooled))  # (B, n_outputs)


class RegressionHead(ClassificationHead):
    """Dropout -> Linear, producing real-valued targets (the same layers as the classification
    head; the loss differs).

    Parameters
    ----------
    d_model : int
    n_outputs : int
        Number of targets.
    dropout : float, default=0.0
    """


def _replace_column(inputs, key, column, values):
    """A copy of the dict ``inputs`` whose ``inputs[key][:, column]`` is ``values``."""
    out = dict(inputs)
    out[key] = inputs[key].clone()
    out[key][:, column] = values.to(out[key].dtype)
    return out


class _OneItemPerToken:
    """Reconstruction heads whose every token holds one item."""

    def columns(self, select):
        """The items (B, T) that the selected tokens (B, T) hold: the same."""
        return select


class TableReconstructionHead(nn.Module):
    """Column tokens (B, T, C) -> the table cells they hold (one token per column, numeric first).

    Numeric column ``j`` is read off its token by its own linear map and scored by squared error;
    categorical column ``j`` by its own linear classifier and scored by cross-entropy. A column's
    token is ``token_of_column[j]`` (columns numeric then categorical): the column itself, or the
    group of neighbouring columns it shares a token with (:func:`~sktransformer.nn.column_tokens`).

    Parameters
    ----------
    d_model : int
    n_numeric : int
        Numeric columns (may be 0).
    cat_cardinalities : sequence of int, default=()
        Categories of each categorical column.
    token_of_column : long tensor of shape (n_columns,) or None, default=None
        The token of each column (:attr:`FeatureTokenizer.token_of_column`); None is one token
        per column.

    Examples
    --------
    >>> import torch
    >>> head = TableReconstructionHead(8, n_numeric=2, cat_cardinalities=[3])
    >>> h = torch.randn(4, 3, 8)
    >>> tuple(head.predict(h).shape)
    (4, 3)
    >>> targets = {"x_num": torch.randn(4, 2), "x_cat": torch.tensor([[0], [2], [1], [0]])}
    >>> tuple(head.errors(h, targets).shape)
    (4, 3)
    >>> grouped = TableReconstructionHead(8, 2, [3], token_of_column=torch.tensor([0, 0, 1]))
    >>> tuple(grouped.errors(h[:, :2], targets).shape)  # 2 tokens, 3 columns
    (4, 3)
    """

    def __init__(self, d_model, n_numeric, cat_cardinalities=(), token_of_column=None):
        super().__init__()
        cat_cardinalities = [int(c) for c in cat_cardinalities]
        if n_numeric + len(cat_cardinalities) == 0:
            raise ValueError("TableReconstructionHead needs at least one column.")
        self.n_numeric = n_numeric
        self.cat_cardinalities = cat_cardinalities
        bound = 1.0 / d_model**0.5
        self.num_weight = nn.Parameter(torch.empty(n_numeric, d_model).uniform_(-bound, bound))
        self.num_bias = nn.Parameter(torch.zeros(n_numeric))
        self.cat_linears = nn.ModuleList(nn.Linear(d_model, c) for c in cat_cardinalities)
        n_columns = n_numeric + len(cat_cardinalities)
        token = torch.arange(n_columns) if token_of_column is None else torch.as_tensor(token_of_column).long()
        if token.shape != (n_columns,):
            raise ValueError(f"token_of_column must have shape ({n_columns},), got {tuple(token.shape)}.")
        self.grouped = bool((token != torch.arange(n_columns)).any())
        self.register_buffer("token_of_column", token, persistent=False)
        slot, self.group_width = column_slots(token)
        self.register_buffer("numeric_slot", slot[:n_numeric], persistent=False)

    def columns(self, select):
        """The columns (B, n_columns) that the selected tokens (B, T) hold."""
        return select[:, self.token_of_column] if self.grouped else select

    def _numeric(self, h):
        if not self.grouped:
            return (h[:, : self.n_numeric] * self.num_weight).sum(-1) + self.num_bias  # (B, n_num)
        # each column's value from its token, as one batched product over the (T, k) grid
        B, T, _ = h.shape
        weight = grid_rows(self.num_weight, self.numeric_slot, T, self.group_width)  # (T, k, C)
        grid = torch.bmm(h.transpose(0, 1), weight.transpose(1, 2))  # (T, B, k)
        return grid.transpose(0, 1).reshape(B, -1)[:, self.numeric_slot] + self.num_bias  # (B, n_num)

    def _categorical(self, h, j):
        return self.cat_linears[j](h[:, self.token_of_column[self.n_numeric + j]])  # (B, card_j)

    def predict(self, h):
        """Reconstruction per column (B, n_columns): numeric values, then category codes (as floats)."""
        parts = []
        if self.n_numeric:
            parts.append(self._numeric(h))  # (B, n_num)
        for j in range(len(self.cat_linears)):
            parts.append(self._categorical(h, j).argmax(-1, keepdim=True).to(h.dtype))  # (B, 1)
        return torch.cat(parts, dim=1)  # (B, n_columns)

    def replace(self, inputs, rec, t):
        """A copy of the model ``inputs`` with the columns of token ``t`` set to their
        reconstruction ``rec`` (B, n_columns) (from :meth:`predict`); a missing number stays
        missing (nothing is filled in)."""
        out = dict(inputs)
        columns = (self.token_of_column == t).nonzero().flatten().tolist()
        for key, cols in (("x_num", [j for j in columns if j < self.n_numeric]),
                          ("x_cat", [j for j in columns if j >= self.n_numeric])):
            if cols:
                offset = 0 if key == "x_num" else self.n_numeric
                idx = [j - offset for j in cols]
                old = out[key][:, idx]
                new = rec[:, cols].to(out[key].dtype)
                out[key] = out[key].clone()
                out[key][:, idx] = torch.where(torch.isnan(old), old, new) if key == "x_num" else new
        return out

    def observed(self, targets):
        """Which columns (B, n_columns) have a value to rebuild: all but the missing numbers."""
        ref = targets["x_num"] if self.n_numeric else targets["x_cat"]
        seen = torch.ones(len(ref), self.n_numeric + len(self.cat_cardinalities), dtype=torch.bool, device=ref.device)
        if self.n_numeric:
            seen[:, :self.n_numeric] = ~torch.isnan(targets["x_num"])
        return seen

    def errors(self, h, targets, select=None):
        """Per-column error (B, n_columns): squared error (numeric), cross-entropy (categorical).

        ``targets`` holds the model inputs ``x_num`` / ``x_cat``; with ``select`` (B, T) bool,
        the columns of tokens outside it get 0, as do missing numbers (NaN in ``x_num``: there is
        no value to rebuild).
        """
        parts = []
        if self.n_numeric:
            target = targets["x_num"].to(h.dtype)
            nan = torch.isnan(target)
            parts.append((self._numeric(h) - target.masked_fill(nan, 0.0)).pow(2).masked_fill(nan, 0.0))  # (B, n_num)
        for j in range(len(self.cat_linears)):
            logits = self._categorical(h, j)  # (B, card_j)
            parts.append(F.cross_entropy(logits, targets["x_cat"][:, j].long(), reduction="none")[:, None])
        err = torch.cat(parts, dim=1)  # (B, n_columns)
        if select is not None:
            err = err * self.columns(select)
        return err


class SequenceReconstructionHead(_OneItemPerToken, nn.Module):
    """Step tokens (B, T, C) -> the steps they hold (B, T, F), scored by mean squared error.

    Parameters
    ----------
    d_model : int
    n_features : int
        Features per step ``F``.

    Examples
    --------
    >>> import torch
    >>> head = SequenceReconstructionHead(8, n_features=2)
    >>> h = torch.randn(4, 5, 8)
    >>> tuple(head.predict(h).shape), tuple(head.errors(h, {"x_seq": torch.randn(4, 5, 2)}).shape)
    ((4, 5, 2), (4, 5))
    """

    def __init__(self, d_model, n_features):
        super().__init__()
        self.linear = nn.Linear(d_model, n_features)

    def predict(self, h):
        """Reconstruction per token: the steps (B, T, F)."""
        return self.linear(h)  # (B, T, F)

    def replace(self, inputs, rec, t):
        """A copy of the model ``inputs`` with step ``t`` set to ``rec[:, t]`` (from :meth:`predict`)."""
        return _replace_column(inputs, "x_seq", t, rec[:, t])

    def errors(self, h, targets, select=None):
        """Per-token error (B, T): squared error averaged over a step's features.

        ``targets`` holds the model input ``x_seq``; with ``select`` (B, T) bool, tokens outside it
        get 0.
        """
        err = (self.linear(h) - targets["x_seq"].to(h.dtype)).pow(2).mean(-1)  # (B, T)
        if select is not None:
            err = err * select
        return err


class TextReconstructionHead(_OneItemPerToken, nn.Module):
    """Subword tokens (B, T, C) -> the token ids they hold, scored by cross-entropy.

    Parameters
    ----------
    d_model : int
    vocab_size : int

    Examples
    --------
    >>> import torch
    >>> head = TextReconstructionHead(8, vocab_size=10)
    >>> h = torch.randn(2, 3, 8)
    >>> tuple(head.predict(h).shape)
    (2, 3)
    >>> select = torch.tensor([[True, False, True], [False, True, False]])
    >>> err = head.errors(h, {"input_ids": torch.tensor([[1, 2, 3], [4, 5, 0]])}, select)
    >>> (err[~select] == 0).all().item()
    True
    """

    def __init__(self, d_model, vocab_size):
        super().__init__()
        self.linear = nn.Linear(d_model, vocab_size)

    def predict(self, h):
        """Reconstruction per token: the most likely token ids (B, T)."""
        return self.linear(h).argmax(-1)  # (B, T)

    def replace(self, inputs, rec, t):
        """A copy of the model ``inputs`` with token ``t`` set to ``rec[:, t]`` (from :meth:`predict`)."""
        return _replace_column(inputs, "input_ids", t, rec[:, t])

    def errors(self, h, targets, select=None):
        """Per-token error (B, T): cross-entropy of the true id.

        ``targets`` holds the model input ``input_ids``; with ``select`` (B, T) bool, only the
        selected tokens are scored (the others get 0).
        """
        B, T, _ = h.shape
        err = h.new_zeros(B, T)
        sel = select if select is not None else torch.ones(B, T, dtype=torch.bool, device=h.device)
        logits = self.linear(h[sel])  # (N_sel, V): only the selected tokens
        err[sel] = F.cross_entropy(logits.float(), targets["input_ids"][sel], reduction="none").to(h.dtype)
        if select is not None:
            err = err * select
        return err


class MixedReconstructionHead(nn.Module):
    """The tokens of a mixed row (B, F + L, C) -> the table cells of its F feature tokens, then the
    subwords of its L text tokens: one item per cell, then one per text token.

    Parameters
    ----------
    text : TextReconstructionHead
    table : TableReconstructionHead or None, default=None
        None when the row has no feature tokens.
    n_feature_tokens : int, default=0
        ``F``, the feature tokens in front of the text tokens.

    Examples
    --------
    >>> import torch
    >>> head = MixedReconstructionHead(TextReconstructionHead(8, 10), TableReconstructionHead(8, 2), 2)
    >>> h = torch.randn(3, 5, 8)  # 2 feature tokens, 3 text tokens
    >>> targets = {"x_num": torch.randn(3, 2), "input_ids": torch.randint(0, 10, (3, 3))}
    >>> tuple(head.errors(h, targets).shape), tuple(head.predict(h).shape)
    ((3, 5), (3, 5))
    """

    def __init__(self, text, table=None, n_feature_tokens=0):
        super().__init__()
        self.text = text
        self.table = table
        self.n_feature_tokens = int(n_feature_tokens)
        self.n_columns = 0 if table is None else table.n_numeric + len(table.cat_cardinalities)

    def _join(self, table_part, text_part):
        return text_part if self.table is None else torch.cat([table_part.to(text_part.dtype), text_part], dim=1)

    def columns(self, select):
        """The items (B, n_columns + L) that the selected tokens (B, F + L) hold."""
        F_ = self.n_feature_tokens
        return self._join(None if self.table is None else self.table.columns(select[:, :F_]), select[:, F_:])

    def predict(self, h):
        """Reconstruction per item (B, n_columns + L): values and codes, then token ids (as floats)."""
        F_ = self.n_feature_tokens
        text = self.text.predict(h[:, F_:]).to(h.dtype)
        return self._join(None if self.table is None else self.table.predict(h[:, :F_]), text)

    def observed(self, targets):
        """Which items (B, n_columns + L) have a value to rebuild (the table head's, then every text token)."""
        text = torch.ones_like(targets["input_ids"], dtype=torch.bool)
        return self._join(None if self.table is None else self.table.observed(targets), text)

    def replace(self, inputs, rec, t):
        """A copy of ``inputs`` with token ``t``'s items set to their reconstruction ``rec``."""
        if t < self.n_feature_tokens:
            return self.table.replace(inputs, rec[:, :self.n_columns], t)
        return self.text.replace(inputs, rec[:, self.n_columns:], t - self.n_feature_tokens)

    def errors(self, h, targets, select=None):
        """Per-item errors (B, n_columns + L): the table head's, then the text head's."""
        F_ = self.n_feature_tokens
        text = self.text.errors(h[:, F_:], targets, None if select is None else select[:, F_:])
        if self.table is None:
            return text
        return self._join(self.table.errors(h[:, :F_], targets, None if select is None else select[:, :F_]), text)
