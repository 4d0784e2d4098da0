import pickle

import numpy as np
import pandas as pd
import pytest

from sktransformer.encoding import TabularEncoder


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age": [20.0, 30.0, 40.0, 50.0, 60.0, 70.0],
            "n_kids": pd.array([0, 1, 2, 3, 2, 1], dtype="int64"),
            "member": [True, False, True, True, False, True],
            "city": ["Paris", "Rome", "Paris", "Oslo", "Rome", "Paris"],  # str dtype under pandas 3
            "colour": pd.Categorical(["red", "blue", "red", "red", "green", "blue"]),
            "code": pd.Series(["a", 1, "a", 2, 1, "a"], dtype=object),  # mixed object column
        }
    )


def test_array_standard_scaling():
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(200, 3))
    X[:, 2] = 7.0  # constant column
    enc = TabularEncoder().fit(X)
    out = enc.transform(X)
    assert out["x_num"].dtype == np.float32 and out["x_num"].shape == (200, 3)
    assert out["x_cat"].dtype == np.int64 and out["x_cat"].shape == (200, 0)
    np.testing.assert_allclose(out["x_num"][:, :2].mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(out["x_num"][:, :2].std(axis=0), 1.0, atol=1e-5)
    assert np.isfinite(out["x_num"]).all()
    np.testing.assert_array_equal(out["x_num"][:, 2], 0.0)
    assert enc.feature_names_ == ["x0", "x1", "x2"]
    assert (enc.n_numeric_, enc.n_features_, enc.cat_cardinalities_) == (3, 3, [])
    assert enc.numeric_columns_ == [0, 1, 2] and enc.categorical_columns_ == []


def test_quantile_and_none_scaling():
    rng = np.random.default_rng(1)
    X = rng.exponential(size=(500, 2))
    out = TabularEncoder(scale="quantile").fit(X).transform(X)["x_num"]
    assert abs(np.median(out[:, 0])) < 0.05 and 0.8 < out[:, 0].std() < 1.3
    raw = TabularEncoder(scale="none").fit(X).transform(X)["x_num"]
    np.testing.assert_allclose(raw, X.astype(np.float32))
    with pytest.raises(ValueError, match="scale"):
        TabularEncoder(scale="minmax").fit(X)


def test_dataframe_mixed_columns(frame):
    enc = TabularEncoder().fit(frame)
    assert enc.numeric_columns_ == ["age", "n_kids", "member"]
    assert enc.categorical_columns_ == ["city", "colour", "code"]
    assert enc.feature_names_ == ["age", "n_kids", "member", "city", "colour", "code"]
    assert enc.n_numeric_ == 3 and enc.n_features_ == 6
    assert enc.cat_cardinalities_ == [4, 4, 4]  # 3 categories each + unknown
    out = enc.transform(frame)
    assert out["x_num"].shape == (6, 3) and out["x_cat"].shape == (6, 3)
    np.testing.assert_allclose(out["x_num"].mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(out["x_num"].std(axis=0), 1.0, atol=1e-5)
    city = out["x_cat"][:, 0]
    assert city.min() >= 1  # every fit category has a code > 0
    assert city[0] == city[2] == city[5] and len(set(city.tolist())) == 3
    assert out["x_cat"][0, 1] == out["x_cat"][2, 1] != out["x_cat"][1, 1]


def test_unknown_and_missing_categories_map_to_zero(frame):
    enc = TabularEncoder().fit(frame)
    new = frame.iloc[:3].copy()
    new["city"] = ["Berlin", None, "Rome"]
    new["colour"] = pd.Categorical(["purple", "red", None])
    new["code"] = pd.Series([3, "a", np.nan], dtype=object)
    x_cat = enc.transform(new)["x_cat"]
    rome = enc.transform(frame.iloc[[1]])["x_cat"][0, 0]
    assert x_cat[:, 0].tolist() == [0, 0, rome]
    assert x_cat[0, 1] == 0 and x_cat[1, 1] > 0 and x_cat[2, 1] == 0
    assert x_cat[0, 2] == 0 and x_cat[1, 2] > 0 and x_cat[2, 2] == 0


def test_column_order_at_transform_follows_names(frame):
    enc = TabularEncoder().fit(frame)
    a = enc.transform(frame)
    b = enc.transform(frame[frame.columns[::-1]])
    np.testing.assert_array_equal(a["x_num"], b["x_num"])
    np.testing.assert_array_equal(a["x_cat"], b["x_cat"])
    with pytest.raises(ValueError, match="missing columns"):
        enc.transform(frame.drop(columns="city"))


def test_only_categorical_columns():
    X = pd.DataFrame({"a": ["x", "y", "x"]})
    out = TabularEncoder(scale="quantile").fit(X).transform(X)
    assert out["x_num"].shape == (3, 0) and out["x_num"].dtype == np.float32
    assert out["x_cat"].tolist() == [[1], [2], [1]]


def test_input_not_mutated(frame):
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    X_copy = X.copy()
    frame_copy = frame.copy()
    for data, copy in [(X, X_copy), (frame, frame_copy)]:
        for scale in ["standard", "quantile", "none"]:
            enc = TabularEncoder(scale=scale).fit(data)
            out = enc.transform(data)
            out["x_num"][:] = -1.0
    np.testing.assert_array_equal(X, X_copy)
    pd.testing.assert_frame_equal(frame, frame_copy)


def test_pickle_round_trip(frame):
    for scale in ["standard", "quantile"]:
        enc = TabularEncoder(scale=scale).fit(frame)
        clone = pickle.loads(pickle.dumps(enc))
        a, b = enc.transform(frame), clone.transform(frame)
        np.testing.assert_array_equal(a["x_num"], b["x_num"])
        np.testing.assert_array_equal(a["x_cat"], b["x_cat"])
        assert clone.feature_names_ == enc.feature_names_


def test_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        TabularEncoder().fit(np.zeros(3))
    enc = TabularEncoder().fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2 columns|fitted with 2"):
        enc.transform(np.zeros((3, 4)))
    with pytest.raises(RuntimeError, match="not fitted"):
        TabularEncoder().transform(np.zeros((3, 2)))


def test_categorical_columns_only():
    X = pd.DataFrame({"a": ["x", "y", "x"], "b": ["u", "u", None]})
    enc = TabularEncoder().fit(X)
    out = enc.transform(pd.DataFrame({"a": ["y", "z"], "b": ["u", None]}))
    assert out["x_num"].shape == (2, 0) and enc.n_numeric_ == 0
    # unknown "z": code 0; b had missing values in fit: missing is its own level (code 2)
    assert out["x_cat"].tolist() == [[2, 1], [0, 2]] and enc.missing_codes_ == [0, 2]


def test_inverse_transform_gives_back_the_table_in_its_column_order():
    X = pd.DataFrame({"city": ["Paris", "Rome", None], "age": [20.0, 40.0, 30.0], 3: [1, 0, 1]})
    enc = TabularEncoder().fit(X)
    assert enc.feature_names_ == ["age", "3", "city"]  # tokens: numeric columns first
    out = enc.transform(pd.DataFrame({"city": ["Rome", "Oslo", "Paris"], "age": [25.0, 40.0, 20.0], 3: [0, 1, 1]}))
    back = enc.inverse_transform(out["x_num"], out["x_cat"])
    assert list(back.columns) == ["city", "age", 3]  # the input's order, non-str names included
    assert back["city"].tolist() == ["Rome", None, "Paris"]  # an unknown category comes back as None
    np.testing.assert_allclose(back["age"], [25.0, 40.0, 20.0], rtol=1e-6)
    np.testing.assert_array_equal(enc.input_order_, [2, 0, 1])
    arr = np.random.RandomState(0).normal(3.0, 2.0, size=(5, 2))
    enc = TabularEncoder().fit(arr)
    np.testing.assert_allclose(enc.inverse_transform(enc.transform(arr)["x_num"], None), arr, rtol=1e-6)


def test_dates_become_numeric_features_and_come_back():
    when = pd.Series(pd.to_datetime(["2024-01-01 08:00", "2024-03-02 17:30", None, "2025-01-06 00:00"]))
    X = pd.DataFrame({"when": when, "took": pd.to_timedelta([1, 2, 3, None], unit="D"), "k": list("abab")})
    enc = TabularEncoder(scale="none").fit(X)
    names = ["when.elapsed", "when.year", "when.month", "when.day_of_week", "when.day_of_year", "when.hour"]
    assert enc.date_features_ == {"when": names} and enc.feature_names_ == names + ["took", "k"]
    out = enc.transform(X)["x_num"]
    np.testing.assert_allclose(out[0], [0.0, 2024, 1, 0, 1, 8, 1.0])  # a Monday, 8 o'clock, 1 day
    assert np.isnan(out[2, :6]).all() and np.isnan(out[3, 6])  # NaT: missing in every feature
    np.testing.assert_allclose(out[3, 0], (when[3] - when[0]) / pd.Timedelta(days=1), rtol=1e-6)
    back = enc.inverse_transform(out, enc.transform(X)["x_cat"])
    assert list(back.columns) == ["when", "took", "k"]
    assert (back["when"] - when).abs().max() < pd.Timedelta(minutes=1) and back["took"][1] == pd.Timedelta(days=2)
    aware = TabularEncoder().fit(X.assign(when=when.dt.tz_localize("Europe/Paris")))
    assert "when.hour" in aware.feature_names_
    with pytest.raises(ValueError, match="'when' held time-zone aware dates"):
        aware.transform(X)
