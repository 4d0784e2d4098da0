"""Latent-code density scoring: a Gaussian on ``[latent code, log mean error]``, robust to outliers.

``AttentionAutoencoder(anomaly_score="density")`` scores a row, as DAGMM does, by how unlikely its
latent code and its reconstruction error are together under a density fitted to the training rows:
here one Gaussian, and the score is the squared Mahalanobis distance. The training rows are the usual
unsupervised mix of normal rows and a few outliers, so the Gaussian is fitted in two steps, as the
reweighting step of the reweighted minimum covariance determinant (:class:`~sklearn.covariance.MinCovDet`)
does: a first fit on all rows, then a refit on the rows within the 97.5% chi-square quantile of the
first fit's distances (rescaled so that their median is the chi-square median). The mean and the
covariance come from :class:`~sklearn.covariance.EmpiricalCovariance`; a small ridge on the diagonal
keeps the covariance invertible when there are few rows or a constant direction.
"""

import numpy as np

#: Smallest ridge added to the covariance diagonal (a single row, or all columns constant).
_TINY = 1e-12


class RobustGaussian:
    """A Gaussian fitted to the rows of ``v``, refitted once without the rows it finds far out.

    Parameters
    ----------
    ridge : float, default=1e-3
        Added to the covariance diagonal, in units of the mean variance (at least ``1e-12``), so
        that the covariance stays invertible.

    Attributes
    ----------
    location_ : ndarray of shape (n_features,)
        Mean of the kept rows.
    covariance_ : ndarray of shape (n_features, n_features)
        Covariance of the kept rows (``ddof=1``, as :func:`numpy.cov`) plus the ridge.
    precision_ : ndarray of shape (n_features, n_features)
        Inverse of ``covariance_``.
    support_ : ndarray of shape (n_samples,), dtype=bool
        The training rows the final Gaussian was fitted to.
    dist_ : ndarray of shape (n_samples,)
        Squared Mahalanobis distances of the training rows under the final Gaussian.

    See Also
    --------
    sklearn.covariance.EmpiricalCovariance : The estimate each of the two fits uses.
    sklearn.covariance.MinCovDet : Starts from the most compact half of the rows instead of all.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransformer._density import RobustGaussian
    >>> rng = np.random.default_rng(0)
    >>> v = np.vstack([rng.normal(size=(95, 2)), rng.normal(8.0, 0.1, size=(5, 2))])
    >>> g = RobustGaussian().fit(v)
    >>> int(g.support_[95:].sum()), bool(np.all(np.abs(g.location_) < 0.3))
    (0, True)
    >>> bool(g.mahalanobis([[8.0, 8.0]])[0] > g.mahalanobis([[0.0, 0.0]])[0])
    True
    """

    def __init__(self, ridge=1e-3):
        self.ridge = ridge

    def fit(self, v):
        """Fit the Gaussian to the rows of ``v``.

        Parameters
        ----------
        v : array-like of shape (n_samples, n_features)
            One row per sample, at least one row.

        Returns
        -------
        self : RobustGaussian
            The fitted density.
        """
        from scipy.stats import chi2

        v = np.asarray(v, dtype=np.float64)
        if v.ndim != 2 or len(v) == 0:
            raise ValueError(f"v must be a 2-D array with at least one row, got shape {v.shape}.")
        self.support_ = np.ones(len(v), dtype=bool)
        self._fit_rows(v)
        dist = self.mahalanobis(v)
        dof = v.shape[1]
        cutoff = np.median(dist) * chi2.ppf(0.975, dof) / chi2.ppf(0.5, dof)
        keep = dist <= cutoff
        if 1 < keep.sum() < len(v):
            self.support_ = keep
            self._fit_rows(v[keep])
            dist = self.mahalanobis(v)
        self.dist_ = dist
        return self

    def _fit_rows(self, v):
        """Mean, ridged covariance and precision of all the rows of ``v`` (n, d)."""
        n, d = v.shape
        if n > 1:
            from sklearn.covariance import EmpiricalCovariance

            emp = EmpiricalCovariance(store_precision=False).fit(v)
            location = emp.location_
            cov = emp.covariance_ * (n / (n - 1))  # the MLE (ddof=0) -> ddof=1, as np.cov
        else:
            location, cov = v[0].copy(), np.zeros((d, d))
        level = float(np.trace(cov)) / d
        cov = cov + max(self.ridge * level, _TINY) * np.eye(d)
        self.location_, self.covariance_, self.precision_ = location, cov, np.linalg.inv(cov)

    def mahalanobis(self, v):
        """Squared Mahalanobis distance of each row of ``v`` from ``location_``.

        Parameters
        ----------
        v : array-like of shape (n_samples, n_features)
            Rows to measure.

        Returns
        -------
        dist : ndarray of shape (n_samples,)
            ``(v - location_) @ precision_ @ (v - location_)`` for each row.
        """
        v = np.asarray(v, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != len(self.location_):
            raise ValueError(f"v must have shape (n_samples, {len(self.location_)}), got {v.shape}.")
        d = v - self.location_  # (n, d)
        return np.einsum("ij,jk,ik->i", d, self.precision_, d)
