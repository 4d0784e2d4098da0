"""AttentionAutoencoder: anomaly detection by masked-token reconstruction, with sklearn's outlier API."""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, OutlierMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import TABLE_CONSTRAINTS, TransformerBase, store_params
from ._dask import dask_aware
from ._density import RobustGaussian
from ._docs import fill_doc
from ._validation import _is_pandas


@fill_doc
class AttentionAutoencoder(OutlierMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, TransformerBase):
    """Transformer autoencoder for anomaly detection on tables, sequences and text.

    Each row is a set of tokens: one per column (tables), per step (sequences) or per subword
    (text). Training hides a random quarter of the tokens of every row and teaches a transformer
    encoder to rebuild them from the tokens left, so the attention learns how the columns (steps,
    words) of normal rows depend on each other. To score a row, its tokens are hidden group by
    group (each token once) and rebuilt, which gives its reconstruction error: a row whose
    values do not fit together rebuilds badly. For tables, each column's error is measured in
    units of its median training error, so no single noisy column dominates.

    The default score, ``anomaly_score="density"``, goes one step further, in the spirit of
    DAGMM (Zong et al., 2018): it fits a Gaussian to the training rows' latent codes (the pooled
    encoder output, as returned by ``transform``) together with their log mean reconstruction
    error, and scores a row by its squared Mahalanobis distance from them. The Gaussian is fitted
    robustly, so outliers in the training set do not widen it. A row can then be flagged for
    rebuilding badly, *or* for a code unlike the training rows' even when its columns agree
    with each other (``docs/benchmarks.rst`` compares the two scores).
    ``anomaly_score="reconstruction"`` scores by the mean reconstruction error alone (for text,
    the mean token loss).

    ``score_samples`` follows scikit-learn: higher means more normal (minus the distance or
    minus the mean error). ``decision_function`` subtracts ``offset_`` so that outliers are
    negative, and ``predict`` returns +1 for inliers and -1 for outliers.
    ``reconstruction_errors`` gives the error of every column / step / token, and
    :func:`sktransformer.inspection.anomaly_contributions` splits each row's score over them to
    explain a flag.

    Parameters
    ----------
    contamination : "auto" or float, default="auto"
        Expected share of outliers in the training set; sets ``offset_``. With a float in
        (0, 0.5] the threshold is that quantile of the training scores. With ``"auto"`` it is a
        robust cut on the training anomaly scores (``-score_samples``), Tukey's fence: rows
        whose score is above Q3 + 1.5 IQR are outliers.
    anomaly_score : {"density", "reconstruction"}, default="density"
        ``"density"``: minus the squared Mahalanobis distance of a row's ``[latent code, log mean
        reconstruction error]`` under a Gaussian fitted to the training rows'. ``"reconstruction"``:
        minus the mean reconstruction error. Both use the same trained network.
    mask_ratio : float, default=0.25
        Share of tokens hidden per row in training. Scoring hides ``round(1 / mask_ratio)``
        interleaved groups in turn, so a lower ratio costs more forward passes.
    pooling : {"mean", "max"}, default="mean"
        How token vectors become the latent code returned by ``transform``.
    {{d_model n_heads n_layers dim_feedforward dropout norm_first positional max_length}}
    {{vocab_size tokenizer feature_tokens text_columns categorical_columns max_epochs batch_size lr weight_decay optimizer device}}
    {{early_stopping validation_fraction n_iter_no_change tol callbacks accelerator verbose random_state}}

    Attributes
    ----------
    offset_ : float
        ``decision_function(X) = score_samples(X) - offset_``.
    density_ : RobustGaussian or None
        ``anomaly_score="density"``: the Gaussian fitted to the training rows' ``[latent code, log
        mean error]`` (its ``location_`` and ``precision_``), robust to outliers among them (see
        the anomaly-detection guide). ``None`` with ``anomaly_score="reconstruction"``.
    error_scale_ : ndarray of shape (`n_features_in_`,) or None
        Tables: the median training error of each column (in token order); errors are divided by
        it, so every column counts in units of its own typical error. A DataFrame with text
        columns: the same for its other columns, then one entry for all text tokens (their median
        error). ``None`` otherwise.
    {{input_mode_ n_features_in_ feature_names_in_ text_columns_ categorical_columns_ date_features_ encoder_ net_ history_ n_truncated_}}

    See Also
    --------
    sklearn.ensemble.IsolationForest : Isolation-based outlier detector.
    sklearn.neighbors.LocalOutlierFactor : Density-based outlier detector.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransformer import AttentionAutoencoder
    >>> rng = np.random.RandomState(0)
    >>> z = rng.normal(size=(300, 1))
    >>> X = np.hstack([z, 2 * z, -z]) + 0.05 * rng.normal(size=(300, 3))
    >>> X[0] = [1.0, -2.0, 1.0]                     # each value is normal, together they are not
    >>> ae = AttentionAutoencoder(d_model=16, n_heads=2, contamination=0.01, max_epochs=60,
    ...                          random_state=0).fit(X)
    >>> int(np.argmin(ae.score_samples(X)))
    0
    >>> int(ae.predict(X[:1])[0])
    -1
    """

    _task = "autoencoder"
    _min_samples = 2  # the threshold (offset_) and the density need a spread of training scores
    _parameter_constraints = {
        **TransformerBase._parameter_constraints,
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "anomaly_score": [StrOptions({"density", "reconstruction"})],
        "mask_ratio": [Interval(Real, 0, 1, closed="neither")],
        "pooling": [StrOptions({"mean", "max"})],
        **TABLE_CONSTRAINTS,
    }

    def __init__(self, *, contamination="auto", anomaly_score="density", mask_ratio=0.25, pooling="mean", d_model=32,
                 n_heads=4, n_layers=1, dim_feedforward=64, dropout=0.0, norm_first=True, positional="learned",
                 max_length=None, vocab_size=8000, tokenizer="wordpiece", feature_tokens="auto", text_columns="auto",
                 categorical_columns="auto", max_epochs="auto", batch_size=256, lr=1e-3,
                 weight_decay=0.01, optimizer="adamw", device="auto", early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol="auto", callbacks=None, accelerator=None, verbose=0,
                 random_state=None):
        store_params(self, locals())

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Learn to rebuild the tokens of ``X`` and set ``offset_`` from the training scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame, array of shape \
(n_samples, n_steps, n_features), list of 2-D arrays, or list of str
            Training data (may contain outliers: the usual unsupervised setting).
        y : None
            Ignored.

        Returns
        -------
        self : AttentionAutoencoder
            The fitted estimator.
        """
        self._fit(X, None)
        self.error_scale_ = self.density_ = None
        density = self.anomaly_score == "density"
        errors, codes = [], []
        for outs, mask in self._run(X, "errors", *(("latent",) if density else ())):
            errors.append(self._scaled(outs[0], mask))  # no error_scale_ yet: only NaN on padding
            codes.extend(outs[1:])
        errors = _pad_concat(errors)
        if self.input_mode_ in ("tabular", "mixed"):
            # Each column's errors in units of its median training error: a column that is hard
            # to predict for every row does not drown the others. A mixed row's text tokens share
            # one scale, the median error of all of them (the last entry).
            n = self.encoder_.n_features_
            with warnings.catch_warnings():  # a column missing in every row has no median: scale 1
                warnings.simplefilter("ignore", RuntimeWarning)
                median = np.nanmedian(errors[:, :n], axis=0) if n else np.zeros(0)
                if self.input_mode_ == "mixed":
                    median = np.append(median, np.nanmedian(errors[:, n:]))
            median = np.where(np.isnan(median), 1.0, median)
            self.error_scale_ = np.maximum(median, max(1e-12, 1e-6 * float(median.max())))
            errors = self._scaled(errors, ~np.isnan(errors))
        if density:
            v = _density_features(errors, np.concatenate(codes, axis=0))
            self.density_ = RobustGaussian().fit(v)
            scores = -self.density_.dist_
        else:
            scores = -np.nanmean(errors, axis=1)
        if self.contamination == "auto":
            q1, q3 = np.percentile(-scores, [25, 75])  # Tukey's fence on the anomaly scores
            self.offset_ = float(-(q3 + 1.5 * (q3 - q1)))
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    # ------------------------------------------------------------------ targets, head, model
    def _prepare_targets(self, y, reset=True, classes=None):
        return None

    def _criterion(self, y_net):
        from .nn.losses import MaskedReconstructionLoss

        return MaskedReconstructionLoss, {}

    def _make_head(self, width):
        from .nn import SequenceReconstructionHead, TableReconstructionHead, TextReconstructionHead

        from .nn import MixedReconstructionHead

        enc = self.encoder_
        if self.input_mode_ == "text":
            return TextReconstructionHead(width, enc.vocab_size_)
        if self.input_mode_ == "mixed":
            table = None
            if enc.n_features_:
                table = TableReconstructionHead(width, enc.n_numeric_, enc.cat_cardinalities_,
                                                token_of_column=self._column_tokens())
            n_feature_tokens = self._n_feature_tokens() if enc.n_features_ else 0
            return MixedReconstructionHead(TextReconstructionHead(width, enc.vocab_size_), table, n_feature_tokens)
        if self.input_mode_ == "sequence":
            return SequenceReconstructionHead(width, enc.n_features_)
        return TableReconstructionHead(width, enc.n_numeric_, enc.cat_cardinalities_,
                                       token_of_column=self._column_tokens())

    def _max_tokens(self):
        if self.input_mode_ == "tabular":
            return self._n_feature_tokens()
        if self.input_mode_ == "mixed":
            return (self._n_feature_tokens() if self.encoder_.n_features_ else 0) + self.encoder_.max_tokens_
        return int(self.encoder_.max_length)

    def _make_module(self, backbone, wide):
        from .nn import TransformerAutoencoder

        return TransformerAutoencoder(
            embedding=self._make_embedding(add_cls=False),
            d_model=self.d_model, n_heads=self.n_heads, n_layers=self.n_layers,
            dim_feedforward=self.dim_feedforward, max_tokens=self._max_tokens(),
            head=self._make_head(self.d_model), dropout=self.dropout, norm_first=self.norm_first,
            pooling=self.pooling, mask_ratio=self.mask_ratio,
        )

    @property
    def _n_features_out(self):
        return self.d_model

    # ------------------------------------------------------------------ chunked evaluation
    def _run(self, X, *methods):
        """Yield ``(outs, mask)`` per chunk of ``X``: the module's ``methods``
        (:class:`~sktransformer.nn.TransformerAutoencoder`'s ``errors``, ``latent``,
        ``reconstruct``, ``repairs``) on the chunk, as float64, and its token mask (n, T)."""
        for outs, inputs in self._predict_chunks(X, method=methods):
            yield [out.astype(np.float64) for out in outs], self._item_mask(inputs)

    def _item_mask(self, inputs):
        """Which items (columns, steps, tokens) of a chunk's rows are real: (n, N) bool. A missing
        number is not: it has no error (nothing to rebuild), so it neither raises nor lowers a score."""
        mask = inputs.get("attention_mask")
        if self.input_mode_ in ("text", "sequence"):
            return mask
        columns = np.ones((len(next(iter(inputs.values()))), self.encoder_.n_features_), dtype=bool)
        if "x_num" in inputs:
            columns[:, :inputs["x_num"].shape[1]] = ~np.isnan(inputs["x_num"])
        return columns if mask is None else np.concatenate([columns, mask], axis=1)  # mixed: then the text

    def _scaled(self, err, mask):
        """Errors of one chunk in the units of ``error_scale_`` (tables), NaN on padding."""
        scale = self.error_scale_
        if scale is not None and self.input_mode_ == "mixed":  # the text tokens' scale is the last
            n = self.encoder_.n_features_
            scale = np.concatenate([scale[:n], np.full(err.shape[1] - n, scale[-1])])
        if scale is not None:
            err = err / scale
        return np.where(mask, err, np.nan)

    def _token_errors(self, X):
        """Per-token errors, NaN-padded to the longest row: (n, T)."""
        return _pad_concat([self._scaled(err, mask) for (err,), mask in self._run(X, "errors")])

    def _contributions(self, X):
        """Per-token shares of each row's anomaly score ``-score_samples`` (n, T), NaN on padding.

        ``anomaly_score="reconstruction"``: each token's error over the number of tokens.
        ``"density"``: the score split in proportion to how much it falls when that token alone is
        set to the value the model rebuilt for it (all else equal); tokens whose repair does not
        lower it get 0, and a row that no single token explains is split evenly. A token that
        holds several columns of a wide table (``feature_tokens``) passes its share on to them in
        proportion to their reconstruction errors.
        """
        check_is_fitted(self, "offset_")
        if self.anomaly_score == "reconstruction":
            errors = self._token_errors(X)
            counts = np.sum(~np.isnan(errors), axis=1, keepdims=True)
            return errors / np.maximum(counts, 1)
        parts = []
        for (err, code, repairs), mask in self._run(X, "errors", "latent", "repairs"):
            scaled = self._scaled(err, mask)  # (n, N) items
            distance = self._density_distance(scaled, code)
            N = mask.shape[1]
            drops = np.stack([  # (n, T): how much repairing token t lowers the score
                distance - self._density_distance(self._scaled(repairs[:, t, :N], mask), repairs[:, t, N:])
                for t in range(repairs.shape[1])
            ], axis=1)
            drops = np.maximum(drops, 0.0)
            if drops.shape[1] != N:  # tokens hold groups of columns: split by the columns' errors
                drops = _split_over_items(drops, np.nan_to_num(scaled), self._item_tokens(N))
            drops = np.where(mask, drops, 0.0)
            total = drops.sum(axis=1, keepdims=True)
            even = mask / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            shares = np.where(total > 0, drops / np.where(total > 0, total, 1.0), even)
            parts.append(np.where(mask, shares * distance[:, None], np.nan))
        return _pad_concat(parts)

    def _item_tokens(self, n_items):
        """The token of each of ``n_items`` items: a table's columns (``_column_tokens``), then a
        mixed row's text tokens, one token each."""
        token = self._column_tokens().numpy()
        n_text = n_items - len(token)
        return np.concatenate([token, int(token[-1]) + 1 + np.arange(n_text)]) if n_text else token

    def _density_distance(self, errors, code):
        """Squared Mahalanobis distance of ``[code, log mean error]`` under the fitted Gaussian."""
        return self.density_.mahalanobis(_density_features(errors, code))

    # ------------------------------------------------------------------ outlier API
    @dask_aware
    def score_samples(self, X):
        """Normality of each row (higher is more normal).

        ``anomaly_score="density"``: minus the squared Mahalanobis distance of the row's latent
        code and log mean reconstruction error from the training rows'.
        ``anomaly_score="reconstruction"``: minus its mean reconstruction error.

        Parameters
        ----------
        X : same kind of input as in ``fit``

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "net_")
        if self.anomaly_score == "reconstruction":
            return -np.nanmean(self._token_errors(X), axis=1)
        scores = []
        for (err, code), mask in self._run(X, "errors", "latent"):
            scores.append(-self._density_distance(self._scaled(err, mask), code))
        return np.concatenate(scores)

    @dask_aware
    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "offset_")
        return self.score_samples(X) - self.offset_

    @dask_aware
    def predict(self, X):
        """+1 for inliers, -1 for outliers.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    @dask_aware
    def transform(self, X):
        """Latent code of each row: the pooled encoder output of its (unmasked) tokens.

        Returns
        -------
        codes : ndarray of shape (n_samples, d_model)
        """
        return np.concatenate([out for (out,), _ in self._run(X, "latent")], axis=0)

    # ------------------------------------------------------------------ explanation
    def _item_names(self, n_items):
        """Names of ``n_items`` per-item errors, columns in input order: a table's columns, a mixed
        row's other columns then ``token_0, ...`` for its text tokens, ``step_0, ...`` for steps,
        ``token_0, ...`` for text."""
        names = []
        if self.input_mode_ == "tabular" and not hasattr(self, "feature_names_in_"):
            names = [f"x{j}" for j in range(self.encoder_.n_features_)]
        elif self.input_mode_ in ("tabular", "mixed"):  # a datetime column's features in its place
            dates = getattr(self, "date_features_", {})
            names = [f for c in self.feature_names_in_ if c not in self.text_columns_ for f in dates.get(c, [c])]
        prefix = "step" if self.input_mode_ == "sequence" else "token"
        names += [f"{prefix}_{j}" for j in range(n_items - len(names))]
        return np.asarray(names, dtype=object)

    def _in_input_order(self, items):
        """Per-item values (n, N) with a table's columns in ``X``'s order (text tokens after them)."""
        if self.input_mode_ not in ("tabular", "mixed"):
            return items
        n = self.encoder_.n_features_
        return np.concatenate([items[:, :n][:, self.encoder_.input_order_], items[:, n:]], axis=1)

    def reconstruction_errors(self, X):
        """Reconstruction error of every column (tables), step (sequences) or token (text).

        Their row mean is the row's reconstruction error: ``-score_samples(X)`` with
        ``anomaly_score="reconstruction"``, the error term of the density score otherwise. For
        tables each column's error (squared error of the standardised value, or cross-entropy for
        a categorical column) is divided by its median over the training set, so 1 is a typical
        error and 50 an unusual one. Steps give
        the mean squared error of their standardised features; text tokens a cross-entropy.

        Parameters
        ----------
        X : same kind of input as in ``fit``

        Returns
        -------
        errors : ndarray of shape (n_samples, n_features) for tables (columns in input order), \
(n_samples, n_steps) for sequences, (n_samples, n_tokens) for text
            A DataFrame with text columns gives its other columns (in input order), then the
            text tokens of all its text columns (text columns error in units of the median text
            token's error).
            Sequences and texts shorter than the longest are padded with NaN. A missing number
            is NaN too: it is not rebuilt and does not count in the row's mean. A datetime
            column gives its features (``date_features_``).
        """
        return self._in_input_order(self._token_errors(X))

    def reconstruct(self, X):
        """Each token rebuilt from the others (the model's best guess for what it should be).

        Returns
        -------
        X_rec : ndarray or DataFrame
            Tables: the same shape and columns as ``X``, in original units (categories for
            categorical columns; a DataFrame when ``X`` was one); a text column's cells are the
            rebuilt subword tokens (lists of str). Sequences: an array
            ``(n_samples, n_steps, n_features)`` in original units (NaN on padding). Text: the
            rebuilt subword tokens, a list of lists of str.
        """
        enc = self.encoder_
        if self.input_mode_ == "mixed":
            return self._reconstruct_mixed(X)
        parts = [(out, mask) for (out,), mask in self._run(X, "reconstruct")]
        if self.input_mode_ == "text":
            return [
                [enc.tokenizer_.id_to_token(int(i)) for i in row[m]]
                for out, mask in parts for row, m in zip(out, mask)
            ]
        if self.input_mode_ == "sequence":
            return _pad_concat([enc.inverse_transform(out, mask) for out, mask in parts])
        rec = np.concatenate([out for out, _ in parts], axis=0)  # (n, T) scaled numbers, then codes
        table = enc.inverse_transform(rec[:, :enc.n_numeric_], rec[:, enc.n_numeric_:])
        if _is_pandas(X, "DataFrame"):
            table.index = X.index
        return table

    def _reconstruct_mixed(self, X):
        """``reconstruct`` for a DataFrame with text columns: the other columns as a table, each
        text column's cells as the rebuilt subword tokens, columns in ``X``'s order."""
        import pandas as pd

        enc, n = self.encoder_, self.encoder_.n_features_
        parts = []
        for out, inputs in self._predict_chunks(X, method="reconstruct"):
            ids = np.where(inputs["attention_mask"], out[:, n:], 0).astype(np.int64)
            frame = enc.inverse_text(ids, inputs["field_ids"], inputs["attention_mask"])
            if n:
                rec = out[:, :n].astype(np.float64)
                table = enc.table_.inverse_transform(rec[:, :enc.n_numeric_], rec[:, enc.n_numeric_:])
                frame = pd.concat([table.reset_index(drop=True), frame], axis=1)
            parts.append(frame)
        table = pd.concat(parts, ignore_index=True)[list(X.columns)]
        table.index = X.index
        return table

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


_TINY = 1e-12  # floor of the mean error before its log


def _density_features(errors, code):
    """Rows' ``[latent code, log mean error]`` (n, C + 1) from token errors (n, T) and codes (n, C)."""
    with warnings.catch_warnings():  # a row without any value to rebuild: error 0
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_error = np.nan_to_num(np.nanmean(errors, axis=1), nan=0.0)
    return np.column_stack([code, np.log(np.maximum(mean_error, _TINY))])


def _split_over_items(token_values, item_weights, token):
    """Each token's value (n, T) split over its items (n, N) in proportion to ``item_weights``
    (evenly where they are all 0); ``token`` (N,) is the token of each item."""
    onehot = np.eye(token_values.shape[1])[token]  # (N, T)
    totals = (item_weights @ onehot)[:, token]  # (n, N): the weight of each item's token
    sizes = onehot.sum(axis=0)[token]  # (N,)
    share = np.where(totals > 0, item_weights / np.where(totals > 0, totals, 1.0), 1.0 / sizes)
    return token_values[:, token] * share


def _pad_concat(parts):
    """Concatenate arrays along axis 0, NaN-padding axis 1 to the widest."""
    width = max(p.shape[1] for p in parts)
    padded = []
    for p in parts:
        if p.shape[1] < width:
            pad = [(0, 0), (0, width - p.shape[1])] + [(0, 0)] * (p.ndim - 2)
            p = np.pad(p, pad, constant_values=np.nan)
        padded.append(p)
    return np.concatenate(padded, axis=0)
