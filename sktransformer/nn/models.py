"""Whole models: input module + encoder + pooling + head."""

import torch
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
    first_norm : bool, default=True
        ``False`` skips the first block's input LayerNorm (see :class:`Encoder`); the
        estimators do so for tables.
    wide : nn.Module or None, default=None
        The wide part of a wide-and-deep model (:class:`NgramLinear`, :class:`ColumnLinear`): it
        reads the same inputs as ``embedding`` and its scores are added to the head's.

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
        first_norm=True,
        wide=None,
    ):
        super().__init__()
        self.embedding = embedding
        self.encoder = Encoder(
            d_model, n_heads, n_layers, dim_feedforward, dropout=dropout, norm_first=norm_first,
            first_norm=first_norm,
        )
        self.pooling = Pooling(pooling)
        self.head = head if head is not None else nn.Identity()
        self.wide = wide
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
        """Return ``head(sentence_embedding)`` (plus ``wide(**inputs)``), shape (B, n_outputs)."""
        out = self.head(self.forward_features(**inputs)["sentence_embedding"])
        if self.wide is not None:
            out = out + self.wide(**inputs)
        return out


class TransformerAutoencoder(nn.Module):
    """Masked-token autoencoder: hide some tokens, rebuild them from the others.

    Training (``module.train()``) hides each real token with probability ``mask_ratio`` (at least
    one per row), replaces it by a learned ``[MASK]`` vector plus a learned slot vector that says
    which column / position it was, and returns the per-token reconstruction errors of the hidden
    tokens with their weights. At evaluation the tokens are split into ``n_groups`` fixed
    interleaved groups (token ``t`` is in group ``t % n_groups``) and each group is hidden in
    turn, so every token is rebuilt once from context it does not contain — deterministic, and the
    same task as in training. ``output`` picks what evaluation returns.

    Parameters
    ----------
    embedding : nn.Module
        Input module returning ``(tokens (B, T, C), mask (B, T))``, without a CLS token.
    d_model, n_heads, n_layers, dim_feedforward : int
    max_tokens : int
        Most tokens per row (columns, steps or subwords).
    head : ReconstructionHead
    dropout : float, default=0.0
    norm_first : bool, default=True
    pooling : {"mean", "max"}, default="mean"
        Pooling of the token vectors for the latent code.
    mask_ratio : float, default=0.25
        Share of tokens hidden per row in training; ``n_groups = round(1 / mask_ratio)``.

    Attributes
    ----------
    output : {"errors", "reconstruction", "latent", "repair"}
        At evaluation: per-token errors (B, T), the rebuilt tokens (B, T) or (B, T, F), the
        pooled code of the unmasked input (B, C), or for each token ``t`` the errors and code of
        the row with token ``t`` set to its reconstruction (B, T, T + C; costly:
        ``T * (n_groups + 1)`` encoder passes).

    Examples
    --------
    >>> import torch
    >>> from sktransformer.nn import FeatureTokenizer, ReconstructionHead
    >>> model = TransformerAutoencoder(FeatureTokenizer(3, [], 8, add_cls=False), 8, 2, 1, 16,
    ...                                max_tokens=3, head=ReconstructionHead(8, n_numeric=3)).eval()
    >>> tuple(model(x_num=torch.randn(5, 3)).shape)
    (5, 3)
    """

    def __init__(
        self, embedding, d_model, n_heads, n_layers, dim_feedforward, max_tokens, head,
        dropout=0.0, norm_first=True, pooling="mean", mask_ratio=0.25,
    ):
        super().__init__()
        self.embedding = embedding
        self.encoder = Encoder(d_model, n_heads, n_layers, dim_feedforward, dropout=dropout, norm_first=norm_first)
        self.pooling = Pooling(pooling)
        self.head = head
        self.mask_ratio = float(mask_ratio)
        self.n_groups = max(1, round(1.0 / self.mask_ratio))
        self.mask_token = nn.Parameter(torch.zeros(d_model))
        self.slot = nn.Parameter(torch.empty(max_tokens, d_model))
        nn.init.normal_(self.mask_token, std=0.02)
        nn.init.normal_(self.slot, std=0.02)
        self.output = "errors"
        self.encoder.apply(TransformerModel._init_weights)

    def _encode(self, x, mask, hide):
        """Tokens (B, T, C) with ``hide`` (B, T) tokens replaced by [MASK] + slot -> encoder output."""
        T = x.shape[1]
        if hide is not None:
            filler = (self.mask_token + self.slot[:T]).to(x.dtype)  # (T, C)
            x = torch.where(hide[..., None], filler, x)  # (B, T, C)
        h, _ = self.encoder(x, mask)  # (B, T, C)
        return h

    def _random_hide(self, mask):
        r = torch.rand(mask.shape, device=mask.device)  # (B, T)
        r = r.masked_fill(~mask, 2.0)
        hide = r < self.mask_ratio
        hide |= r == r.min(dim=1, keepdim=True).values  # at least one hidden real token per row
        return hide & mask

    def forward(self, **inputs):
        x, mask = self.embedding(**inputs)  # (B, T, C), (B, T)
        mask = mask.bool()
        if self.training:
            hide = self._random_hide(mask)  # (B, T)
            h = self._encode(x, mask, hide)
            return self.head.errors(h, inputs, hide), hide  # (B, T), (B, T)
        if self.output == "latent":
            return self.pooling(self._encode(x, mask, None), mask)  # (B, C)
        if self.output == "repair":
            return self._repairs(x, mask, inputs)
        return self._grouped(x, mask, inputs, self.output)

    def _grouped(self, x, mask, inputs, output):
        """Hide each group of tokens in turn: per-token errors (B, T) or reconstructions."""
        T = x.shape[1]
        group = torch.arange(T, device=x.device) % self.n_groups  # (T,)
        result = None
        for g in range(min(self.n_groups, T)):
            hide = (group == g)[None, :] & mask  # (B, T)
            h = self._encode(x, mask, hide)
            if output == "errors":
                part = self.head.errors(h, inputs, hide)  # (B, T)
            else:
                part = self.head.predict(h)  # (B, T) or (B, T, F)
                keep = hide if part.dim() == 2 else hide[..., None]
                part = part.to(x.dtype) * keep
            result = part if result is None else result + part
        return result

    def _repairs(self, x, mask, inputs):
        """For each token ``t``: the row with token ``t`` set to its reconstruction, scored again.

        Returns (B, T, T + C): per token ``t``, the repaired row's per-token errors (T) and its
        pooled code (C). What changes when one token takes the value the model expected shows
        how much that token made the row unusual.
        """
        rec = self._grouped(x, mask, inputs, "reconstruction")  # (B, T) or (B, T, F)
        out = []
        for t in range(x.shape[1]):
            fixed = self.head.replace(inputs, rec, t)
            xt, _ = self.embedding(**fixed)
            errors = self._grouped(xt, mask, fixed, "errors")  # (B, T)
            code = self.pooling(self._encode(xt, mask, None), mask)  # (B, C)
            out.append(torch.cat([errors.to(code.dtype), code], dim=1))
        return torch.stack(out, dim=1)  # (B, T, T + C)
