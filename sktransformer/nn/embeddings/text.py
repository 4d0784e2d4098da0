"""Text input: token ids -> token + position embeddings."""

import torch
from torch import nn

from ..dropout import Dropout
from .positions import make_positions, prepend_cls


class TokenEmbedding(nn.Module):
    """Token ids -> token + position embeddings (text).

    Parameters
    ----------
    vocab_size : int
    d_model : int
    max_length : int
        Longest input (not counting CLS).
    positional : {"learned", "sinusoidal", None}, default="learned"
    pad_id : int or None, default=0
        Padding id; its embedding row is zero and it defines the default mask
        (None: no padding id, the default mask is all True).
    add_cls : bool, default=False
        Prepend a learned CLS vector at position 0 (so T' = T + 1).
    dropout : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> emb = TokenEmbedding(vocab_size=10, d_model=8, max_length=5, add_cls=True)
    >>> x, mask = emb(torch.tensor([[3, 4, 0]]))
    >>> tuple(x.shape), mask.tolist()
    ((1, 4, 8), [[True, True, True, False]])
    """

    def __init__(
        self,
        vocab_size,
        d_model,
        max_length,
        positional="learned",
        pad_id=0,
        add_cls=False,
        dropout=0.0,
    ):
        super().__init__()
        self.pad_id = pad_id
        self.add_cls = add_cls
        self.tok = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.pos = make_positions(positional, max_length + int(add_cls), d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model)) if add_cls else None
        self.dropout = Dropout(dropout)
        self._init_weights()

    def _init_weights(self):
        nn.init.normal_(self.tok.weight, std=0.02)
        if self.pad_id is not None:
            with torch.no_grad():
                self.tok.weight[self.pad_id].zero_()
        if self.cls is not None:
            nn.init.normal_(self.cls, std=0.02)

    def forward(self, input_ids, attention_mask=None):
        """Return ``(x (B, T', C), mask (B, T') bool)``."""
        if attention_mask is None and self.pad_id is None:
            mask = torch.ones_like(input_ids, dtype=torch.bool)  # (B, T)
        elif attention_mask is None:
            mask = input_ids != self.pad_id  # (B, T)
        else:
            mask = attention_mask.bool()  # (B, T)
        x = self.tok(input_ids)  # (B, T, C)
        if self.add_cls:
            x, mask = prepend_cls(self.cls, x, mask)  # (B, T+1, C)
        if self.pos is not None:
            x = x + self.pos(x.shape[1])  # (B, T', C)
        return self.dropout(x), mask
