"""The robust Gaussian behind ``anomaly_score="density"``: same numbers as plain NumPy, robust, finite."""

import numpy as np
import pytest
from scipy.stats import chi2

from sktransformer._density import RobustGaussian


# ---------------------------------------------------------------- reference: the formulas in NumPy
def _ref_mahalanobis(v, mean, precision):
    d = v - mean
    return np.einsum("ij,jk,ik->i", d, precision, d)


def _ref_gaussian(v, ridge):
    mean = v.mean(axis=0)
    cov = np.atleast_2d(np.cov(v - mean, rowvar=False)) if len(v) > 1 else np.zeros((v.shape[1],) * 2)
    level = float(np.trace(cov)) / len(cov)
    cov = cov + max(ridge * level, 1e-12) * np.eye(len(cov))
    return mean, np.linalg.inv(cov)


def _ref_fit(v, ridge=1e-3):
    mean, precision = _ref_gaussian(v, ridge)
    dist = _ref_mahalanobis(v, mean, precision)
    dof = v.shape[1]
    keep = dist <= np.median(dist) * chi2.ppf(0.975, dof) / chi2.ppf(0.5, dof)
    if 1 < keep.sum() < len(v):
        mean, precision = _ref_gaussian(v[keep], ridge)
    return mean, precision


def _contaminated(rng, n=200, d=3, n_out=10, shift=8.0):
    """``n`` inlier rows N(0, I) with ``n_out`` of them replaced by a tight cluster at ``shift``."""
    v = rng.normal(size=(n, d))
    v[:n_out] = rng.normal(shift, 0.1, size=(n_out, d))
    return v


@pytest.mark.parametrize("n, d, n_out", [(2, 1, 0), (3, 2, 0), (50, 1, 5), (200, 3, 10), (300, 9, 30),
                                         (40, 12, 2)])
@pytest.mark.parametrize("ridge", [1e-3, 0.1])
def test_equals_numpy_reference(n, d, n_out, ridge):
    rng = np.random.default_rng(n * 100 + d)
    v = _contaminated(rng, n, d, n_out) * rng.uniform(0.01, 100, size=d)  # columns on different scales
    test = rng.normal(size=(25, d)) * 3
    mean, precision = _ref_fit(v, ridge)
    g = RobustGaussian(ridge=ridge).fit(v)
    np.testing.assert_allclose(g.location_, mean, rtol=1e-10, atol=1e-12 * np.abs(v).max())
    np.testing.assert_allclose(g.precision_, precision, rtol=1e-8, atol=1e-10 * np.abs(precision).max())
    np.testing.assert_allclose(g.mahalanobis(test), _ref_mahalanobis(test, mean, precision), rtol=1e-8)
    np.testing.assert_allclose(g.dist_, _ref_mahalanobis(v, mean, precision), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(g.covariance_ @ g.precision_, np.eye(d), atol=1e-8)


def test_reweighting_step_is_used_and_matches_reference():
    rng = np.random.default_rng(0)
    v = _contaminated(rng)
    g = RobustGaussian().fit(v)
    assert 0 < (~g.support_).sum() < 30  # the refit ran on a strict subset
    np.testing.assert_allclose(g.location_, v[g.support_].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(g.location_, _ref_fit(v)[0], rtol=1e-12)


def test_outlier_cluster_does_not_widen_the_fit():
    rng = np.random.default_rng(1)
    v = _contaminated(rng, n=1000, d=3, n_out=50, shift=8.0)
    g = RobustGaussian().fit(v)
    assert not g.support_[:50].any()  # every row of the cluster dropped
    assert g.support_[50:].mean() > 0.95  # nearly every inlier kept
    inlier_mean = v[50:].mean(axis=0)
    np.testing.assert_allclose(g.location_, inlier_mean, atol=0.05)
    np.testing.assert_allclose(np.diag(g.covariance_), 1.0, atol=0.15)
    # the plain (one-step) Gaussian is pulled towards the cluster and widened by it
    plain = v.mean(axis=0)
    assert np.all(plain - inlier_mean > 0.3)
    assert np.all(np.var(v, axis=0) > 3.0)
    # and the cluster scores far out
    assert g.dist_[:50].min() > 10 * np.median(g.dist_[50:])


def test_clean_data_keeps_nearly_all_rows():
    v = np.random.default_rng(2).normal(size=(500, 4))
    g = RobustGaussian().fit(v)
    assert g.support_.mean() > 0.95
    np.testing.assert_allclose(g.location_, 0.0, atol=0.15)


def test_single_row_is_finite():
    v = np.array([[1.0, -2.0, 3.0]])
    g = RobustGaussian().fit(v)
    np.testing.assert_array_equal(g.location_, v[0])
    np.testing.assert_allclose(g.covariance_, 1e-12 * np.eye(3))  # zero covariance + the ridge floor
    assert g.support_.tolist() == [True]
    assert g.dist_.tolist() == [0.0]
    dist = g.mahalanobis([[1.0, -2.0, 3.0], [1.0, -2.0, 3.5]])
    assert np.all(np.isfinite(dist)) and dist[0] == 0.0 and dist[1] == pytest.approx(0.25e12)


@pytest.mark.parametrize("n", [1, 2, 50])
def test_constant_columns_are_finite(n):
    rng = np.random.default_rng(3)
    v = np.column_stack([rng.normal(size=n), np.full(n, 5.0), rng.normal(size=n)])
    g = RobustGaussian().fit(v)
    assert np.all(np.isfinite(g.precision_)) and np.all(np.isfinite(g.dist_))
    assert g.location_[1] == 5.0
    test = np.column_stack([rng.normal(size=7), np.full(7, 5.0), rng.normal(size=7)])
    assert np.all(np.isfinite(g.mahalanobis(test)))
    off = g.mahalanobis([[0.0, 6.0, 0.0]])  # off the constant value: far out, but finite
    assert np.isfinite(off[0])
    if n == 50:
        assert off[0] > 100 * g.mahalanobis(test).max()
    # all columns constant: the ridge floor, distances 0 on the constant row
    flat = RobustGaussian().fit(np.ones((n, 2)))
    assert flat.dist_.tolist() == [0.0] * n
    assert np.isfinite(flat.mahalanobis([[2.0, 1.0]])[0])


@pytest.mark.parametrize("d", [1, 4])
def test_mahalanobis_shape_and_training_distances(d):
    rng = np.random.default_rng(4)
    v = rng.normal(size=(60, d))
    g = RobustGaussian().fit(v)
    assert g.location_.shape == (d,)
    assert g.covariance_.shape == g.precision_.shape == (d, d)
    assert g.support_.shape == g.dist_.shape == (60,)
    assert g.mahalanobis(rng.normal(size=(13, d))).shape == (13,)
    assert g.mahalanobis(np.empty((0, d))).shape == (0,)
    np.testing.assert_allclose(g.mahalanobis(v), g.dist_)
    assert np.all(g.dist_ >= 0)
    with pytest.raises(ValueError, match="shape"):
        g.mahalanobis(rng.normal(size=(3, d + 1)))
    with pytest.raises(ValueError, match="2-D"):
        RobustGaussian().fit(np.zeros(5))
