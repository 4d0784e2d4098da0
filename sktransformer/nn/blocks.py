"""Transformer encoder block and encoder stack."""

from torch import nn

from .attention import MultiHeadSelfAttention
from .dropout import Dropout


class FeedForward(nn.Module):
    """Position-wise MLP: Linear -> GELU -> dropout -> Linear -> dropout.

    Parameters
    ----------
    d_model : int
    dim_feedforward : int
    dropout : float, default=0.0
    """

    def __init__(self, d_model, dim_feedforward, dropout=0.0):
        super().__init__()
        self.fc = nn.Linear(d_model, dim_feedforward)
        self.act = nn.GELU()
        self.proj = nn.Linear(dim_feedforward, d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        x = self.dropout(self.act(self.fc(x)))  # (B, T, F)
        return self.dropout(self.proj(x))  # (B, T, C)


class EncoderBlock(nn.Module):
    """One encoder layer: self-attention and feed-forward with residuals.

    Parameters
    ----------
    d_model : int
    n_heads : int
    dim_feedforward : int
    dropout : float, default=0.1
        Used on attention weights, the attention residual and the MLP.
    norm_first : bool, default=True
        Pre-LN (``x + f(ln(x))``) if True, post-LN (``ln(x + f(x))``) otherwise.
    """

    def __init__(self, d_model, n_heads, dim_feedforward, dropout=0.1, norm_first=True):
        super().__init__()
        self.norm_first = norm_first
        self.ln1 = nn.LayerNorm(d_model)
        # No dropout on the attention weights: on the CPU it doubles the cost of
        # scaled_dot_product_attention in training; residual and feed-forward dropout remain.
        self.attn = MultiHeadSelfAttention(d_model, n_heads, dropout=0.0)
        self.dropout = Dropout(dropout)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, dim_feedforward, dropout=dropout)

    def forward(self, x, attention_mask=None, causal=False, need_weights=False):
        """Return ``(x, weights)``; x is (B, T, C), weights (B, H, T, T) or None."""
        if self.norm_first:
            a, w = self.attn(self.ln1(x), attention_mask, causal, need_weights)
            x = x + self.dropout(a)  # (B, T, C)
            x = x + self.ff(self.ln2(x))  # (B, T, C)
        else:
            a, w = self.attn(x, attention_mask, causal, need_weights)
            x = self.ln1(x + self.dropout(a))  # (B, T, C)
            x = self.ln2(x + self.ff(x))  # (B, T, C)
        return x, w


class Encoder(nn.Module):
    """A stack of :class:`EncoderBlock` (plus a final LayerNorm when pre-LN).

    Parameters
    ----------
    d_model, n_heads, n_layers, dim_feedforward : int
    dropout : float, default=0.1
    norm_first : bool, default=True
    first_norm : bool, default=True
        With pre-LN blocks, ``False`` drops the first block's input LayerNorm, so its attention
        reads the input tokens as they are. FT-Transformer does this for table columns: a token
        ``x_j * W_j + b_j`` normalised on its own loses most of the size of ``x_j``.
    """

    def __init__(
        self, d_model, n_heads, n_layers, dim_feedforward, dropout=0.1, norm_first=True,
        first_norm=True,
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderBlock(d_model, n_heads, dim_feedforward, dropout, norm_first)
            for _ in range(n_layers)
        )
        if norm_first and not first_norm and n_layers:
            self.layers[0].ln1 = nn.Identity()
        self.ln_f = nn.LayerNorm(d_model) if norm_first else nn.Identity()

    def forward(self, x, attention_mask=None, causal=False, need_weights=False):
        """Return ``(x, weights)``; weights is a list of (B, H, T, T) per layer or None."""
        weights = [] if need_weights else None
        for layer in self.layers:
            x, w = layer(x, attention_mask, causal, need_weights)  # (B, T, C)
            if need_weights:
                weights.append(w)
        return self.ln_f(x), weights
