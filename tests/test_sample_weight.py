"""sample_weight in fit (issue 27, item 4): a weighted mean of the rows' losses, through skorch."""

import numpy as np
import pytest

from sktransformer import TransformerClassifier, TransformerRegressor

SMALL = dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, lr=1e-2, random_state=0)


def _table(n=240, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_equal_weights_train_the_unweighted_model():
    X, y = _table()
    plain = TransformerClassifier(max_epochs=4, **SMALL).fit(X, y)
    weighted = TransformerClassifier(max_epochs=4, **SMALL).fit(X, y, sample_weight=np.full(len(y), 3.5))
    np.testing.assert_array_equal(weighted.predict_proba(X), plain.predict_proba(X))


def test_rows_of_weight_zero_are_not_learned_from():
    # the rows of one region carry the opposite label: learned from, they pull the model away from
    # the rule there; with weight 0 the model learns the rule from the rest
    X, y = _table(360)
    flipped = X[:, 1] > 0.5
    noisy = np.where(flipped, 1 - y, y)
    weight = np.where(flipped, 0.0, 1.0)
    kw = dict(max_epochs=40, tol=None, **SMALL)
    ignored = TransformerClassifier(**kw).fit(X, noisy, sample_weight=weight)
    learned = TransformerClassifier(**kw).fit(X, noisy)
    assert ignored.score(X[flipped], y[flipped]) > 0.9
    assert learned.score(X[flipped], y[flipped]) < ignored.score(X[flipped], y[flipped]) - 0.1


def test_heavier_rows_pull_the_regressor_to_their_targets():
    # the same inputs with two targets: the fit follows the heavier one
    X = np.random.RandomState(0).normal(size=(200, 2))
    X2 = np.vstack([X, X])
    y2 = np.r_[np.full(200, 1.0), np.full(200, -1.0)]
    kw = dict(max_epochs=30, tol=None, **SMALL)
    up = TransformerRegressor(**kw).fit(X2, y2, sample_weight=np.r_[np.full(200, 9.0), np.ones(200)])
    down = TransformerRegressor(**kw).fit(X2, y2, sample_weight=np.r_[np.ones(200), np.full(200, 9.0)])
    assert up.predict(X).mean() > 0.5 and down.predict(X).mean() < -0.5


def test_weights_reach_the_held_out_loss_of_early_stopping():
    X, y = _table()
    clf = TransformerClassifier(max_epochs=3, early_stopping=True, **SMALL)
    clf.fit(X, y, sample_weight=np.linspace(0.1, 1, len(y)))
    assert np.isfinite(clf.history_[-1, "valid_loss"])


@pytest.mark.parametrize("weight, match", [
    (np.r_[-1.0, np.ones(239)], "sample_weight.*negative"),
    (np.r_[np.nan, np.ones(239)], "sample_weight.*NaN"),
    (np.ones(5), "sample_weight.*5"),
    (np.zeros(240), "sample_weight is zero for every row"),
    ("heavy", "sample_weight"),
])
def test_bad_sample_weight_is_rejected_before_training(weight, match):
    X, y = _table()
    with pytest.raises((ValueError, TypeError), match=match):
        TransformerClassifier(max_epochs=1, **SMALL).fit(X, y, sample_weight=weight)
