"""Sequences -> padded, scaled steps and a padding mask."""

import numpy as np


def _as_sequences(X):
    """Return ``("array", X)`` for a 3-D array or ``("list", [2-D float arrays])`` for a ragged list."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim != 3:
            raise ValueError(f"X must be 3-D (n_samples, n_steps, n_features), got shape {X.shape}.")
        if X.shape[1] == 0:
            raise ValueError("X has no steps; every sequence needs at least one.")
        return "array", X
    sequences = []
    for i, seq in enumerate(X):
        seq = np.asarray(seq, dtype=np.float64)
        if seq.ndim != 2:
            raise ValueError(f"X[{i}] must be 2-D (n_steps, n_features), got shape {seq.shape}.")
        if seq.shape[0] == 0:
            raise ValueError(f"X[{i}] has no steps; every sequence needs at least one.")
        sequences.append(seq)
    return "list", sequences


class SequenceEncoder:
    """Pad sequences to a common length, scale their features and build the padding mask.

    Accepts a 3-D array ``(n_samples, n_steps, n_features)`` or a list of 2-D arrays
    ``(n_steps_i, n_features)`` of varying length. Each call pads to its own longest sequence, capped at
    ``max_length``; padding steps are 0 and masked out.

    Parameters
    ----------
    max_length : int or None, default=None
        Maximum number of steps; longer sequences keep their first ``max_length`` steps.
    scale : bool, default=True
        Standardize each feature with the mean and standard deviation of all real (non-padding)
        steps seen in ``fit``. A constant feature is only centred.

    Attributes
    ----------
    n_features_ : int
        Number of features per step.
    max_steps_ : int
        Longest sequence seen in ``fit``, capped at ``max_length``.
    mean_, scale_ : ndarray of shape (n_features_,)
        Per-feature centring and scaling (0 and 1 when ``scale=False``).
    n_truncated_ : int
        Number of sequences in the last ``transform`` call longer than ``max_length``.

    Examples
    --------
    >>> import numpy as np
    >>> enc = SequenceEncoder(scale=False).fit([np.ones((2, 1)), np.ones((3, 1))])
    >>> out = enc.transform([np.ones((1, 1)), np.ones((2, 1))])
    >>> out["x_seq"].shape, out["attention_mask"].tolist()
    ((2, 2, 1), [[True, False], [True, True]])
    """

    def __init__(self, max_length=None, scale=True):
        self.max_length = max_length
        self.scale = scale

    def _cap(self, n_steps):
        return n_steps if self.max_length is None else min(n_steps, int(self.max_length))

    def fit(self, X):
        """Learn the number of features, the longest length and the per-feature scaling.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_steps, n_features) or list of ndarray (n_steps_i, n_features)
            Training sequences.

        Returns
        -------
        self : SequenceEncoder
        """
        max_length = self.max_length
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < 1
        ):
            raise ValueError(f"max_length must be None or a positive int, got {self.max_length!r}.")
        kind, X = _as_sequences(X)
        if len(X) == 0:
            raise ValueError("X has no sequences.")
        if kind == "array":
            self.n_features_ = X.shape[2]
            longest = X.shape[1]
            steps = X.reshape(-1, self.n_features_)  # (n * T, F), a view when possible
        else:
            widths = {seq.shape[1] for seq in X}
            if len(widths) != 1:
                raise ValueError(f"all sequences in X must have the same number of features, got {sorted(widths)}.")
            self.n_features_ = widths.pop()
            longest = max(len(seq) for seq in X)
            steps = np.concatenate(X, axis=0)  # (sum of lengths, F): real steps only
        self.max_steps_ = self._cap(longest)
        if self.scale and len(steps):
            mean = steps.mean(axis=0, dtype=np.float64)
            std = steps.std(axis=0, dtype=np.float64)
            self.mean_ = np.where(np.isfinite(mean), mean, 0.0)
            self.scale_ = np.where(np.isfinite(std) & (std > 0), std, 1.0)  # constant feature: centre only
        else:
            self.mean_ = np.zeros(self.n_features_)
            self.scale_ = np.ones(self.n_features_)
        return self

    def transform(self, X):
        """Pad, truncate and scale sequences.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_steps, n_features) or list of ndarray (n_steps_i, n_features)
            Sequences with ``n_features_`` features.

        Returns
        -------
        batch : dict
            ``"x_seq"``: float32 array (n, T, F), 0 on padding; ``"attention_mask"``: bool array (n, T),
            True on real steps. ``T`` is the longest sequence of this call, capped at ``max_length``.
        """
        if not hasattr(self, "n_features_"):
            raise RuntimeError("This SequenceEncoder is not fitted yet; call fit(X) first.")
        kind, X = _as_sequences(X)
        mean = self.mean_.astype(np.float32)
        scale = self.scale_.astype(np.float32)
        if kind == "array":
            n, n_steps, n_features = X.shape
            self._check_features(n_features)
            T = self._cap(n_steps)
            x_seq = X[:, :T, :].astype(np.float32)  # (n, T, F), always a copy
            x_seq -= mean
            x_seq /= scale
            attention_mask = np.ones((n, T), dtype=bool)
            self.n_truncated_ = n if T < n_steps else 0
            return {"x_seq": x_seq, "attention_mask": attention_mask}

        n = len(X)
        for seq in X:
            self._check_features(seq.shape[1])
        lengths = np.fromiter((len(seq) for seq in X), dtype=np.int64, count=n)
        T = self._cap(int(lengths.max())) if n else 0
        self.n_truncated_ = int((lengths > T).sum())
        x_seq = np.zeros((n, T, self.n_features_), dtype=np.float32)  # (n, T, F)
        for i, seq in enumerate(X):
            seq = seq[:T]
            x_seq[i, : len(seq)] = (seq - mean) / scale
        attention_mask = np.arange(T) < np.minimum(lengths, T)[:, None]  # (n, T)
        return {"x_seq": x_seq, "attention_mask": attention_mask}

    def inverse_transform(self, x_seq, attention_mask):
        """Scaled steps back to original units: (n, T, F) float64, NaN on padding."""
        out = np.asarray(x_seq, dtype=np.float64) * self.scale_ + self.mean_  # (n, T, F)
        out[~np.asarray(attention_mask, dtype=bool)] = np.nan
        return out

    def _check_features(self, n_features):
        if n_features != self.n_features_:
            raise ValueError(
                f"X has {n_features} features per step, SequenceEncoder was fitted with {self.n_features_}."
            )
