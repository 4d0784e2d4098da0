"""Whole models: input module + encoder + pooling + head, and the two masked-token models.

:class:`TransformerModel` predicts (classification, regression, features).
:class:`TransformerAutoencoder` rebuilds hidden tokens of any input kind (outlier scores, codes).
:class:`MaskedLanguageModel` pretrains a text encoder by predicting hidden subwords. Their losses
are in :mod:`.losses`.
"""

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
        x, weights = self.encoder(x, mask, need_weights=need_weights)  # (B, T, C)
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


def _random_hide(mask, ratio):
    """Hide each real token with probability ``ratio``, and at least one per row with a real token.

    Parameters
    ----------
    mask : bool tensor of shape (B, T)
        True for real tokens.
    ratio : float

    Returns
    -------
    hide : bool tensor of shape (B, T)
        True for the hidden tokens (never padding).
    """
    r = torch.rand(mask.shape, device=mask.device).masked_fill(~mask, 2.0)  # (B, T)
    hide = (r < ratio) | (r == r.min(dim=1, keepdim=True).values)  # the row's lowest draw too
    return hide & mask


class TransformerAutoencoder(nn.Module):
    """Masked-token autoencoder: hide some tokens, rebuild them from the others.

    Training (``module.train()``) hides each real token with probability ``mask_ratio`` (at least
    one per row), replaces it by a learned ``[MASK]`` vector plus a learned slot vector that says
    which column / position it was, and ``forward`` returns the reconstruction errors with the
    hidden items, ``(errors (B, N), hide (B, N))``, for
    :class:`~sktransformer.nn.MaskedReconstructionLoss`. A token holds one item (a table cell, a
    step, a subword) or, for a wide table, a group of cells; errors are per item.

    At evaluation the tokens are split into ``n_groups`` fixed interleaved groups (token ``t`` is
    in group ``t % n_groups``) and each group is hidden in turn, so every token is rebuilt once
    from context it does not contain: deterministic, and the same task as in training.
    ``forward`` then returns :meth:`errors`; :meth:`reconstruct`, :meth:`latent` and
    :meth:`repairs` give the other readings. Each takes the same ``**inputs`` as ``forward``.

    Parameters
    ----------
    embedding : nn.Module
        Input module returning ``(tokens (B, T, C), mask (B, T))``, without a CLS token.
    d_model, n_heads, n_layers, dim_feedforward : int
    max_tokens : int
        Most tokens per row (columns, steps or subwords).
    head : nn.Module
        The reconstruction head of the input kind: :class:`TableReconstructionHead`,
        :class:`SequenceReconstructionHead` or :class:`TextReconstructionHead`.
    dropout : float, default=0.0
    norm_first : bool, default=True
    pooling : {"mean", "max"}, default="mean"
        Pooling of the token vectors for the latent code.
    mask_ratio : float, default=0.25
        Share of tokens hidden per row in training; ``n_groups = round(1 / mask_ratio)``.

    Examples
    --------
    >>> import torch
    >>> from sktransformer.nn import FeatureTokenizer, TableReconstructionHead
    >>> model = TransformerAutoencoder(FeatureTokenizer(3, [], 8, add_cls=False), 8, 2, 1, 16,
    ...                                max_tokens=3, head=TableReconstructionHead(8, 3)).eval()
    >>> x_num = torch.randn(5, 3)
    >>> tuple(model.errors(x_num=x_num).shape), tuple(model.latent(x_num=x_num).shape)
    ((5, 3), (5, 8))
    >>> torch.equal(model(x_num=x_num), model.errors(x_num=x_num))
    True
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
        self.encoder.apply(TransformerModel._init_weights)

    def forward(self, **inputs):
        """Training: ``(errors, hidden)``, both (B, n_items): the errors of the items of the hidden
        tokens (0 elsewhere) and which items were hidden. Evaluation: :meth:`errors`."""
        if not self.training:
            return self.errors(**inputs)
        x, mask = self._embed(inputs)  # (B, T, C), (B, T)
        hide = _random_hide(mask, self.mask_ratio)  # (B, T)
        h = self._encode(x, mask, hide)  # (B, T, C)
        hidden = self.head.columns(hide)  # (B, n_items)
        if hasattr(self.head, "observed"):  # a missing number is no target
            hidden = hidden & self.head.observed(inputs)
        return self.head.errors(h, inputs, hide), hidden

    def errors(self, **inputs):
        """Per-item reconstruction errors (B, n_items), each token rebuilt with its group hidden; 0
        on padding. An item is a token's content: a table cell, a step, a subword (a wide table's
        token holds several cells, see :func:`~sktransformer.nn.column_tokens`)."""
        x, mask = self._embed(inputs)
        return self._grouped_errors(x, mask, inputs)

    def reconstruct(self, **inputs):
        """The rebuilt items, each with its token's group hidden: (B, n_items) values / codes /
        token ids, or (B, T, F) steps; 0 on padding."""
        x, mask = self._embed(inputs)
        return self._grouped_reconstruction(x, mask)

    def latent(self, **inputs):
        """The pooled code of the unmasked input (B, C)."""
        x, mask = self._embed(inputs)
        return self.pooling(self._encode(x, mask, None), mask)  # (B, C)

    def repairs(self, **inputs):
        """For each token ``t``: the row with token ``t``'s items set to their reconstruction,
        scored again.

        Returns (B, T, N + C) for T tokens holding N items: per token ``t``, the repaired row's
        per-item errors (N) and its pooled code (C). What changes when one token takes the values
        the model expected shows how much it made the row unusual. Costly: ``T * (n_groups + 1)``
        encoder passes.
        """
        x, mask = self._embed(inputs)
        rec = self._grouped_reconstruction(x, mask)  # (B, N) or (B, T, F)
        out = []
        for t in range(x.shape[1]):
            fixed = self.head.replace(inputs, rec, t)
            xt, _ = self.embedding(**fixed)  # (B, T, C)
            errors = self._grouped_errors(xt, mask, fixed)  # (B, N)
            code = self.pooling(self._encode(xt, mask, None), mask)  # (B, C)
            out.append(torch.cat([errors.to(code.dtype), code], dim=1))  # (B, N + C)
        return torch.stack(out, dim=1)  # (B, T, N + C)

    def _embed(self, inputs):
        x, mask = self.embedding(**inputs)  # (B, T, C), (B, T)
        return x, mask.bool()

    def _encode(self, x, mask, hide):
        """Tokens (B, T, C) with ``hide`` (B, T) tokens replaced by [MASK] + slot -> encoder output."""
        T = x.shape[1]
        if hide is not None:
            filler = (self.mask_token + self.slot[:T]).to(x.dtype)  # (T, C)
            x = torch.where(hide[..., None], filler, x)  # (B, T, C)
        h, _ = self.encoder(x, mask)  # (B, T, C)
        return h

    def _groups(self, mask):
        """The evaluation groups as (B, T) bool masks of real tokens: token ``t`` in group
        ``t % n_groups``."""
        T = mask.shape[1]
        group = torch.arange(T, device=mask.device) % self.n_groups  # (T,)
        return [(group == g)[None, :] & mask for g in range(min(self.n_groups, T))]

    def _grouped_errors(self, x, mask, inputs):
        err = 0
        for hide in self._groups(mask):
            err = err + self.head.errors(self._encode(x, mask, hide), inputs, hide)  # (B, N)
        return err

    def _grouped_reconstruction(self, x, mask):
        rec = 0
        for hide in self._groups(mask):
            pred = self.head.predict(self._encode(x, mask, hide))  # (B, N) or (B, T, F)
            keep = self.head.columns(hide)
            keep = keep if pred.dim() == 2 else keep[..., None]
            rec = rec + pred.to(x.dtype) * keep
        return rec


class MaskedLanguageModel(nn.Module):
    """Masked-language-model training around an encoder that returns token vectors.

    In training, each real token is replaced by ``mask_id`` with probability ``mask_prob`` (at
    least one per row) and the model predicts the original ids there; ``forward`` returns
    ``(logits (N, V), targets (N,))`` for the hidden tokens, for
    :class:`~sktransformer.nn.MLMLoss`. In evaluation ``forward`` returns the pooled sentence
    embedding (B, C).

    Parameters
    ----------
    encoder : nn.Module
        Has ``forward_features(input_ids=..., attention_mask=...)`` returning ``token_embeddings``
        (B, T', C) and ``attention_mask``; a leading CLS slot (T' = T + 1) is allowed.
    d_model, vocab_size, mask_id : int
    mask_prob : float, default=0.15

    Examples
    --------
    >>> import torch
    >>> from sktransformer.nn import TokenEmbedding
    >>> encoder = TransformerModel(TokenEmbedding(20, 8, 6), 8, 2, 1, 16)
    >>> mlm = MaskedLanguageModel(encoder, d_model=8, vocab_size=20, mask_id=1)
    >>> ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    >>> logits, targets = mlm(ids, ids != 0)
    >>> logits.shape[1], bool(targets.ne(0).all())
    (20, True)
    >>> tuple(mlm.eval()(ids, ids != 0).shape)
    (2, 8)
    """

    def __init__(self, encoder, d_model, vocab_size, mask_id, mask_prob=0.15):
        super().__init__()
        self.encoder = encoder
        self.lm_head = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.LayerNorm(d_model),
                                     nn.Linear(d_model, vocab_size))
        self.mask_id = int(mask_id)
        self.mask_prob = float(mask_prob)

    def forward(self, input_ids, attention_mask):
        if not self.training:
            return self.encoder.forward_features(input_ids=input_ids, attention_mask=attention_mask)[
                "sentence_embedding"
            ]  # (B, C)
        hide = _random_hide(attention_mask.bool(), self.mask_prob)  # (B, T)
        corrupted = input_ids.masked_fill(hide, self.mask_id)  # (B, T)
        out = self.encoder.forward_features(input_ids=corrupted, attention_mask=attention_mask)
        h = out["token_embeddings"][:, -input_ids.shape[1]:]  # drop a leading CLS slot: (B, T, C)
        return self.lm_head(h[hide]), input_ids[hide]  # (N, V), (N,)
