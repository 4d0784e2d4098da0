"""The losses of training without a task head: skorch criteria.

The masked-token models of :mod:`.models` hide tokens and return what they need to be scored in
training, so their losses read ``y_pred`` alone (skorch's ``y`` is a placeholder for unlabelled
data); :class:`PairwiseCosineLoss` scores sentence vectors against class labels.
"""

import torch
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


class PairwiseCosineLoss(nn.Module):
    """Contrastive loss over every pair of a batch's texts (SetFit's cosine-similarity loss, with
    all the batch's pairs instead of sampled ones).

    For each pair of rows, the squared gap between the cosine similarity of their vectors and its
    target: 1 for two rows of the same class, 0 otherwise. Same-class and other-class pairs weigh
    the same (their two means are averaged), whatever the balance of the classes in the batch. A
    batch of B rows gives B (B - 1) / 2 pairs for B forward passes.

    Examples
    --------
    >>> import torch
    >>> loss = PairwiseCosineLoss()
    >>> v = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> float(loss(v, torch.tensor([0, 0, 1])))
    0.0
    """

    def forward(self, embeddings, labels):
        v = F.normalize(embeddings.float(), dim=1)  # (B, C)
        sim = v @ v.T  # (B, B)
        labels = labels.reshape(-1)
        upper = torch.ones_like(sim, dtype=torch.bool).triu(diagonal=1)  # each pair once
        same = (labels[:, None] == labels[None, :]) & upper
        other = ~(labels[:, None] == labels[None, :]) & upper
        terms = [((sim[same] - 1) ** 2).mean()] if same.any() else []
        terms += [(sim[other] ** 2).mean()] if other.any() else []
        return sum(terms) / len(terms) if terms else sim.sum() * 0.0  # one row: nothing to compare
