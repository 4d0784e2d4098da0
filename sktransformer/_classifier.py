"""TransformerClassifier: a transformer encoder with a classification head, trained by skorch."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ._base import SupervisedTransformer, store_params
from ._dask import dask_aware
from ._docs import fill_doc

#: ``few_shot="auto"`` takes the few-shot path when ``y`` has at most this many texts per class
#: (on average): the range SetFit is made for, where end-to-end training overfits.
FEW_SHOT_MAX_PER_CLASS = 64


@fill_doc
class TransformerClassifier(ClassifierMixin, SupervisedTransformer):
    """Transformer classifier for text, tables and sequences.

    The input mode is decided in ``fit`` from ``X``: a 1-D sequence of ``str`` is text (a subword
    tokenizer is trained on it), a 2-D array or DataFrame is a table (one token per feature,
    categorical columns allowed), a 3-D array ``(n_samples, n_steps, n_features)`` or a list of
    2-D arrays is a set of sequences. A transformer encoder reads the tokens, a pooling step
    makes one vector per sample and a linear head gives the class scores. skorch runs training.

    Parameters
    ----------
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's classifiers.
    few_shot : "auto" or bool, default="auto"
        How a pretrained ``backbone`` learns from a few labelled texts per class. ``True``: first
        the backbone is tuned so that the vectors of texts of one class move together and those of
        different classes apart (as ``TransformerEmbedder(fine_tune="contrastive")``: every pair of
        each batch compared, about 20 gradient steps with ``max_epochs="auto"``, the backbone at
        ``backbone_lr``, ``None``: 2e-5), then the head is a
        :class:`~sklearn.linear_model.LogisticRegression` (``C=1``, ``class_weight``) fitted on the
        tuned, L2-normalised vectors and written into the model's linear head (SetFit's recipe, in
        one estimator). Every class needs two texts; with ``freeze_backbone="all"`` only the head
        is fitted. ``False``: backbone and head train together on the cross-entropy. ``"auto"``:
        ``True`` for text with a pretrained backbone when ``y`` has at most 64 texts per class on
        average, every class at least two, and ``fit`` no ``sample_weight``; ``False`` otherwise
        (tables, mixed DataFrames, ``partial_fit``). ``warm_start`` and ``partial_fit``
        train a few-shot model on with the cross-entropy.
    {{backbone freeze_backbone backbone_lr d_model n_heads n_layers dim_feedforward dropout}}
    {{norm_first positional max_length vocab_size tokenizer pooling feature_tokens text_columns categorical_columns wide max_epochs batch_size}}
    {{lr weight_decay optimizer device early_stopping validation_fraction n_iter_no_change tol}}
    {{warm_start callbacks accelerator}}
    {{verbose random_state}}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    few_shot_ : bool
        Whether ``fit`` took the few-shot path (see ``few_shot``).
    {{input_mode_ n_features_in_ feature_names_in_ text_columns_ categorical_columns_ date_features_ encoder_ backbone_info_ net_ history_}}
    {{n_truncated_}}

    See Also
    --------
    TransformerRegressor : The same model with a regression head.
    TransformerEmbedder : Sentence vectors for any scikit-learn classifier.
    sklearn.neural_network.MLPClassifier : A multi-layer perceptron classifier.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sktransformer import TransformerClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = TransformerClassifier(d_model=16, n_heads=2, max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    _task = "classifier"
    _parameter_constraints = {
        **SupervisedTransformer._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "few_shot": [StrOptions({"auto"}), "boolean"],
    }

    def __init__(self, *, class_weight=None, few_shot="auto", backbone=None, freeze_backbone="none",
                 backbone_lr=None, d_model=64, n_heads=4, n_layers=2, dim_feedforward=128, dropout=0.1, norm_first=True, positional="learned",
                 max_length=None, vocab_size=16000, tokenizer="bpe", pooling="mean", feature_tokens="auto", text_columns="auto",
                 categorical_columns="auto", wide="auto",
                 max_epochs="auto", batch_size=64, lr=1e-3, weight_decay=0.01, optimizer="adamw", device="auto",
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol="auto", warm_start=False, callbacks=None, accelerator=None, verbose=0,
                 random_state=None):
        store_params(self, locals())

    # ------------------------------------------------------------------ targets, head, criterion
    def _prepare_targets(self, y, reset=True, classes=None):
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(y, input_name="y")
        if kind in ("multilabel-indicator", "multiclass-multioutput"):
            raise ValueError(
                f"y is {kind} (shape {np.shape(y)}), but TransformerClassifier predicts one label per row. "
                "For several labels per row, wrap it: sklearn.multioutput.MultiOutputClassifier("
                "TransformerClassifier()) or, for an indicator matrix, sklearn.multiclass.OneVsRestClassifier("
                "TransformerClassifier())."
            )
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset:
            self.classes_ = LabelEncoder().fit(y if classes is None else column_or_1d(classes)).classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    "Classifier can't train when only one class is present: "
                    f"{'classes' if classes is not None else 'y'} holds only {self.classes_[0]!r}."
                )
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            where = "classes (partial_fit's first call)" if classes is not None or not reset else "y"
            raise ValueError(
                f"y has labels {np.unique(y[unknown]).tolist()} that are not in {where}: {self.classes_.tolist()}. "
                "Pass every label on partial_fit's first call (classes=...), or fit from scratch "
                "(warm_start=False)."
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One more epoch of training on ``(X, y)``, as ``MLPClassifier.partial_fit``.

        The first call sets the model up from this ``X`` (the tokenizer or the scalers are
        learned from it) and needs ``classes``, every label later calls may bring; later calls
        train the same model one epoch more on their rows, at the constant rate ``lr``.

        Parameters
        ----------
        X : list of str, array-like, DataFrame or sequences
            Training inputs, of the same kind as on the first call.
        y : array-like of shape (n_samples,)
            Class labels, all in ``classes``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the loss (see :meth:`fit`).
        classes : array-like of shape (n_classes,), default=None
            Every class label; needed on the first call, and the same when passed later.

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "net_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit (every label, e.g. np.unique(y)).")
        if not first and classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={np.unique(classes).tolist()} is not what the model was set up with: {self.classes_.tolist()}."
            )
        return self._partial_fit(X, y, sample_weight=sample_weight, classes=classes if first else None)

    def _n_outputs(self):
        return len(self.classes_)

    # ------------------------------------------------------------------ few labelled texts
    @property
    def _normalize_pooled(self):
        return bool(getattr(self, "few_shot_", False))

    def _fit_new(self, X, y, sample_weight, **kwargs):
        y = self._require_y(y)
        self.few_shot_ = self._use_few_shot(X, y, sample_weight, kwargs.get("incremental", False))
        if self.few_shot_:
            return self._fit_few_shot(X, y)
        return super()._fit_new(X, y, sample_weight, **kwargs)

    def _use_few_shot(self, X, y, sample_weight, incremental):
        """``few_shot`` resolved for this fit; ``True`` where it cannot be done is a ValueError."""
        if self.few_shot is False:
            return False
        asked = self.few_shot is True

        def refuse(why):
            if asked:
                raise ValueError(f"few_shot=True {why}")
            return False

        if self.backbone is None:
            return refuse("tunes a pretrained backbone; set backbone (for example 'default'), or few_shot=False.")
        self._check_hyperparameters()
        self._check_X(X, reset=True)
        mode = self.input_mode_
        if mode != "text":
            return refuse(f"reads texts (a 1-D sequence of str), but X is {mode} input; use few_shot=False.")
        if incremental:
            return refuse("needs fit: partial_fit trains one epoch of the cross-entropy.")
        if sample_weight is not None:
            return refuse("does not weight rows (its pairs of texts have no weights); pass sample_weight with "
                          "few_shot=False, or weigh the classes with class_weight.")
        y_net = self._prepare_targets(y)
        if not asked and len(y_net) > FEW_SHOT_MAX_PER_CLASS * len(self.classes_):
            return False
        counts = np.bincount(y_net, minlength=len(self.classes_))
        if counts.min() < 2:  # no pair of texts of that class to learn from
            alone = self.classes_[counts < 2].tolist()
            return refuse(f"tunes the backbone on pairs of texts of one class, but class(es) {alone} have a single "
                          "text; give every class at least two texts, or set few_shot=False.")
        return True

    def _fit_few_shot(self, X, y):
        """SetFit's recipe: the backbone tuned on pairs of texts (``TransformerEmbedder(fine_tune=
        "contrastive")``), then a logistic regression on its vectors as the linear head."""
        import torch
        from sklearn.linear_model import LogisticRegression

        from ._backbone import Backbone
        from ._embedder import TransformerEmbedder, _FineTuned

        y_net = self._prepare_targets(y, reset=False)
        self._criterion(y_net)  # checks class_weight before any training
        tuned = None
        if self.freeze_backbone == "all":  # nothing to tune: the head on the pretrained vectors
            backbone = Backbone.from_params(self.backbone, self.freeze_backbone, self.backbone_lr)
        else:
            params = self._params_for(TransformerEmbedder)
            tuned = TransformerEmbedder(**params, fine_tune="contrastive", normalize=True, cache=False).fit(X, y)
            backbone = _FineTuned(tuned)
        self._fit(X, y, backbone=backbone, kind="few-shot")  # set up, not trained
        vectors = np.concatenate([out for out, _ in self._predict_chunks(X, method="embed")], axis=0)
        weights = self.class_weight
        if isinstance(weights, dict):
            weights = {i: weights.get(c, 1.0) for i, c in enumerate(self.classes_.tolist())}
        head = LogisticRegression(class_weight=weights, max_iter=1000).fit(vectors, y_net)
        coef, intercept = head.coef_, head.intercept_
        if len(self.classes_) == 2:  # one score z for the second class: logits (-z/2, z/2) give sigmoid(z)
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
        linear = self.net_.module_.head.linear
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(coef, dtype=linear.weight.dtype))
            linear.bias.copy_(torch.as_tensor(intercept, dtype=linear.bias.dtype))
        if tuned is not None:
            self.history_ = tuned.history_  # the record of the tuning
        return self

    def _make_head(self, width):
        from .nn import ClassificationHead

        return ClassificationHead(width, self._n_outputs(), dropout=self.dropout)

    def _criterion(self, y_net):
        import torch

        if self.class_weight is None:
            return torch.nn.CrossEntropyLoss, {}
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(f"class_weight has labels {sorted(unknown, key=str)} that are not in y.")
            weights = np.array([self.class_weight.get(c, 1.0) for c in self.classes_.tolist()], dtype=np.float64)
            if not (np.isfinite(weights).all() and (weights >= 0).all() and weights.any()):
                raise ValueError(
                    f"class_weight={self.class_weight!r}: weights must be finite and >= 0, and not all 0."
                )
        else:
            weights = compute_class_weight(self.class_weight, classes=np.arange(len(self.classes_)), y=y_net)
        return torch.nn.CrossEntropyLoss, {"weight": torch.as_tensor(weights, dtype=torch.float32)}

    def _divergence_hint(self):
        return f"Lower lr (now {self.lr}), check class_weight (now {self.class_weight!r}) or the scale of the inputs."

    def _stratified_split(self):
        return True

    def _net_class(self):
        from ._net import ClassifierNet

        # skorch's classifier makes net_.predict an argmax, so scorers such as
        # EpochScoring("accuracy") work in user callbacks; labels are encoded as 0..n_classes-1.
        return ClassifierNet, {"classes": np.arange(len(self.classes_))}

    # ------------------------------------------------------------------ outputs
    @dask_aware
    def predict_proba(self, X):
        """Class probabilities for ``X``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``.
        """
        logits = self._predict(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    @dask_aware
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    @dask_aware
    def predict(self, X):
        """Predicted class labels for ``X``.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        scores = self._predict(X)
        return self.classes_[np.argmax(scores, axis=1)]
