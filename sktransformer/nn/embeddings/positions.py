"""Position embeddings and the CLS token, shared by the text and sequence input modules."""

import math

import torch
from torch import nn


class SinusoidalPositions(nn.Module):
    """Fixed sine/cosine position table (Vaswani et al., 2017).

    ``pe[p, 2i] = sin(p / 10000**(2i / C))``, ``pe[p, 2i+1] = cos(p / 10000**(2i / C))``.

    Parameters
    ----------
    max_len : int
    d_model : int

    Examples
    --------
    >>> pe = SinusoidalPositions(max_len=10, d_model=4)(3)
    >>> tuple(pe.shape), pe[0].tolist()
    ((3, 4), [0.0, 1.0, 0.0, 1.0])
    """

    def __init__(self, max_len, d_model):
        super().__init__()
        self.max_len = max_len
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]  # (L, 1)
        div = torch.exp(
            torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
        )  # (ceil(C/2),)
        pe = torch.zeros(max_len, d_model)  # (L, C)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div[: d_model // 2])
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, T):
        """Return the (T, C) table for positions 0..T-1."""
        _check_length(T, self.max_len)
        return self.pe[:T]  # (T, C)


class LearnedPositions(nn.Module):
    """Learned absolute position embeddings (normal, std 0.02).

    Parameters
    ----------
    max_len, d_model : int
        Most positions, and the width of each position's vector.

    Examples
    --------
    >>> tuple(LearnedPositions(max_len=10, d_model=4)(3).shape)
    (3, 4)
    """

    def __init__(self, max_len, d_model):
        super().__init__()
        self.max_len = max_len
        self.weight = nn.Parameter(torch.empty(max_len, d_model))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, T):
        """Return the (T, C) table for positions 0..T-1."""
        _check_length(T, self.max_len)
        return self.weight[:T]  # (T, C)


def _check_length(T, max_len):
    if T > max_len:
        raise ValueError(
            f"Sequence length {T} exceeds the maximum of {max_len} positions; "
            "raise max_length."
        )


def make_positions(positional, max_len, d_model):
    """The position module that ``positional`` names, or None.

    Parameters
    ----------
    positional : {"learned", "sinusoidal", None}
        ``"none"`` is accepted for None.
    max_len, d_model : int

    Returns
    -------
    LearnedPositions, SinusoidalPositions or None
    """
    if positional == "learned":
        return LearnedPositions(max_len, d_model)
    if positional == "sinusoidal":
        return SinusoidalPositions(max_len, d_model)
    if positional is None or positional == "none":
        return None
    raise ValueError(
        f"positional must be 'learned', 'sinusoidal' or None, got {positional!r}."
    )


def prepend_cls(cls, x, mask):
    """Put the learned vector ``cls`` (1, 1, C) in front of every row, marked as a real token.

    Returns ``(x (B, T+1, C), mask (B, T+1) bool)``.

    Examples
    --------
    >>> x, mask = prepend_cls(torch.ones(1, 1, 2), torch.zeros(3, 4, 2), torch.ones(3, 4, dtype=torch.bool))
    >>> tuple(x.shape), x[0, :2].tolist(), mask.shape
    ((3, 5, 2), [[1.0, 1.0], [0.0, 0.0]], torch.Size([3, 5]))
    """
    B = x.shape[0]
    x = torch.cat([cls.expand(B, 1, -1), x], dim=1)  # (B, T+1, C)
    ones = torch.ones(B, 1, dtype=torch.bool, device=mask.device)
    mask = torch.cat([ones, mask], dim=1)  # (B, T+1)
    return x, mask
