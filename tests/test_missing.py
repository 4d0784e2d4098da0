"""Tables with holes and dates: missing values are tokens of their own, dates become features."""

import numpy as np
import pandas as pd
import pytest
from conftest import TINY

from sktransformer import AttentionAutoencoder, TransformerClassifier, TransformerRegressor

N = 240
FIT = {**TINY, "max_epochs": 30}


def _holes(dtype, rng, missing):
    """A column of ``dtype`` with a value where ``missing`` is False and NA where it is True; its
    values say nothing of ``missing`` (a mean-imputed copy could not tell the two apart)."""
    if dtype == "float":
        values = pd.Series(rng.normal(size=N))
        values[missing] = np.nan
    elif dtype == "Float64":
        values = pd.Series(rng.normal(size=N), dtype="Float64")
        values[missing] = pd.NA
    elif dtype == "Int64":
        values = pd.Series(rng.randint(-3, 4, N), dtype="Int64")
        values[missing] = pd.NA
    elif dtype == "boolean":
        values = pd.Series(rng.rand(N) < 0.5, dtype="boolean")
        values[missing] = pd.NA
    elif dtype == "object":  # a categorical column: None is missing
        values = pd.Series(rng.choice(["a", "b", "c"], N), dtype=object)
        values[missing] = None
    else:  # pandas category
        values = pd.Series(pd.Categorical(rng.choice(["a", "b", "c"], N)))
        values[missing] = np.nan
    return values


DTYPES = ["float", "Float64", "Int64", "boolean", "object", "category"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_missingness_is_a_signal_for_every_dtype(dtype):
    # y is whether z is missing, nothing else: only a model that sees the hole can learn it
    rng = np.random.RandomState(0)
    y = rng.rand(N) < 0.4
    X = pd.DataFrame({"u": rng.normal(size=N), "z": _holes(dtype, rng, y)})
    clf = TransformerClassifier(**FIT).fit(X, y.astype(int))
    assert clf.score(X, y.astype(int)) > 0.9
    reg = TransformerRegressor(**FIT).fit(X, 3.0 * y)
    assert reg.score(X, 3.0 * y) > 0.8
    # NA first seen at predict time in another column: still a prediction, no error
    X_new = X.assign(u=pd.Series([np.nan] * N))
    assert np.isfinite(clf.predict_proba(X_new)).all() and np.isfinite(reg.predict(X_new)).all()


def test_numpy_nan_is_accepted_and_tagged():
    from sklearn.utils import get_tags

    rng = np.random.RandomState(1)
    X = rng.normal(size=(N, 3))
    y = (rng.rand(N) < 0.5).astype(int)
    X[y == 1, 2] = np.nan
    clf = TransformerClassifier(**FIT).fit(X, y)
    assert clf.score(X, y) > 0.9 and clf.encoder_.numeric_missing_.tolist() == [False, False, True]
    for est in (TransformerClassifier(), TransformerRegressor(), AttentionAutoencoder()):
        assert get_tags(est).input_tags.allow_nan


def test_a_nan_first_seen_at_predict_is_the_training_mean():
    # column 0 never missing in fit: a NaN there at predict gives the token of its training mean
    rng = np.random.RandomState(2)
    X = rng.normal(loc=5.0, size=(N, 3))
    y = (X[:, 0] > 5).astype(int)
    X[:20, 1] = np.nan  # the model has missing tokens (column 1), column 0's stays at zero
    clf = TransformerClassifier(**{**FIT, "max_epochs": 5}).fit(X, y)
    holes, mean = X[:10].copy(), X[:10].copy()
    holes[:, 0] = np.nan
    mean[:, 0] = np.nanmean(X[:, 0])
    np.testing.assert_allclose(clf.predict_proba(holes), clf.predict_proba(mean), atol=1e-5)
    trained = clf.net_.module_.embedding.num_missing.detach()
    assert float(trained[0].abs().max()) == 0.0 and float(trained[1].abs().max()) > 0.0


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinity_stays_an_error(value):
    X = pd.DataFrame({"a": [1.0, 2.0, value, 4.0, 5.0, 6.0], "b": list("xyxyxy")})
    with pytest.raises(ValueError, match=r"infinity in numeric columns \['a'\]"):
        TransformerClassifier(**TINY).fit(X, [0, 1] * 3)
    clf = TransformerClassifier(**{**TINY, "max_epochs": 1}).fit(X.assign(a=np.arange(6.0)), [0, 1] * 3)
    with pytest.raises(ValueError, match=r"infinity in numeric columns \['a'\]"):
        clf.predict(X)
    with pytest.raises(ValueError, match="infinity"):
        AttentionAutoencoder(**TINY).fit(np.where(np.eye(6, 2) > 0, value, 1.0))


def test_a_missing_category_is_its_own_level():
    X = pd.DataFrame({"c": ["a", "b", None, "a", np.nan, "b"]})
    clf = TransformerClassifier(**{**TINY, "max_epochs": 1}).fit(X, [0, 1, 0, 1, 0, 1])
    enc = clf.encoder_
    assert enc.missing_codes_ == [3] and enc.cat_cardinalities_ == [4]  # unknown, a, b, missing
    codes = enc.transform(pd.DataFrame({"c": [None, np.nan, pd.NA, "zzz", "b"]}))["x_cat"].ravel()
    assert codes.tolist() == [3, 3, 3, 0, 2]


def test_autoencoder_scores_rows_by_what_they_hold():
    rng = np.random.RandomState(0)
    z = rng.normal(size=(300, 1))
    X = np.hstack([z, 2 * z, -z, z]) + 0.05 * rng.normal(size=(300, 4))
    X[rng.rand(300, 4) < 0.15] = np.nan  # holes everywhere, in training too
    ae = AttentionAutoencoder(**{**TINY, "max_epochs": 60}).fit(X)
    test = np.tile([[1.0, 2.0, -1.0, 1.0]], (4, 1))
    test[1, 0] = np.nan             # a normal row with a hole
    test[2, 1] = -2.0               # an outlier in an observed cell ...
    test[3] = [np.nan, -2.0, -1.0, 1.0]  # ... still flagged when another cell is missing
    scores = ae.score_samples(test)
    assert np.isfinite(scores).all()
    assert min(scores[0], scores[1]) > max(scores[2], scores[3])
    errors = ae.reconstruction_errors(test)
    assert np.isnan(errors[1, 0]) and np.isnan(errors[3, 0]) and np.isfinite(errors[[0, 2]]).all()
    from sktransformer.inspection import anomaly_contributions

    shares, names = anomaly_contributions(ae, test)
    assert np.isnan(shares[3, 0]) and np.isfinite(shares[3, 1:]).all()  # a missing cell: NaN, no share
    np.testing.assert_allclose(np.nansum(shares, axis=1), -scores, rtol=1e-5)
    assert names[int(np.nanargmax(shares[3]))] == "x1"
    # nothing is invented: reconstruct fills the hole with the model's guess, the input is untouched
    assert np.isfinite(ae.reconstruct(test)).all() and np.isnan(test[1, 0])


def test_autoencoder_with_missing_values_in_a_frame():
    rng = np.random.RandomState(3)
    X = pd.DataFrame({"a": rng.normal(size=N), "b": pd.array(rng.randint(0, 5, N), dtype="Int64"),
                      "c": rng.choice(["x", "y", None], N)})
    X.loc[rng.rand(N) < 0.2, "b"] = pd.NA
    ae = AttentionAutoencoder(**{**TINY, "max_epochs": 5}).fit(X)
    errors = ae.reconstruction_errors(X)
    np.testing.assert_array_equal(np.isnan(errors[:, 1]), X["b"].isna().to_numpy())
    assert np.isfinite(errors[:, [0, 2]]).all() and np.isfinite(ae.decision_function(X)).all()


# ---------------------------------------------------------------------- dates
def _dated(tz=None, n=N, seed=0):
    rng = np.random.RandomState(seed)
    when = pd.Timestamp("2021-01-04") + pd.to_timedelta(rng.randint(0, 730, n), unit="D")
    when = pd.Series(when).dt.tz_localize(tz) if tz else pd.Series(when)
    X = pd.DataFrame({"when": when, "u": rng.normal(size=n)})
    y = (X["when"].dt.day_of_week >= 5).astype(int).to_numpy()  # weekend
    return X, y


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_dates_become_features(tz):
    from sktransformer.inspection import attention_weights

    X, y = _dated(tz)
    X.loc[3, "when"] = pd.NaT
    clf = TransformerClassifier(**{**FIT, "max_epochs": 60}).fit(X, y)
    names = ["when.elapsed", "when.year", "when.month", "when.day_of_week", "when.day_of_year"]
    assert clf.date_features_ == {"when": names}
    assert clf.date_features_["when"] == clf.encoder_.feature_names_[:5]
    X_test, y_test = _dated(tz, n=200, seed=1)  # other dates, some after the training span
    assert clf.score(X_test, y_test) > 0.9
    att = attention_weights(clf, X_test[:2])
    assert [t for t in att.tokens[0] if t != "[CLS]"] == names + ["u"]


def test_date_errors_and_other_temporal_dtypes():
    X, y = _dated()
    clf = TransformerClassifier(**{**TINY, "max_epochs": 1}).fit(X, y)
    with pytest.raises(ValueError, match="'when' held naive"):
        clf.predict(X.assign(when=X["when"].dt.tz_localize("UTC")))
    with pytest.raises(ValueError, match=r"'when' holds dates but every one is missing"):
        TransformerClassifier(**TINY).fit(X.assign(when=pd.Series([pd.NaT] * N, dtype="datetime64[ns]")), y)
    with pytest.raises(ValueError, match=r"\['p'\] hold periods"):
        TransformerClassifier(**TINY).fit(X.assign(p=pd.period_range("2020-01", periods=N, freq="M")), y)
    # a timedelta column is a number of days
    reg = TransformerRegressor(**{**TINY, "max_epochs": 1}).fit(
        X.assign(took=pd.to_timedelta(np.arange(N), unit="h")), y.astype(float))
    assert "took" in reg.encoder_.numeric_columns_ and reg.date_features_ == {"when": reg.date_features_["when"]}


def test_autoencoder_rebuilds_dates():
    X, _ = _dated()
    ae = AttentionAutoencoder(**{**TINY, "max_epochs": 2}).fit(X)
    rec = ae.reconstruct(X[:5])
    assert list(rec.columns) == ["when", "u"] and pd.api.types.is_datetime64_any_dtype(rec["when"])
    assert ae.reconstruction_errors(X[:5]).shape == (5, 6)  # five date features and u


def test_missing_values_and_dates_in_a_mixed_frame_save_and_load(tmp_path):
    import sktransformer

    X, y = _dated()
    rng = np.random.RandomState(0)
    X["note"] = [("great stay " if v else "dull visit ") + str(i) for i, v in enumerate(y)]
    X.loc[rng.rand(N) < 0.2, "u"] = np.nan
    clf = TransformerClassifier(**{**TINY, "max_epochs": 2}).fit(X, y)
    assert clf.input_mode_ == "mixed" and clf.date_features_["when"][0] == "when.elapsed"
    clf.save(tmp_path / "m.skt")
    loaded = sktransformer.load(tmp_path / "m.skt")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert loaded.date_features_ == clf.date_features_
