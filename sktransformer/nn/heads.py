"""Output heads: pooled vector (B, C) -> (B, n_outputs)."""

import torch
import torch.nn.functional as F
from torch import nn


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
        self.dropout = nn.Dropout(dropout)
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


class ReconstructionHead(nn.Module):
    """Token vectors (B, T, C) -> what each token held: a table cell, a sequence step or a subword.

    Exactly one kind of input is set: table columns (``n_numeric`` and/or ``cat_cardinalities``,
    one token per column, numeric first), sequence steps (``n_step_features``) or subwords
    (``vocab_size``). :meth:`errors` gives one reconstruction error per token: squared error for
    numbers (mean over a step's features), cross-entropy for categories and subwords.

    Parameters
    ----------
    d_model : int
    n_numeric : int, default=0
        Numeric table columns; column ``j`` is read off token ``j`` by its own linear map.
    cat_cardinalities : sequence of int, default=()
        Categories of each categorical table column (tokens ``n_numeric + j``).
    n_step_features : int, default=0
        Features per sequence step.
    vocab_size : int, default=0
        Vocabulary size for text.
    """

    def __init__(self, d_model, n_numeric=0, cat_cardinalities=(), n_step_features=0, vocab_size=0):
        super().__init__()
        cat_cardinalities = [int(c) for c in cat_cardinalities]
        kinds = [bool(n_numeric or cat_cardinalities), bool(n_step_features), bool(vocab_size)]
        if sum(kinds) != 1:
            raise ValueError("set exactly one of: table columns, n_step_features, vocab_size.")
        self.kind = ("table", "sequence", "text")[kinds.index(True)]
        self.n_numeric = n_numeric
        self.cat_cardinalities = cat_cardinalities
        bound = 1.0 / d_model**0.5
        self.num_weight = nn.Parameter(torch.empty(n_numeric, d_model).uniform_(-bound, bound))
        self.num_bias = nn.Parameter(torch.zeros(n_numeric))
        self.cat_linears = nn.ModuleList(nn.Linear(d_model, c) for c in cat_cardinalities)
        self.step = nn.Linear(d_model, n_step_features) if n_step_features else None
        self.token = nn.Linear(d_model, vocab_size) if vocab_size else None

    def predict(self, h):
        """Reconstruction per token: (B, T) values / category codes / token ids, or (B, T, F) steps."""
        if self.kind == "sequence":
            return self.step(h)  # (B, T, F)
        if self.kind == "text":
            return self.token(h).argmax(-1)  # (B, T)
        parts = []
        if self.n_numeric:
            parts.append((h[:, : self.n_numeric] * self.num_weight).sum(-1) + self.num_bias)  # (B, n_num)
        for j, linear in enumerate(self.cat_linears):
            parts.append(linear(h[:, self.n_numeric + j]).argmax(-1, keepdim=True).to(h.dtype))  # (B, 1)
        return torch.cat(parts, dim=1)  # (B, T)

    def replace(self, inputs, rec, t):
        """A copy of the model ``inputs`` with token ``t`` set to ``rec[:, t]`` (from :meth:`predict`)."""
        if self.kind != "table":
            key, column = ("x_seq" if self.kind == "sequence" else "input_ids"), t
        elif t < self.n_numeric:
            key, column = "x_num", t
        else:
            key, column = "x_cat", t - self.n_numeric
        out = dict(inputs)
        out[key] = inputs[key].clone()
        out[key][:, column] = rec[:, t].to(out[key].dtype)
        return out

    def errors(self, h, targets, select=None):
        """Per-token error (B, T); with ``select`` (B, T) bool, tokens outside it get 0.

        ``targets`` holds the model inputs: ``x_num`` / ``x_cat`` (tables), ``x_seq`` (sequences)
        or ``input_ids`` (text).
        """
        B, T, _ = h.shape
        if self.kind == "sequence":
            err = (self.step(h) - targets["x_seq"].to(h.dtype)).pow(2).mean(-1)  # (B, T)
        elif self.kind == "text":
            err = h.new_zeros(B, T)
            sel = select if select is not None else torch.ones(B, T, dtype=torch.bool, device=h.device)
            logits = self.token(h[sel])  # (N_sel, V): only the selected tokens
            err[sel] = F.cross_entropy(logits.float(), targets["input_ids"][sel], reduction="none").to(h.dtype)
        else:
            parts = []
            if self.n_numeric:
                pred = (h[:, : self.n_numeric] * self.num_weight).sum(-1) + self.num_bias  # (B, n_num)
                parts.append((pred - targets["x_num"].to(h.dtype)).pow(2))
            for j, linear in enumerate(self.cat_linears):
                logits = linear(h[:, self.n_numeric + j])  # (B, card_j)
                parts.append(F.cross_entropy(logits, targets["x_cat"][:, j].long(), reduction="none")[:, None])
            err = torch.cat(parts, dim=1)  # (B, T)
        if select is not None:
            err = err * select
        return err
