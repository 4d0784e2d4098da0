"""Output heads: pooled vector (B, C) -> (B, n_outputs)."""

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


class RegressionHead(nn.Module):
    """Dropout -> Linear, producing real-valued targets.

    Parameters
    ----------
    d_model : int
    n_outputs : int
        Number of targets.
    dropout : float, default=0.0
    """

    def __init__(self, d_model, n_outputs, dropout=0.0):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(d_model, n_outputs)

    def forward(self, pooled):
        return self.linear(self.dropout(pooled))  # (B, n_outputs)
