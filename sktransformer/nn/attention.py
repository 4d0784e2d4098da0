"""Multi-head self-attention with padding / causal masks and optional weights."""

import math

import torch
import torch.nn.functional as F
from torch import nn


def build_attention_mask(attention_mask, T, causal, device):
    """Build a boolean "may attend" mask for self-attention.

    Parameters
    ----------
    attention_mask : tensor of shape (B, T) or None
        True (or non-zero) for real tokens, False (zero) for padding.
    T : int
        Sequence length.
    causal : bool
        If True, position ``i`` may only attend to positions ``<= i``.
    device : torch.device
        Device of the returned mask.

    Returns
    -------
    mask : bool tensor broadcastable to (B, 1, T, T), or None
        True where a query may attend to a key. None when nothing is masked.
    """
    mask = None
    if attention_mask is not None:
        if attention_mask.shape[-1] != T:
            raise ValueError(
                f"attention_mask has length {attention_mask.shape[-1]}, expected {T}."
            )
        mask = attention_mask.to(device=device).bool()[:, None, None, :]  # (B, 1, 1, T)
    if causal:
        tril = torch.ones(T, T, dtype=torch.bool, device=device).tril()  # (T, T)
        tril = tril[None, None]  # (1, 1, T, T)
        mask = tril if mask is None else mask & tril  # (B, 1, T, T)
    return mask


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention (batch first).

    Parameters
    ----------
    d_model : int
        Embedding size ``C``.
    n_heads : int
        Number of heads; must divide ``d_model``.
    dropout : float, default=0.0
        Dropout on the attention weights (training only).
    bias : bool, default=True
        Whether the projections have a bias.

    Attributes
    ----------
    qkv : nn.Linear
        Joint input projection, rows ordered q, k, v (same layout as
        ``torch.nn.MultiheadAttention.in_proj_weight``).
    out_proj : nn.Linear
        Output projection.

    Notes
    -----
    A query row whose keys are all masked (e.g. an all-padding sequence) gets
    zero attention weights, so its attended value is zero and its output is
    ``out_proj.bias`` -- never NaN.

    The returned weights are the softmax probabilities before attention
    dropout (rows sum to 1 over the visible keys).
    """

    def __init__(self, d_model, n_heads, dropout=0.0, bias=True):
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(
                f"d_model={d_model} must be divisible by n_heads={n_heads}."
            )
        self.d_model = d_model
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.dropout_p = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, x, attention_mask=None, causal=False, need_weights=False):
        """Attend.

        Parameters
        ----------
        x : tensor of shape (B, T, C)
        attention_mask : tensor of shape (B, T), optional
            True for real tokens, False for padding.
        causal : bool, default=False
        need_weights : bool, default=False
            Also return the attention weights (explicit, slower path).

        Returns
        -------
        out : tensor of shape (B, T, C)
        weights : tensor of shape (B, H, T, T) or None
        """
        B, T, C = x.shape
        H, D = self.n_heads, self.head_dim
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q = q.view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        v = v.view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)

        mask = build_attention_mask(attention_mask, T, causal, x.device)
        valid = None
        if mask is not None:
            valid = mask.any(dim=-1, keepdim=True)  # (B|1, 1, T|1, 1) row has a key
            mask = mask | ~valid  # fully masked rows attend everywhere, zeroed below
        dropout_p = self.dropout_p if self.training else 0.0

        weights = None
        if need_weights:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(D)  # (B, H, T, T)
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            att = F.softmax(att, dim=-1)  # (B, H, T, T)
            if valid is not None:
                att = att * valid
            weights = att
            y = F.dropout(att, p=dropout_p, training=self.training) @ v  # (B, H, T, D)
        else:
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=dropout_p
            )  # (B, H, T, D)
            if valid is not None:
                y = y * valid
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.out_proj(y), weights
