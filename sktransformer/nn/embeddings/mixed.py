"""Mixed rows: feature tokens (numeric and categorical columns) beside text tokens."""

import torch
from torch import nn

from .positions import prepend_cls


class MixedEmbedding(nn.Module):
    """The tokens of a row that holds table columns and free-text columns: (B, F + L, C).

    The feature tokens of the table columns come first (:class:`FeatureTokenizer`, no CLS), then
    the text tokens of every text column end to end. Each text token gets the learned vector of
    the column it comes from (``field_ids``), so the encoder tells a title's words from a
    review's, and attends over feature and text tokens together.

    Parameters
    ----------
    text : nn.Module
        Token ids -> ``(x (B, L, C), mask (B, L))``, without a CLS token: a
        :class:`TokenEmbedding`, or a pretrained backbone's token vectors
        (:class:`~sktransformer.nn.backbones.BackboneTokens`).
    n_fields : int
        Text columns.
    d_model : int
    features : nn.Module or None, default=None
        A :class:`FeatureTokenizer` with ``add_cls=False``; None when every column is text.
    add_cls : bool, default=False
        Prepend a learned CLS vector at position 0.

    Attributes
    ----------
    n_feature_tokens : int
        Feature tokens per row (``F``).

    Examples
    --------
    >>> import torch
    >>> from sktransformer.nn import FeatureTokenizer, TokenEmbedding
    >>> emb = MixedEmbedding(TokenEmbedding(20, 8, 6), n_fields=2, d_model=8,
    ...                      features=FeatureTokenizer(2, [3], 8, add_cls=False))
    >>> x, mask = emb(input_ids=torch.tensor([[2, 5, 6, 2, 7, 0]]), attention_mask=torch.tensor([[1, 1, 1, 1, 1, 0]]),
    ...               field_ids=torch.tensor([[0, 0, 0, 1, 1, 0]]), x_num=torch.randn(1, 2), x_cat=torch.tensor([[1]]))
    >>> tuple(x.shape), mask.tolist()
    ((1, 9, 8), [[True, True, True, True, True, True, True, True, False]])
    """

    def __init__(self, text, n_fields, d_model, features=None, add_cls=False):
        super().__init__()
        self.text = text
        self.features = features
        self.field = nn.Embedding(n_fields, d_model)
        nn.init.normal_(self.field.weight, std=0.02)
        self.add_cls = add_cls
        self.cls = nn.Parameter(nn.init.normal_(self.field.weight.new_empty(1, 1, d_model), std=0.02)) if add_cls else None
        self.n_feature_tokens = 0 if features is None else int(features.n_tokens)

    def forward(self, input_ids, attention_mask, field_ids, x_num=None, x_cat=None):
        """Return ``(x (B, [1 +] F + L, C), mask)``."""
        x, mask = self.text(input_ids, attention_mask)  # (B, L, C), (B, L)
        x = x + self.field(field_ids)  # (B, L, C)
        if self.features is not None:
            f, f_mask = self.features(x_num, x_cat)  # (B, F, C)
            x = torch.cat([f.to(x.dtype), x], dim=1)  # (B, F + L, C)
            mask = torch.cat([f_mask, mask.bool()], dim=1)
        if self.add_cls:
            x, mask = prepend_cls(self.cls, x, mask.bool())  # (B, 1 + F + L, C)
        return x, mask.bool()

