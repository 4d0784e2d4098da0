"""What MLPClassifier users reach for (issue 27, item 4): sample_weight in fit (a weighted mean of
the rows' losses, through skorch), warm_start and partial_fit with MLPClassifier's meanings."""

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


def test_warm_start_trains_the_same_model_further():
    X, y = _table()
    clf = TransformerClassifier(max_epochs=3, tol=None, warm_start=True, **SMALL).fit(X, y)
    encoder, module = clf.encoder_, clf.net_.module_
    first = clf.predict_proba(X)
    clf.fit(X, y)
    assert len(clf.history_) == 6 and clf.encoder_ is encoder and clf.net_.module_ is module
    assert not np.allclose(clf.predict_proba(X), first)
    cold = TransformerClassifier(max_epochs=3, tol=None, **SMALL).fit(X, y)
    cold.fit(X, y)
    assert len(cold.history_) == 3  # warm_start=False starts afresh


def test_warm_start_rejects_labels_the_model_does_not_have():
    X, y = _table()
    clf = TransformerClassifier(max_epochs=1, warm_start=True, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match=r"labels \[2\] that are not in"):
        clf.fit(X, np.where(y == 1, 2, 0))


def test_partial_fit_adds_one_epoch_per_call_and_learns():
    X, y = _table(400)
    clf = TransformerClassifier(**SMALL)
    for i in range(30):
        clf.partial_fit(X, y, classes=[0, 1] if i == 0 else None)
    assert len(clf.history_) == 30
    losses = clf.history_[:, "train_loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert clf.score(X, y) > 0.9
    assert "converged" not in dict(clf.net_.callbacks_)  # one epoch a call: no convergence test


def test_partial_fit_classes_come_first_and_stay():
    X, y = _table()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        TransformerClassifier(**SMALL).partial_fit(X, y)
    clf = TransformerClassifier(**SMALL).partial_fit(X[:20], np.zeros(20, int), classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict_proba(X).shape == (len(X), 3)  # a class no call has shown yet still has a column
    with pytest.raises(ValueError, match="not what the model was set up with"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels \[7\]"):
        clf.partial_fit(X, np.full(len(X), 7))


def test_partial_fit_needs_no_validation_split():
    X, y = _table()
    with pytest.raises(ValueError, match="early_stopping=False"):
        TransformerClassifier(early_stopping=True, **SMALL).partial_fit(X, y, classes=[0, 1])


def test_regressor_partial_fit_keeps_the_target_scale_of_the_first_call():
    X, _ = _table(300)
    y = 100 + 10 * X[:, 0]
    reg = TransformerRegressor(**SMALL)
    for _ in range(25):
        reg.partial_fit(X, y)
    assert len(reg.history_) == 25 and reg.y_mean_ == pytest.approx(y.mean())
    assert reg.score(X, y) > 0.8
    with pytest.raises(ValueError, match="2 targets, but this model was set up with 1"):
        reg.partial_fit(X, np.c_[y, y])


def test_partial_fit_gives_the_same_model_whatever_ran_before():
    import torch

    X, y = _table()

    def run():
        clf = TransformerClassifier(**SMALL)
        for i in range(3):
            clf.partial_fit(X, y, classes=[0, 1] if i == 0 else None)
        return clf.predict_proba(X)

    first = run()
    torch.rand(7)  # another draw from torch's global generator
    np.testing.assert_array_equal(run(), first)
