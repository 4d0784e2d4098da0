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


def anomaly_contributions(estimator, X):
    """Per-feature (or per-step, per-token) contributions to the anomaly score of each row.

    For a fitted :class:`~sktransformer.AttentionAutoencoder` the anomaly score of a row,
    ``-score_samples(X)``, is the mean of its reconstruction errors; each feature's contribution
    is its error divided by the number of features, so a row's contributions sum to its score.

    Parameters
    ----------
    estimator : AttentionAutoencoder
        A fitted detector.
    X : same kind of input as in ``fit``
        The rows to explain.

    Returns
    -------
    contributions : ndarray of shape (n_rows, n_features)
        Contribution of every column (tables, in input order), step (sequences) or token (text).
        Padding of shorter sequences / texts is NaN.
    names : ndarray of shape (n_features,)
        Column names (``feature_names_in_``, or ``x0, x1, ...``), ``step_0, ...`` for sequences,
        ``token_0, ...`` for text.

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
    errors = estimator.reconstruction_errors(X)
    counts = np.sum(~np.isnan(errors), axis=1, keepdims=True)
    contributions = errors / np.maximum(counts, 1)
    names = estimator._feature_names()
    if names is None:
        prefix = "token" if estimator.input_mode_ == "text" else "step"
        names = np.asarray([f"{prefix}_{j}" for j in range(errors.shape[1])], dtype=object)
    return contributions, names


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
    contributions, names = anomaly_contributions(estimator, X)
    if not -len(contributions) <= row < len(contributions):
        raise ValueError(f"row={row} is out of range for X with {len(contributions)} rows.")
    values = contributions[row]
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
    ax.set_title(f"Row {row}: anomaly score {score:.3g} (offset {-getattr(estimator, 'offset_', np.nan):.3g})")
    return ax
