"""Self-supervised losses: skorch criteria for the masked-token models of :mod:`.models`.

Both models hide tokens and return what they need to be scored in training, so each loss reads
``y_pred`` alone; skorch's ``y`` (a placeholder for unlabelled data) is ignored.
"""

import torch.nn.functional as F
from torch import nn


class MLMLoss(nn.Module):
    """Cross-entropy of :class:`~sktransformer.nn.MaskedLanguageModel`'s ``(logits, targets)``.

    Examples
    --------
    >>> import torch
    >>> logits, targets = torch.zeros(3, 4), torch.tensor([0, 1, 3])
    >>> round(MLMLoss()((logits, targets)).item(), 4)  # log(4): a uniform guess over 4 ids
    1.3863
    """

    def forward(self, y_pred, y_true=None):
        logits, targets = y_pred  # (N, V), (N,)
        return F.cross_entropy(logits.float(), targets)


class MaskedReconstructionLoss(nn.Module):
    """Mean of the per-token errors over the hidden tokens.

    :class:`~sktransformer.nn.TransformerAutoencoder` returns ``(errors (B, T), hidden (B, T)
    bool)`` in training.

    Examples
    --------
    >>> import torch
    >>> errors = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> hidden = torch.tensor([[True, False, True], [False, False, True]])
    >>> round(MaskedReconstructionLoss()((errors, hidden)).item(), 4)  # (1 + 3 + 6) / 3
    3.3333
    """

    def forward(self, y_pred, y_true=None):
        errors, hidden = y_pred  # (B, T), (B, T)
        hidden = hidden.to(errors.dtype)
        return (errors * hidden).sum() / hidden.sum().clamp_min(1.0)
