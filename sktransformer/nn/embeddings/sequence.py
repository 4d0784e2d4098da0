"""Sequence input: steps (B, T, F) -> one token per step, made from the step and its neighbours."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..dropout import Dropout
from .positions import make_positions, prepend_cls


class LocalProjection(nn.Module):
    """Steps (B, T, F) -> tokens (B, T, C), each token made from its step and its neighbours.

    A 1-D convolution over time with ``kernel_size`` taps, zero-padded at both ends so that the
    output keeps ``T`` tokens (the token-embedding convolution of Informer, Zhou et al. 2021). With
    ``kernel_size=1`` it is a plain per-step ``Linear(F, C)``. A token that sees the local shape of
    the series (slope, curvature) is far more informative than one scalar, which matters most for
    univariate series.

    Parameters
    ----------
    n_features : int
    d_model : int
    kernel_size : int, default=1
        Odd number of steps each token sees, centred on its own step.

    Examples
    --------
    >>> import torch
    >>> tuple(LocalProjection(n_features=2, d_model=8, kernel_size=3)(torch.randn(4, 5, 2)).shape)
    (4, 5, 8)
    """

    def __init__(self, n_features, d_model, kernel_size=1):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size}.")
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.empty(d_model, n_features, kernel_size))
        self.bias = nn.Parameter(torch.empty(d_model))
        # nn.Linear / nn.Conv1d default init, fan_in = n_features * kernel_size
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1.0 / math.sqrt(n_features * kernel_size)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x_seq):
        """(B, T, F) -> (B, T, C)."""
        if self.kernel_size == 1:
            return x_seq @ self.weight[:, :, 0].T + self.bias  # (B, T, C)
        x = F.conv1d(
            x_seq.transpose(1, 2), self.weight, self.bias, padding=self.kernel_size // 2
        )  # (B, C, T)
        return x.transpose(1, 2)  # (B, T, C)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}"


#: Steps each sequence token sees by default (see :class:`LocalProjection`). 7 rather than 1: on
#: UCR train-split holdouts (benchmarks/timeseries.py) per-step tokens stayed near chance on
#: GunPoint and well below 1-NN on ECG200, 7-step tokens did not.
DEFAULT_STEP_KERNEL = 7


class StepProjection(nn.Module):
    """Sequence steps -> local projection + position embeddings.

    Step ``t`` becomes a token made from steps ``t - k//2 .. t + k//2`` (:class:`LocalProjection`;
    ``kernel_size=1`` is a per-step ``Linear(F, C)``). Padding steps are zeroed before the
    projection so they never leak into real tokens.

    Parameters
    ----------
    n_features : int
        Features per step ``F``.
    d_model : int
    max_length : int
        Longest sequence (not counting CLS).
    positional : {"learned", "sinusoidal", None}, default="learned"
    add_cls : bool, default=False
        Prepend a learned CLS vector at position 0 (so T' = T + 1).
    dropout : float, default=0.0
    kernel_size : int or None, default=None
        Odd number of steps per token; ``None`` uses ``DEFAULT_STEP_KERNEL`` (7). ``1`` gives
        one token per step from that step alone. Sequences shorter than the kernel are fine
        (the missing neighbours are zeros).

    Examples
    --------
    >>> import torch
    >>> sp = StepProjection(n_features=2, d_model=8, max_length=10, add_cls=True)
    >>> x, mask = sp(torch.randn(4, 6, 2))
    >>> tuple(x.shape), tuple(mask.shape)
    ((4, 7, 8), (4, 7))
    """

    def __init__(
        self, n_features, d_model, max_length, positional="learned", add_cls=False, dropout=0.0,
        kernel_size=None,
    ):
        super().__init__()
        self.add_cls = add_cls
        k = DEFAULT_STEP_KERNEL if kernel_size is None else kernel_size
        self.proj = LocalProjection(n_features, d_model, kernel_size=k)
        self.pos = make_positions(positional, max_length + int(add_cls), d_model)
        self.cls = nn.Parameter(torch.empty(1, 1, d_model)) if add_cls else None
        self.dropout = Dropout(dropout)
        if self.cls is not None:
            nn.init.normal_(self.cls, std=0.02)

    def forward(self, x_seq, attention_mask=None):
        """Return ``(x (B, T', C), mask (B, T') bool)``; mask defaults to all True."""
        B, T, _ = x_seq.shape
        x_seq = x_seq.to(self.proj.weight.dtype)
        if attention_mask is None:
            mask = torch.ones(B, T, dtype=torch.bool, device=x_seq.device)  # (B, T)
        else:
            mask = attention_mask.bool()  # (B, T)
            x_seq = x_seq.masked_fill(~mask[:, :, None], 0.0)  # (B, T, F)
        x = self.proj(x_seq)  # (B, T, C)
        if self.add_cls:
            x, mask = prepend_cls(self.cls, x, mask)  # (B, T+1, C)
        if self.pos is not None:
            x = x + self.pos(x.shape[1])  # (B, T', C)
        return self.dropout(x), mask
