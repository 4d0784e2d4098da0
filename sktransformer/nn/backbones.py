"""Make a Hugging Face encoder look like the from-scratch encoder.

:class:`HFBackbone` wraps any ``transformers`` encoder (BERT, MiniLM, RoBERTa, ...) and returns
the same dict keys as :meth:`TransformerModel.forward_features` (``token_embeddings``,
``attention_mask``), so :class:`~sktransformer.nn.Pooling` and the heads are shared.
:class:`BackboneModel` is the whole model: backbone + pooling (+ L2 normalisation) + head.

``transformers`` is imported only inside :func:`load_hf_model`, never at module import.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .pooling import Pooling

#: In training, a batch of more rows runs through the backbone in groups of this many rows of
#: similar length, each cut to its own longest row: the same vectors and gradients as the whole
#: padded batch, without the work on padding (a batch of short texts and one long one pads every
#: row to the long one).
TRAIN_GROUP_ROWS = 16


def load_hf_model(path):
    """Load the encoder weights saved in the local folder ``path`` (no network access)."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(path, local_files_only=True)
    with _quiet_transformers():
        # "sdpa" is the fused attention of torch; the pooler (a CLS dense layer) is never used here.
        try:
            return AutoModel.from_pretrained(
                path, config=config, local_files_only=True, attn_implementation="sdpa", add_pooling_layer=False
            )
        except (TypeError, ValueError):
            return AutoModel.from_pretrained(path, config=config, local_files_only=True)


def hf_model_from_config(config, pooler=False):
    """An encoder of the architecture ``config`` (a ``config.to_dict()``), its weights not loaded:
    the caller loads them (a model saved by :func:`sktransformer.load`'s format). ``pooler``:
    whether the saved model had its pooling layer."""
    from transformers import AutoConfig, AutoModel

    config = dict(config)
    config = AutoConfig.for_model(config.pop("model_type"), **config)
    with _quiet_transformers(), _no_init_weights():  # random weights that are replaced at once
        try:
            return AutoModel.from_config(config, attn_implementation="sdpa", add_pooling_layer=pooler)
        except (TypeError, ValueError):
            return AutoModel.from_config(config)


def _no_init_weights():
    """``transformers``' context that skips weight initialisation (its place differs between
    versions), or a context that changes nothing."""
    import contextlib
    import importlib

    for where in ("transformers.initialization", "transformers.modeling_utils"):
        try:
            return importlib.import_module(where).no_init_weights()
        except (ImportError, AttributeError):
            continue
    return contextlib.nullcontext()


class _quiet_transformers:
    """No load report (unused pooler weights) nor progress bar from ``transformers``."""

    def __enter__(self):
        from transformers.utils import logging as hf_logging

        self.verbosity = hf_logging.get_verbosity()
        self.bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

    def __exit__(self, *exc):
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity(self.verbosity)
        if self.bars:
            hf_logging.enable_progress_bar()


class HFBackbone(nn.Module):
    """A Hugging Face encoder with the scratch encoder's output dict.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        An encoder-only model whose output has ``last_hidden_state`` (B, T, C).

    Attributes
    ----------
    hidden_size : int
        Width ``C`` of the token vectors.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.hidden_size = int(model.config.hidden_size)
        self.all_frozen = False

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        """Return ``{"token_embeddings": (B, T, C), "attention_mask": (B, T) bool}``."""
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask.long()}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        out = self.model(**kwargs, return_dict=True)
        return {"token_embeddings": out.last_hidden_state, "attention_mask": attention_mask.bool()}

    def train(self, mode=True):
        super().train(mode)
        if getattr(self, "all_frozen", False):
            self.model.eval()  # frozen features: the same with or without dropout in the head
        return self

    def layers(self):
        """The embedding module and the transformer layers, bottom up (for partial freezing)."""
        embeddings = getattr(self.model, "embeddings", None)
        stack = None
        encoder = getattr(self.model, "encoder", None)
        for name in ("layer", "layers", "block"):
            if encoder is not None and isinstance(getattr(encoder, name, None), nn.ModuleList):
                stack = getattr(encoder, name)
                break
        if stack is None:  # any other architecture: its largest ModuleList
            lists = [m for m in self.model.modules() if isinstance(m, nn.ModuleList)]
            stack = max(lists, key=len) if lists else nn.ModuleList()
        return embeddings, list(stack)

    def freeze(self, spec):
        """Stop gradients: ``"all"``, ``"none"``, or an int ``k`` (embeddings + the first k layers).

        A fully frozen backbone is a fixed feature extractor: it stays in evaluation mode (no
        dropout) even while the head trains.
        """
        self.all_frozen = spec is True or spec == "all"
        if self.all_frozen:
            frozen = [self]
        elif spec is None or spec is False or spec == "none":
            frozen = []
        else:
            embeddings, layers = self.layers()
            frozen = ([] if embeddings is None else [embeddings]) + layers[: int(spec)]
        for p in self.parameters():
            p.requires_grad_(True)
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)
        return self.train(self.training)  # applies (or lifts) the evaluation mode of a frozen backbone


class EncoderFeatures(nn.Module):
    """Expose a from-scratch :class:`TransformerModel`'s ``forward_features`` dict as ``forward``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, **inputs):
        return self.model.forward_features(**inputs)


class BackboneModel(nn.Module):
    """Backbone -> pooling -> (L2 normalisation) -> head.

    Parameters
    ----------
    backbone : nn.Module
        Returns a dict with ``token_embeddings`` (B, T, C) and ``attention_mask`` (B, T), e.g.
        :class:`HFBackbone`.
    pooling : {"mean", "max", "cls"}, default="mean"
    head : nn.Module or None, default=None
        Maps (B, C) -> (B, n_outputs); None returns the sentence embedding.
    normalize : bool, default=False
        L2-normalise the sentence embedding (before the head).
    """

    def __init__(self, backbone, pooling="mean", head=None, normalize=False):
        super().__init__()
        self.backbone = backbone
        self.pooling = Pooling(pooling)
        self.head = head if head is not None else nn.Identity()
        self.normalize = bool(normalize)

    def forward_features(self, **inputs):
        """Return the backbone's dict plus ``sentence_embedding`` (B, C)."""
        out = dict(self.backbone(**inputs))
        pooled = self.pooling(out["token_embeddings"], out["attention_mask"])  # (B, C)
        if self.normalize:
            pooled = F.normalize(pooled, p=2, dim=1)
        out["sentence_embedding"] = pooled
        return out

    def embed(self, **inputs):
        """Return ``sentence_embedding`` (B, C): the vectors the head reads."""
        return self.forward_features(**inputs)["sentence_embedding"]

    def forward(self, **inputs):
        """Return ``head(sentence_embedding)``, shape (B, n_outputs)."""
        mask = inputs.get("attention_mask")
        if self.training and mask is not None and mask.dim() == 2 and len(mask) > TRAIN_GROUP_ROWS:
            return self.head(self._grouped_embeddings(inputs, mask.bool()))
        return self.head(self.forward_features(**inputs)["sentence_embedding"])

    def _grouped_embeddings(self, inputs, mask):
        """``sentence_embedding`` of a training batch, computed by groups of rows of similar length
        (see ``TRAIN_GROUP_ROWS``) and put back in the batch's order."""
        order = torch.argsort(mask.sum(dim=1), descending=True, stable=True)
        parts = []
        for start in range(0, len(order), TRAIN_GROUP_ROWS):
            rows = order[start:start + TRAIN_GROUP_ROWS]
            width = int(mask[rows].any(dim=0).nonzero().max()) + 1  # padding on the right is cut off
            group = {k: v[rows, :width] if v.shape == mask.shape else v[rows] for k, v in inputs.items()}
            parts.append(self.forward_features(**group)["sentence_embedding"])
        return torch.cat(parts)[torch.argsort(order)]


class BackboneTokens(nn.Module):
    """A pretrained backbone's token vectors, projected to ``d_model``: the text part of a mixed
    row (:class:`~sktransformer.nn.embeddings.mixed.MixedEmbedding`).

    Parameters
    ----------
    backbone : HFBackbone
    d_model : int
        Width of the tokens the fusion encoder reads.
    """

    def __init__(self, backbone, d_model):
        super().__init__()
        self.backbone = backbone
        self.project = nn.Linear(backbone.hidden_size, d_model)

    def forward(self, input_ids, attention_mask):
        """Return ``(x (B, L, d_model), mask (B, L) bool)``."""
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        return self.project(out["token_embeddings"]), out["attention_mask"]  # (B, L, C)
