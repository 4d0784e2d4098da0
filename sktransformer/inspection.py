"""Look inside fitted models: what made a row an anomaly, with plots (matplotlib imported lazily)."""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def _require_matplotlib():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib, which is not installed; install the 'plot' extra: "
            "pip install 'sktransformer[plot]'"
        ) from exc
    return plt


def _check_row(row, n):
    """Raise a ValueError unless ``row`` indexes one of ``n`` rows (negative counts from the end)."""
    if not isinstance(row, int | np.integer) or isinstance(row, bool) or not -n <= row < n:
        raise ValueError(f"row={row!r} is out of range for X with {n} rows.")


def _one_row(X, row):
    """Row ``row`` of ``X`` as a one-row input of the same kind (DataFrame / Series, array, list)."""
    if hasattr(X, "iloc"):
        return X.iloc[[row]]
    if isinstance(X, np.ndarray):
        return X[[row]]
    return [X[row]]


def anomaly_contributions(estimator, X):
    """Per-feature (or per-step, per-token) contributions to the anomaly score of each row.

    The contributions of a row add up to its anomaly score, ``-score_samples(X)``, of a fitted
    :class:`~sktransformer.AttentionAutoencoder`:

    - ``anomaly_score="density"`` (the default): the score is the squared Mahalanobis distance
      of the row's latent code and log mean reconstruction error from the training rows'. It is
      split in proportion to how much it falls when that feature alone is set to the value the
      model rebuilt for it, all else equal ("had this feature been what the others predict").
      Features whose repair does not lower it get 0; a row that no single feature explains (its
      features agree, but the row as a whole is far out) is split evenly. This costs
      ``n_features * (round(1 / mask_ratio) + 1)`` forward passes per row: explain the rows you
      care about rather than a whole large table.
    - ``anomaly_score="reconstruction"``: the score is the mean reconstruction error, and each
      feature's contribution is its error divided by the number of features.

    Parameters
    ----------
    estimator : AttentionAutoencoder
        A fitted detector.
    X : same kind of input as in ``fit``
        The rows to explain.

    Returns
    -------
    contributions : ndarray of shape (n_rows, n_features)
        Contribution of every column (tables, in input order), step (sequences) or token (text;
        a DataFrame with text columns gives its other columns, then its text tokens). Padding of
        shorter sequences / texts is NaN, and so is a missing number: it has no error to share
        (see :ref:`missing_values`).
    names : ndarray of shape (n_features,)
        Column names (``feature_names_in_``, or ``x0, x1, ...``; a datetime column's features,
        ``date_features_``, in its place), ``step_0, ...`` for sequences, ``token_0, ...`` for
        text tokens.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransformer import AttentionAutoencoder
    >>> from sktransformer.inspection import anomaly_contributions
    >>> rng = np.random.RandomState(0)
    >>> z = rng.normal(size=(200, 1))
    >>> X = np.hstack([z, z, z]) + 0.05 * rng.normal(size=(200, 3))
    >>> ae = AttentionAutoencoder(d_model=16, n_heads=2, max_epochs=40, random_state=0).fit(X)
    >>> contrib, names = anomaly_contributions(ae, [[0.0, 0.0, 4.0]])
    >>> str(names[np.argmax(contrib[0])])
    'x2'
    >>> bool(np.isclose(contrib.sum(), -ae.score_samples([[0.0, 0.0, 4.0]])[0]))
    True
    """
    check_is_fitted(estimator, "net_")
    if not hasattr(estimator, "reconstruction_errors"):
        raise TypeError(
            f"anomaly_contributions needs a fitted AttentionAutoencoder, got {type(estimator).__name__}."
        )
    contributions = estimator._in_input_order(estimator._contributions(X))
    return contributions, estimator._item_names(contributions.shape[1])


def plot_anomaly_contributions(estimator, X, *, row=0, top_k=10, ax=None):
    """Bar chart of the features that add most to one row's anomaly score.

    Parameters
    ----------
    estimator : AttentionAutoencoder
        A fitted detector.
    X : same kind of input as in ``fit``
        Rows; only ``row`` is plotted.
    row : int, default=0
        Which row of ``X`` to explain.
    top_k : int or None, default=10
        Show the ``top_k`` largest contributions (all with ``None``); steps of a sequence are
        always shown in order.
    ax : matplotlib Axes or None, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = _require_matplotlib()
    try:
        n_rows = len(X)
    except TypeError:
        raise TypeError(f"X must be an array, a DataFrame or a list of rows, got {type(X).__name__}.") from None
    _check_row(row, n_rows)
    contributions, names = anomaly_contributions(estimator, _one_row(X, row))  # only the row drawn
    values = contributions[0]
    keep = ~np.isnan(values)
    values, labels = values[keep], names[keep]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.35 * min(len(values), top_k or len(values)) + 1.5))
    score = float(np.nansum(values))
    if estimator.input_mode_ == "sequence":
        ax.bar(np.arange(len(values)), values, color="tab:red")
        ax.set_xlabel("step")
        ax.set_ylabel("contribution to the anomaly score")
    else:
        order = np.argsort(-values, kind="stable")
        if top_k is not None:
            order = order[:top_k]
        order = order[::-1]  # largest on top
        ax.barh(np.arange(len(order)), values[order], color="tab:red")
        ax.set_yticks(np.arange(len(order)))
        ax.set_yticklabels([str(labels[i]) for i in order])
        ax.set_xlabel("contribution to the anomaly score")
    threshold = -getattr(estimator, "offset_", np.nan)  # predict flags rows whose score is above it
    ax.set_title(f"Row {row}: anomaly score {score:.3g} (flagged above {threshold:.3g})")
    return ax


# ---------------------------------------------------------------------------- attention
def _attention_source(estimator):
    """The fitted torch model to read attention from and how to read it: ``(model, kind)``."""
    from ._base import TransformerBase
    from .nn import MaskedLanguageModel, TransformerAutoencoder, TransformerModel
    from .nn.backbones import BackboneModel, EncoderFeatures, HFBackbone

    if not isinstance(estimator, TransformerBase):
        raise TypeError(
            f"attention_weights needs a fitted sktransformer estimator, got {type(estimator).__name__}."
        )
    check_is_fitted(estimator, "net_")
    model = estimator.net_.module_
    if isinstance(model, MaskedLanguageModel):
        model = model.encoder
    if isinstance(model, BackboneModel):
        model = model.backbone
    if isinstance(model, EncoderFeatures):
        model = model.model
    if isinstance(model, HFBackbone):
        return model.model, "hf"
    if isinstance(model, TransformerModel):
        return model, "scratch"
    if isinstance(model, TransformerAutoencoder):
        return model, "autoencoder"
    raise TypeError(  # pragma: no cover - every estimator of this package holds one of the above
        f"{type(estimator).__name__} holds a {type(model).__name__}, which has no attention to read."
    )


def _encoded_inputs(estimator, X):
    """``(inputs, texts_or_None)``: validated ``X`` encoded as in ``predict`` / ``transform``."""
    X = estimator._check_X(X, reset=False)
    inputs = estimator.encoder_.transform(X)
    return inputs, (X if estimator.input_mode_ in ("text", "mixed") else None)


def _token_labels(estimator, texts, n_rows, real, has_cls):
    """Label of every real token, row by row (``real[i]`` tokens in row ``i``)."""
    mode = estimator.input_mode_
    cls = ["[CLS]"] if has_cls else []
    if mode == "text":
        rows = [cls + list(tokens) for tokens in estimator.encoder_.tokens(texts)]
    elif mode == "mixed":
        columns = [_columns_label(names) for names in _feature_token_columns(estimator)]
        rows = [cls + columns + tokens for tokens in estimator.encoder_.tokens(texts)]
    elif mode == "tabular":
        rows = [cls + [_columns_label(names) for names in estimator._token_columns()]] * n_rows
    else:
        rows = [cls + [f"step_{t}" for t in range(int(k) - len(cls))] for k in real]
    for i, (labels, k) in enumerate(zip(rows, real)):
        if len(labels) != k:  # e.g. a text that encodes to nothing is given one [UNK] token
            rows[i] = (labels + ["[UNK]"] * k)[:k]
    return rows


def _feature_token_columns(estimator):
    """The columns of each feature token (none for a mixed row of text columns only)."""
    return estimator._token_columns() if estimator.encoder_.n_features_ else []


def _token_columns(estimator, inputs, has_cls):
    """``attention_weights``' ``token_columns``: the columns of each token of a table row; per
    row for a mixed DataFrame (its text tokens hold their column); None otherwise."""
    cls = [[]] if has_cls else []
    if estimator.input_mode_ == "tabular":
        return cls + estimator._token_columns()
    if estimator.input_mode_ != "mixed":
        return None
    features = cls + _feature_token_columns(estimator)
    names = estimator.encoder_.text_columns_
    return [features + [[names[f]] for f in fields[real]]
            for fields, real in zip(inputs["field_ids"], inputs["attention_mask"])]


def _columns_label(names):
    """Label of a table token: its column's name, or its group's first and last names and size."""
    if len(names) == 1:
        return str(names[0])
    return f"{names[0]} .. {names[-1]} ({len(names)} columns)"


def _batch_attention(model, kind, batch):
    """Attention of one batch: list over layers of (B, H, T, T) tensors and the (B, T) mask."""
    if kind == "scratch":
        out = model.forward_features(need_weights=True, **batch)
        return out["attentions"], out["attention_mask"].bool()
    if kind == "autoencoder":
        x, mask = model.embedding(**batch)
        _, weights = model.encoder(x, mask.bool(), False, True)
        return weights, mask.bool()
    mask = batch["attention_mask"].bool()
    kwargs = {k: v for k, v in batch.items() if k != "attention_mask"}
    out = model(**kwargs, attention_mask=mask.long(), output_attentions=True, return_dict=True)
    if not out.attentions or out.attentions[0] is None:
        raise RuntimeError(f"{type(model).__name__} returned no attention weights.")
    return list(out.attentions), mask


def attention_weights(estimator, X, *, batch_size=32):
    """Per-layer, per-head self-attention of a fitted model on the rows of ``X``.

    The fast attention kernel used for training and prediction returns no weights, so the model is
    run once more on an explicit path that does: plain softmax attention for models trained from
    scratch, the ``"eager"`` attention of a Hugging Face backbone (switched back afterwards). The
    weights are the softmax probabilities, with no dropout.

    Parameters
    ----------
    estimator : fitted estimator
        A :class:`~sktransformer.TransformerClassifier`, :class:`~sktransformer.TransformerRegressor`
        or :class:`~sktransformer.AttentionAutoencoder` (from scratch or with ``backbone=``), or a
        :class:`~sktransformer.TransformerEmbedder`.
    X : same kind of input as in ``fit``
        The rows to look at. Every row costs ``n_layers * n_heads * T**2`` floats, so pass a few.
    batch_size : int, default=32
        Rows per forward pass.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``weights`` : float32 ndarray of shape (n_rows, n_layers, n_heads, T, T)
            ``weights[i, l, h, q, k]`` is how much token ``q`` attends to token ``k`` in layer ``l``,
            head ``h``; each real query's row sums to 1. ``T`` is the longest row's token count;
            rows and columns of padding are zero.
        ``tokens`` : list of lists of str
            Labels of each row's real tokens, in model order: subword tokens for text (special
            tokens included), ``"[CLS]"`` and the feature names for tables (numeric columns, then
            categorical ones; a token that holds a group of columns, see ``feature_tokens``, is
            labelled with its first and last columns and their number), ``"step_0", ...`` for
            sequences. A DataFrame with text columns: ``"[CLS]"``, the feature tokens of its
            other columns, then for each text column ``"[column]"`` and its subwords.
        ``mask`` : bool ndarray of shape (n_rows, T)
            True on real tokens.
        ``token_columns`` : list of lists of str, or None
            Tables: the names of the columns each token holds, in token order (``[]`` for
            ``"[CLS]"``); None for text and sequences. A DataFrame with text columns: one such
            list per row (a text token holds its column).

    Examples
    --------
    >>> from sktransformer import TransformerClassifier
    >>> from sktransformer.datasets import make_reviews
    >>> from sktransformer.inspection import attention_weights
    >>> X, y = make_reviews(200, random_state=0)
    >>> clf = TransformerClassifier(d_model=16, n_heads=2, max_epochs=2, random_state=0).fit(X, y)
    >>> att = attention_weights(clf, ["a truly great film", "dull"])
    >>> att.weights.shape[:3]
    (2, 2, 2)
    >>> [len(tokens) for tokens in att.tokens] == att.mask.sum(axis=1).tolist()
    True
    >>> bool(abs(att.weights[0, 0, 0, 0].sum() - 1) < 1e-5)
    True
    """
    import torch
    from sklearn.utils import Bunch

    if not isinstance(batch_size, int | np.integer) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    model, kind = _attention_source(estimator)
    inputs, texts = _encoded_inputs(estimator, X)
    n = len(next(iter(inputs.values())))
    device = next(model.parameters()).device
    was_training = model.training
    previous = getattr(model.config, "_attn_implementation", None) if kind == "hf" else None
    chunks, masks = [], []
    try:
        model.eval()
        if kind == "hf" and previous != "eager":
            model.set_attn_implementation("eager")
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                batch = {k: torch.as_tensor(v[start:start + batch_size]).to(device) for k, v in inputs.items()}
                weights, mask = _batch_attention(model, kind, batch)
                stacked = torch.stack([w.float() for w in weights], dim=1)  # (B, L, H, T, T)
                keep = (mask[:, None, None, :, None] & mask[:, None, None, None, :]).to(stacked.dtype)
                chunks.append((stacked * keep).cpu().numpy())
                masks.append(mask.cpu().numpy())
    finally:
        if kind == "hf" and previous is not None and previous != "eager":
            model.set_attn_implementation(previous)
        model.train(was_training)
    width = max(c.shape[-1] for c in chunks)
    L, H = chunks[0].shape[1:3]
    out = np.zeros((n, L, H, width, width), dtype=np.float32)
    mask = np.zeros((n, width), dtype=bool)
    start = 0
    for c, m in zip(chunks, masks):
        t = c.shape[-1]
        out[start:start + len(c), :, :, :t, :t] = c
        mask[start:start + len(c), :t] = m
        start += len(c)
    real = mask.sum(axis=1)
    has_cls = bool(getattr(getattr(model, "embedding", None), "add_cls", False))
    tokens = _token_labels(estimator, texts, n, real, has_cls)
    return Bunch(weights=out, tokens=tokens, mask=mask, token_columns=_token_columns(estimator, inputs, has_cls))


def _select(value, count, name):
    """Indices chosen by ``value`` (None = all, an int, or a list of ints) among ``count``."""
    if value is None:
        return list(range(count))
    values = [value] if isinstance(value, int | np.integer) and not isinstance(value, bool) else value
    try:
        values = [int(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be None, an int or a list of ints, got {value!r}.") from None
    for v in values:
        if not -count <= v < count:
            raise ValueError(f"{name}={v} is out of range: the model has {count}.")
    return [v % count for v in values]


def plot_attention(estimator, X, *, row=0, layers=None, heads=None, ax=None, cmap="viridis"):
    """Heatmaps of which tokens attend to which, one panel per layer and head.

    Parameters
    ----------
    estimator : fitted estimator
        As for :func:`attention_weights`.
    X : same kind of input as in ``fit``
        Rows; only ``row`` is drawn.
    row : int, default=0
        Which row of ``X`` to draw.
    layers : int, list of int or None, default=None
        Layers to draw (0 is the first; negative counts from the last); None draws all.
    heads : int, list of int, "mean" or None, default=None
        Heads to draw; None draws all, ``"mean"`` draws their average in one panel per layer.
    ax : matplotlib Axes or None, default=None
        Where to draw when exactly one panel is drawn (one layer, one head or ``"mean"``).
    cmap : str, default="viridis"
        Colour map.

    Returns
    -------
    fig : matplotlib Figure
        A grid of heatmaps: one row per layer, one column per head. Rows of a heatmap are the
        attending tokens (queries), columns the attended ones (keys). All panels share one colour
        scale, from 0 to the largest weight drawn (see the colour bar).
    """
    plt = _require_matplotlib()
    att = attention_weights(estimator, X)
    n, n_layers, n_heads = att.weights.shape[:3]
    _check_row(row, n)
    layer_ids = _select(layers, n_layers, "layers")
    mean = isinstance(heads, str)
    if mean and heads != "mean":
        raise ValueError(f"heads must be None, an int, a list of ints or 'mean', got {heads!r}.")
    head_ids = [None] if mean else _select(heads, n_heads, "heads")
    labels = att.tokens[row]
    k = len(labels)
    weights = att.weights[row][:, :, :k, :k]  # (L, H, k, k)
    n_rows, n_cols = len(layer_ids), len(head_ids)
    if ax is not None:
        if n_rows * n_cols != 1:
            raise ValueError(
                f"ax is only used for one panel; {n_rows} layers x {n_cols} heads were asked for. "
                "Pick one layer and one head (or heads='mean'), or leave ax=None."
            )
        axes = np.array([[ax]])
        fig = ax.figure
    else:
        side = min(max(2.2, 0.28 * k + 1.2), 7.0)
        fig, axes = plt.subplots(
            n_rows, n_cols, figsize=(side * n_cols + 2.2, side * n_rows + 0.6), squeeze=False,
            constrained_layout=True,
        )
    fontsize = max(4.0, min(9.0, 180.0 / max(k, 1)))
    panels = [weights[layer].mean(axis=0) if head is None else weights[layer, head]
              for layer in layer_ids for head in head_ids]
    vmin = 0.0  # one colour scale for all panels, from 0 (so near-uniform attention looks uniform)
    vmax = max(float(max(p.max() for p in panels)), 1e-6)
    image = None
    for i, layer in enumerate(layer_ids):
        for j, head in enumerate(head_ids):
            panel = axes[i, j]
            image = panel.imshow(panels[i * n_cols + j], cmap=cmap, vmin=vmin, vmax=vmax, aspect="equal")
            panel.set_xticks(np.arange(k))
            panel.set_yticks(np.arange(k))
            panel.set_xticklabels(labels, rotation=90, fontsize=fontsize)
            panel.set_yticklabels(labels, fontsize=fontsize)
            head_name = "mean of heads" if head is None else f"head {head}"
            panel.set_title(f"layer {layer}, {head_name}", fontsize=10)
            if j == 0:
                panel.set_ylabel("query (attends)")
            if i == n_rows - 1:
                panel.set_xlabel("key (attended to)")
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
    return fig


def plot_embeddings(estimator, X, y=None, *, ax=None):
    """Scatter plot of ``estimator.transform(X)`` projected to 2-D by PCA, coloured by ``y``.

    Parameters
    ----------
    estimator : fitted transformer
        Anything with ``transform``, e.g. a :class:`~sktransformer.TransformerEmbedder` or the
        ``transform`` (latent codes) of an :class:`~sktransformer.AttentionAutoencoder`.
    X : input accepted by ``estimator.transform``
        At least two rows.
    y : array-like of shape (n_rows,) or None, default=None
        Labels (a legend, up to 20 distinct values) or numbers (a colour bar); None draws one colour.
    ax : matplotlib Axes or None, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
    """
    from sklearn.decomposition import PCA

    plt = _require_matplotlib()
    if not hasattr(estimator, "transform"):
        raise TypeError(f"plot_embeddings needs an estimator with transform, got {type(estimator).__name__}.")
    Z = np.asarray(estimator.transform(X), dtype=np.float64)
    if Z.ndim != 2 or len(Z) < 2:
        raise ValueError(f"X must have at least two rows to project, got {len(Z)}.")
    if y is not None:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(Z):
            raise ValueError(f"y must be 1-D with one label per row of X ({len(Z)}), got shape {y.shape}.")
    pca = PCA(n_components=2, random_state=0)
    P = pca.fit_transform(Z)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5), constrained_layout=True)
    if y is None:
        ax.scatter(P[:, 0], P[:, 1], s=12, alpha=0.7)
    else:
        values = np.unique(y)
        if y.dtype.kind in "fc" and len(values) > 20:
            points = ax.scatter(P[:, 0], P[:, 1], c=y, s=12, alpha=0.8, cmap="viridis")
            ax.figure.colorbar(points, ax=ax, label="y")
        else:
            for value in values:
                keep = y == value
                ax.scatter(P[keep, 0], P[keep, 1], s=12, alpha=0.7, label=str(value))
            ax.legend(title="label", fontsize=8, markerscale=1.5)
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC 1 ({100 * ratio[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC 2 ({100 * ratio[1]:.0f}% of variance)")
    ax.set_title(f"{type(estimator).__name__}: embeddings projected by PCA")
    return ax
