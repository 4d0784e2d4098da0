"""Pool token embeddings into one vector per sample, respecting the mask."""

import torch
from torch import nn

POOLING_MODES = ("mean", "max", "cls")


class Pooling(nn.Module):
    """Mean / max / CLS pooling.

    Parameters
    ----------
    mode : {"mean", "max", "cls"}
        ``"mean"`` and ``"max"`` ignore padded positions; an all-padding row
        pools to zeros. ``"cls"`` takes position 0.
    """

    def __init__(self, mode="mean"):
        super().__init__()
        if mode not in POOLING_MODES:
            raise ValueError(f"pooling must be one of {POOLING_MODES}, got {mode!r}.")
        self.mode = mode

    def forward(self, token_embeddings, attention_mask=None):
        """Return (B, C) from token_embeddings (B, T, C) and mask (B, T)."""
        x = token_embeddings  # (B, T, C)
        if self.mode == "cls":
            return x[:, 0]  # (B, C)
        if attention_mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        else:
            mask = attention_mask.bool().to(x.device)  # (B, T)
        m = mask[:, :, None]  # (B, T, 1)
        if self.mode == "mean":
            total = x.masked_fill(~m, 0.0).sum(dim=1)  # (B, C)
            count = m.sum(dim=1).clamp(min=1).to(x.dtype)  # (B, 1)
            return total / count  # (B, C)
        out = x.masked_fill(~m, float("-inf")).max(dim=1).values  # (B, C)
        has_token = mask.any(dim=1, keepdim=True)  # (B, 1)
        return out.masked_fill(~has_token, 0.0)  # (B, C)

    def extra_repr(self):
        return f"mode={self.mode!r}"
