"""Whole models: input module + encoder + pooling + head."""

from torch import nn

from .blocks import Encoder
from .pooling import Pooling


class TransformerModel(nn.Module):
    """Encoder-only transformer over any input module.

    Parameters
    ----------
    embedding : nn.Module
        An input module (:class:`TokenEmbedding`, :class:`FeatureTokenizer`,
        :class:`StepProjection`) returning ``(tokens (B, T, C), mask (B, T))``.
    d_model, n_heads, n_layers, dim_feedforward : int
    dropout : float, default=0.1
    norm_first : bool, default=True
    pooling : {"mean", "max", "cls"}, default="mean"
    head : nn.Module or None, default=None
        Maps (B, C) -> (B, n_outputs). None returns the pooled vector.
    causal : bool, default=False
        Causal self-attention.

    Examples
    --------
    >>> import torch
    >>> from sktransformer.nn import TokenEmbedding, ClassificationHead
    >>> model = TransformerModel(TokenEmbedding(20, 8, 6), 8, 2, 1, 16,
    ...                          head=ClassificationHead(8, 3))
    >>> tuple(model(input_ids=torch.tensor([[1, 2, 3, 0]])).shape)
    (1, 3)
    """

    def __init__(
        self,
        embedding,
        d_model,
        n_heads,
        n_layers,
        dim_feedforward,
        dropout=0.1,
        norm_first=True,
        pooling="mean",
        head=None,
        causal=False,
    ):
        super().__init__()
        self.embedding = embedding
        self.encoder = Encoder(
            d_model, n_heads, n_layers, dim_feedforward, dropout=dropout, norm_first=norm_first
        )
        self.pooling = Pooling(pooling)
        self.head = head if head is not None else nn.Identity()
        self.causal = causal
        self.encoder.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward_features(self, need_weights=False, **inputs):
        """Encode and pool.

        Parameters
        ----------
        need_weights : bool, default=False
        **inputs
            Passed to ``self.embedding``.

        Returns
        -------
        dict
            ``token_embeddings`` (B, T, C), ``attention_mask`` (B, T) bool,
            ``sentence_embedding`` (B, C), and ``attentions`` (list of
            (B, H, T, T), one per layer) when ``need_weights``.
        """
        x, mask = self.embedding(**inputs)  # (B, T, C), (B, T)
        x, weights = self.encoder(x, mask, self.causal, need_weights)  # (B, T, C)
        out = {
            "token_embeddings": x,
            "attention_mask": mask,
            "sentence_embedding": self.pooling(x, mask),  # (B, C)
        }
        if need_weights:
            out["attentions"] = weights
        return out

    def forward(self, **inputs):
        """Return ``head(sentence_embedding)``, shape (B, n_outputs)."""
        return self.head(self.forward_features(**inputs)["sentence_embedding"])
