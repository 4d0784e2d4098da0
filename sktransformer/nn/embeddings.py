"""Input modules: text tokens, table features, sequence steps -> (tokens, mask).

Every module returns ``(token_embeddings, attention_mask)`` with shapes
(B, T', C) and (B, T') bool, True for real tokens. With ``add_cls=True`` a
learned CLS vector is prepended at position 0 (so T' = T + 1).
"""

import math

import torch
from torch import nn


def category_offsets(cardinalities):
    """First row of each categorical column in one shared table of category rows: a (n_cat,) long
    tensor, ``[0, c_0, c_0 + c_1, ...]`` (empty without categorical columns)."""
    cards = [int(c) for c in cardinalities]
    return torch.tensor([0] + cards, dtype=torch.long).cumsum(0)[: len(cards)]


class SinusoidalPositions(nn.Module):
    """Fixed sine/cosine position table (Vaswani et al., 2017).

    ``pe[p, 2i] = sin(p / 10000**(2i / C))``, ``pe[p, 2i+1] = cos(p / 10000**(2i / C))``.

    Parameters
    ----------
    max_len : int
    d_model : int
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
    max_len : int
    d_model : int
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


def _make_positions(positional, max_len, d_model):
    if positional == "learned":
        return LearnedPositions(max_len, d_model)
    if positional == "sinusoidal":
        return SinusoidalPositions(max_len, d_model)
    if positional is None or positional == "none":
        return None
    raise ValueError(
        f"positional must be 'learned', 'sinusoidal' or None, got {positional!r}."
    )


class _ClsMixin:
    """Prepend a learned CLS vector and a True mask column."""

    def _prepend_cls(self, x, mask):
        B = x.shape[0]
        cls = self.cls.expand(B, 1, -1)  # (B, 1, C)
        x = torch.cat([cls, x], dim=1)  # (B, T+1, C)
        ones = torch.ones(B, 1, dtype=torch.bool, device=mask.device)
        mask = torch.cat([ones, mask], dim=1)  # (B, T+1)
        return x, mask


class TokenEmbedding(_ClsMixin, nn.Module):
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
        self.pos = _make_positions(positional, max_length + int(add_cls), d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model)) if add_cls else None
        self.dropout = nn.Dropout(dropout)
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
            x, mask = self._prepend_cls(x, mask)  # (B, T+1, C)
        if self.pos is not None:
            x = x + self.pos(x.shape[1])  # (B, T', C)
        return self.dropout(x), mask


class FeatureTokenizer(_ClsMixin, nn.Module):
    """One token per table column (FT-Transformer style).

    Numeric column ``j`` becomes ``x_j * W_j + b_j``; categorical column ``j``
    becomes ``E_j[x_j] + b_j`` with its own embedding table. Tokens are ordered
    numeric then categorical.

    Parameters
    ----------
    n_numeric : int
        Number of numeric columns (may be 0).
    cat_cardinalities : sequence of int
        Number of categories of each categorical column (may be empty).
        Codes must lie in ``[0, cardinality)``.
    d_model : int
    add_cls : bool, default=True
    noise_std : float, default=0.0
        In training mode only, Gaussian noise of this standard deviation is added to the numeric
        values before they are embedded (a regulariser: the model sees each row slightly moved
        at every step, which makes it harder to learn the training rows one by one). Evaluation
        mode never adds noise.
    clip : float or None, default=None
        When set, each numeric value ``z`` first becomes ``z / sqrt(1 + (z / clip)**2)``, in
        training and evaluation alike: a smooth clip into ``(-clip, clip)`` that leaves small
        values nearly as they are (``1 -> 0.95`` at ``clip=3``) and keeps a far outlier from
        swamping its token. The noise is added after it.

    Examples
    --------
    >>> import torch
    >>> ft = FeatureTokenizer(2, [3], d_model=4)
    >>> x, mask = ft(torch.randn(5, 2), torch.tensor([[0], [1], [2], [0], [1]]))
    >>> tuple(x.shape), bool(mask.all())
    ((5, 4, 4), True)
    """

    #: Class default, so that a tokenizer pickled before ``clip`` existed still loads and runs.
    clip = None

    def __init__(self, n_numeric, cat_cardinalities, d_model, add_cls=True, noise_std=0.0,
                 clip=None):
        super().__init__()
        cat_cardinalities = [int(c) for c in (cat_cardinalities or [])]
        if n_numeric < 0:
            raise ValueError(f"n_numeric must be >= 0, got {n_numeric}.")
        if not noise_std >= 0:
            raise ValueError(f"noise_std must be >= 0, got {noise_std}.")
        if clip is not None and not clip > 0:
            raise ValueError(f"clip must be > 0 or None, got {clip}.")
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
        self.noise_std = float(noise_std)
        self.clip = None if clip is None else float(clip)
        self.num_weight = nn.Parameter(torch.empty(n_numeric, d_model))
        self.num_bias = nn.Parameter(torch.empty(n_numeric, d_model))
        self.register_buffer("cat_offsets", category_offsets(cat_cardinalities), persistent=False)
        self.cat_embed = nn.Embedding(sum(cat_cardinalities), d_model) if self.n_cat else None
        self.cat_bias = nn.Parameter(torch.empty(self.n_cat, d_model))
        self.cls = nn.Parameter(torch.empty(1, 1, d_model)) if add_cls else None
        self._init_weights()

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
        parts = []
        if self.n_numeric:
            if x_num is None or x_num.dim() != 2 or x_num.shape[1] != self.n_numeric:
                got = None if x_num is None else tuple(x_num.shape)
                raise ValueError(
                    f"x_num must have shape (B, {self.n_numeric}), got {got}."
                )
            x_num = x_num.to(self.num_weight.dtype)
            if self.clip is not None:
                x_num = x_num * torch.rsqrt(1 + (x_num / self.clip) ** 2)
            if self.training and self.noise_std:
                x_num = x_num + self.noise_std * torch.randn_like(x_num)
            parts.append(x_num[:, :, None] * self.num_weight + self.num_bias)  # (B, n_num, C)
        if self.n_cat:
            if x_cat is None or x_cat.dim() != 2 or x_cat.shape[1] != self.n_cat:
                got = None if x_cat is None else tuple(x_cat.shape)
                raise ValueError(f"x_cat must have shape (B, {self.n_cat}), got {got}.")
            idx = x_cat.long() + self.cat_offsets  # (B, n_cat)
            parts.append(self.cat_embed(idx) + self.cat_bias)  # (B, n_cat, C)
        x = torch.cat(parts, dim=1)  # (B, n_tokens, C)
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)  # (B, n_tokens)
        if self.add_cls:
            x, mask = self._prepend_cls(x, mask)  # (B, n_tokens+1, C)
        return x, mask


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
        x = torch.nn.functional.conv1d(
            x_seq.transpose(1, 2), self.weight, self.bias, padding=self.kernel_size // 2
        )  # (B, C, T)
        return x.transpose(1, 2)  # (B, T, C)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}"


#: Steps each sequence token sees by default (see :class:`LocalProjection`). 7 rather than 1: on
#: UCR train-split holdouts (benchmarks/timeseries.py) per-step tokens stayed near chance on
#: GunPoint and well below 1-NN on ECG200, 7-step tokens did not.
DEFAULT_STEP_KERNEL = 7


class StepProjection(_ClsMixin, nn.Module):
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
    dropout : float, default=0.0
    kernel_size : int or None, default=None
        Odd number of steps per token; ``None`` uses ``DEFAULT_STEP_KERNEL`` (7). ``1`` gives
        one token per step from that step alone. Sequences shorter than the kernel are fine
        (the missing neighbours are zeros).
    """

    def __init__(
        self, n_features, d_model, max_length, positional="learned", add_cls=False, dropout=0.0,
        kernel_size=None,
    ):
        super().__init__()
        self.add_cls = add_cls
        k = DEFAULT_STEP_KERNEL if kernel_size is None else kernel_size
        self.proj = LocalProjection(n_features, d_model, kernel_size=k)
        self.pos = _make_positions(positional, max_length + int(add_cls), d_model)
        self.cls = nn.Parameter(torch.empty(1, 1, d_model)) if add_cls else None
        self.dropout = nn.Dropout(dropout)
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
            x, mask = self._prepend_cls(x, mask)  # (B, T+1, C)
        if self.pos is not None:
            x = x + self.pos(x.shape[1])  # (B, T', C)
        return self.dropout(x), mask
