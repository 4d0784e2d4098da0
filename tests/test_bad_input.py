"""Bad input gets a ValueError/TypeError naming the problem, raised before any tensor work."""

import numpy as np
import pandas as pd
import pytest

from sktransformer import (
    AttentionAutoencoder,
    TransformerClassifier,
    TransformerEmbedder,
    TransformerRegressor,
)

TINY = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, max_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    texts = ["good film", "bad film", "fine movie", "awful plot"] * 10
    seq = rng.normal(size=(40, 5, 2))
    return {
        "tabular": TransformerClassifier(**TINY).fit(X, y),
        "text": TransformerClassifier(**TINY).fit(texts, y),
        "sequence": TransformerClassifier(**TINY).fit(seq, y),
    }


@pytest.mark.parametrize("X, match", [
    (np.empty((0, 3)), "0 sample"),
    ([], "empty"),
    (np.empty((0, 4, 2)), "empty"),
])
def test_empty_X(X, match):
    with pytest.raises(ValueError, match=match):
        TransformerClassifier(**TINY).fit(X, [])


def test_length_mismatch():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        TransformerClassifier(**TINY).fit(np.ones((5, 2)), [0, 1, 0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        TransformerClassifier(**TINY).fit(["a", "b"], [0, 1, 0])


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_inf_in_table(bad):  # NaN is a missing value (tests/test_missing.py)
    X = np.ones((6, 2))
    X[3, 1] = bad
    with pytest.raises(ValueError, match="infinity"):
        TransformerClassifier(**TINY).fit(X, [0, 1] * 3)
    frame = pd.DataFrame({"a": X[:, 1], "b": list("xyzxyz")})
    with pytest.raises(ValueError, match=r"infinity in numeric columns \['a'\]"):
        TransformerRegressor(**TINY).fit(frame, np.arange(6.0))


def test_nan_in_sequences():
    X = np.ones((4, 3, 2))
    X[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        TransformerClassifier(**TINY).fit(X, [0, 1, 0, 1])


@pytest.mark.parametrize("texts, match", [
    (["fine", None, "ok"], r"item 1 is missing \(None\)"),
    (["fine", 3, "ok"], "item 1 is a int"),
    (pd.Series(["fine", "ok", None]), r"item 2 is missing \((None|nan)\)"),
])
def test_text_items_must_be_str(texts, match):
    with pytest.raises(TypeError, match=match):
        TransformerClassifier(**TINY).fit(texts, [0, 1, 0])


def test_single_string_is_not_a_dataset():
    with pytest.raises(TypeError, match="single string"):
        TransformerClassifier(**TINY).fit("just one text", [0])


@pytest.mark.parametrize("fit_mode, X", [
    ("tabular", ["some text", "more"]),
    ("text", np.ones((2, 3))),
    ("sequence", np.ones((2, 3))),
    ("tabular", np.ones((2, 5, 3))),
])
def test_mode_at_predict_differs_from_fit(fitted, fit_mode, X):
    with pytest.raises(ValueError, match=f"fitted on {fit_mode} input"):
        fitted[fit_mode].predict(X)


def test_wrong_number_of_features(fitted):
    with pytest.raises(ValueError, match="X has 2 features, but TransformerClassifier is expecting 3"):
        fitted["tabular"].predict(np.ones((2, 2)))
    with pytest.raises(ValueError, match="3 features per step, but this estimator was fitted with 2"):
        fitted["sequence"].predict(np.ones((2, 5, 3)))
    with pytest.raises(ValueError, match="same number of step features"):
        fitted["sequence"].predict([np.ones((4, 2)), np.ones((3, 3))])


def test_single_class():
    with pytest.raises(ValueError, match="only one class"):
        TransformerClassifier(**TINY).fit(np.ones((4, 2)), [1, 1, 1, 1])


def test_continuous_target_for_classifier():
    with pytest.raises(ValueError, match="Unknown label type"):
        TransformerClassifier(**TINY).fit(np.ones((4, 2)), [0.1, 0.5, 0.7, 0.2])


@pytest.mark.parametrize("params, match", [
    ({"d_model": 0}, "'d_model' parameter"),
    ({"n_heads": 3, "d_model": 8}, "divisible by n_heads"),
    ({"dropout": 1.5}, "'dropout' parameter"),
    ({"pooling": "median"}, "'pooling' parameter"),
    ({"wide": "yes"}, "'wide' parameter"),
    ({"lr": -1.0}, "'lr' parameter"),
    ({"optimizer": "adagrad"}, "'optimizer' parameter"),
    ({"max_epochs": 0}, "'max_epochs' parameter"),
    ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
    ({"class_weight": "auto"}, "'class_weight' parameter"),
    ({"tol": -1e-4}, "'tol' parameter"),
])
def test_invalid_hyperparameters(params, match):
    with pytest.raises(ValueError, match=match):
        TransformerClassifier(**{**TINY, **params}).fit(np.ones((4, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize("make", [
    lambda device: TransformerClassifier(**{**TINY, "device": device}),
    lambda device: AttentionAutoencoder(d_model=8, n_heads=2, n_layers=1, device=device),
    lambda device: TransformerEmbedder(device=device),
], ids=["classifier", "autoencoder", "embedder"])
@pytest.mark.parametrize("device, match", [
    ("gpu", "device='gpu' is not a torch device"),
    pytest.param("cuda", "no CUDA device", marks=pytest.mark.skipif(
        __import__("torch").cuda.is_available(), reason="this machine has CUDA: device='cuda' is valid")),
])
def test_bad_device_named_before_the_input_is_read(make, device, match, monkeypatch):
    from sktransformer._base import TransformerBase

    def no_reading(*args, **kwargs):
        raise AssertionError("X read before the device was checked")

    monkeypatch.setattr(TransformerBase, "_check_X", no_reading)
    with pytest.raises(ValueError, match=match):
        make(device).fit(["good film", "bad film", "fine", "awful"], [0, 1, 0, 1])


def test_sparse_input_rejected():
    from scipy import sparse

    with pytest.raises(TypeError, match="dense data is required"):
        TransformerClassifier(**TINY).fit(sparse.csr_matrix(np.ones((4, 2))), [0, 1, 0, 1])


def test_checks_happen_before_model_work(monkeypatch):
    """No module is built when the input is bad."""
    import sktransformer._base as base

    def boom(self):
        raise AssertionError("model built before input validation")

    monkeypatch.setattr(base.TransformerBase, "_make_module", boom)
    with pytest.raises(TypeError):
        TransformerClassifier(**TINY).fit(["ok", None], [0, 1])


def test_user_data_not_modified():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": list("xyxy")})
    before = frame.copy()
    texts = ["b", "a", "c", "d"]
    TransformerClassifier(**TINY).fit(frame, [0, 1, 0, 1])
    TransformerClassifier(**TINY).fit(texts, [0, 1, 0, 1])
    pd.testing.assert_frame_equal(frame, before)
    assert texts == ["b", "a", "c", "d"]


# ----------------------------------------------------------------- cases that used to pass silently
def test_a_diverging_loss_stops_fit_naming_lr():
    X = np.random.RandomState(0).normal(size=(64, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=r"training diverged.*lr \(now 1e\+30\).*class_weight"):
        TransformerClassifier(**{**TINY, "max_epochs": 3, "lr": 1e30}).fit(X, y)


@pytest.mark.parametrize("weights", [{0: -1.0, 1: 1.0}, {0: 0.0, 1: 0.0}, {0: np.inf, 1: 1.0}])
def test_class_weights_must_be_finite_and_non_negative(weights):
    with pytest.raises(ValueError, match="class_weight=.*finite and >= 0"):
        TransformerClassifier(**{**TINY, "class_weight": weights}).fit(np.ones((4, 2)), [0, 1, 0, 1])


def test_values_that_overflow_float32_are_rejected_at_fit_and_predict():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 2))
    y = np.arange(20) % 2
    clf = TransformerClassifier(**TINY).fit(X, y)
    far = X[:2].copy()
    far[1, 1] = 1e39
    with pytest.raises(ValueError, match=r"columns \[1\] too large for the model"):
        clf.predict(far)
    huge = X.copy()
    huge[:, 0] *= 1e300
    with pytest.raises(ValueError, match=r"columns \[0\]"):
        TransformerClassifier(**TINY).fit(huge, y)


def test_regression_targets_too_large_to_standardise():
    X = np.random.RandomState(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="y is too large to standardise"):
        TransformerRegressor(**TINY).fit(X, np.arange(10.0) * 1e200)


@pytest.mark.parametrize("column, match", [
    (pd.period_range("2024-01", periods=6, freq="M"), "periods"),
    (np.arange(6) + 1j, "complex numbers"),
])
def test_period_and_complex_columns_get_a_clear_error(column, match):  # dates: tests/test_missing.py
    frame = pd.DataFrame({"x": np.arange(6.0), "when": column})
    with pytest.raises(ValueError, match=rf"\['when'\] .*{match}"):
        TransformerClassifier(**TINY).fit(frame, [0, 1] * 3)


def test_a_column_that_changes_kind_at_predict_is_an_error():
    frame = pd.DataFrame({"num": np.arange(6.0), "cat": list("abcabc")})
    clf = TransformerClassifier(**TINY).fit(frame, [0, 1] * 3)
    with pytest.raises(ValueError, match=r"\['num'\] changed kind"):
        clf.predict(frame.assign(num=frame["num"].astype(str)))
    with pytest.raises(ValueError, match=r"\['cat'\] changed kind"):
        clf.predict(frame.assign(cat=np.arange(6)))
    assert len(clf.predict(frame.assign(cat=None))) == 6  # a column of missing values is still a category


@pytest.mark.parametrize("texts", [["", "", ""], ["  ", "\n", ""]])
def test_empty_vocabulary(texts):
    with pytest.raises(ValueError, match="empty vocabulary"):
        TransformerClassifier(**TINY).fit(texts, [0, 1, 0])


def test_the_autoencoder_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2 samples.*got 1 sample"):
        AttentionAutoencoder(**TINY).fit(np.ones((1, 3)))


def test_max_length_beyond_the_backbone_positions(tiny_bert):
    with pytest.raises(ValueError, match="max_length=1000.*reads at most 64 tokens"):
        TransformerClassifier(backbone=tiny_bert, max_length=1000, max_epochs=1).fit(["a b", "c d"], [0, 1])


@pytest.mark.parametrize("params, error, match", [
    ({"optimizer": str}, TypeError, "optimizer=.*not a torch optimizer"),
    ({"optimizer": __import__("torch").optim.LBFGS}, ValueError, "LBFGS takes no weight decay"),
    ({"callbacks": ["x"]}, TypeError, r"callbacks\[0\] is 'x'"),
    ({"callbacks": [("name", 3)]}, TypeError, r"callbacks\[0\]"),
])
def test_optimizer_and_callbacks_are_checked_before_training(params, error, match):
    with pytest.raises(error, match=match):
        TransformerClassifier(**{**TINY, **params}).fit(np.ones((4, 2)), [0, 1, 0, 1])


def test_a_free_text_column_in_a_table_is_read_as_text_not_as_categories():
    rng = np.random.RandomState(0)
    words = ["great", "poor", "battery", "screen", "fast", "slow", "cheap", "sturdy"]
    reviews = [" ".join(rng.choice(words, size=6)) for _ in range(30)]
    frame = pd.DataFrame({"age": rng.normal(size=30), "review": reviews, "colour": ["red", "blue"] * 15})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the text column is taken for what it is
        clf = TransformerClassifier(**TINY).fit(frame, np.arange(30) % 2)
    assert clf.input_mode_ == "mixed" and clf.text_columns_ == ["review"]
    table = TransformerClassifier(**TINY).fit(frame.drop(columns="review"), np.arange(30) % 2)
    assert table.input_mode_ == "tabular" and table.categorical_columns_ == ["colour"]


def test_a_lone_surrogate_in_a_text_is_named_by_its_index():
    with pytest.raises(ValueError, match=r"X\[1\] is not valid Unicode text"):
        TransformerClassifier(**TINY).fit(["good", "bad \ud800 film", "fine"], [0, 1, 0])


@pytest.mark.parametrize("n, fraction, match", [
    (20, 0.99, r"validation_fraction=0.99 of 20 rows holds out 20 .* trains on 0"),
    (4, 0.1, r"validation_fraction=0.1 of 4 rows holds out 1 .* at least 2"),
])
def test_the_early_stopping_split_is_sized_before_training(n, fraction, match):
    X = np.random.RandomState(0).normal(size=(n, 2))
    with pytest.raises(ValueError, match=match):
        TransformerClassifier(**{**TINY, "early_stopping": True, "validation_fraction": fraction}).fit(X, np.arange(n) % 2)


def test_early_stopping_needs_two_rows_of_each_class():
    X = np.random.RandomState(0).normal(size=(11, 2))
    y = np.r_[np.zeros(10, int), 1]
    with pytest.raises(ValueError, match="class 1 has 1 row"):
        TransformerClassifier(**{**TINY, "early_stopping": True}).fit(X, y)


@pytest.mark.parametrize("y", [
    np.eye(3, dtype=int)[np.arange(30) % 3],                       # multi-label indicator
    np.c_[np.arange(30) % 3, np.arange(30) % 2],                   # multiclass-multioutput
])
def test_multi_label_y_names_the_wrappers(y):
    X = np.random.RandomState(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match="MultiOutputClassifier"):
        TransformerClassifier(**TINY).fit(X, y)


def test_tags_say_what_is_accepted():
    from sklearn.utils import get_tags

    from sktransformer import AttentionAutoencoder, TransformerEmbedder

    for est in (TransformerClassifier(), TransformerRegressor(), AttentionAutoencoder()):
        tags = get_tags(est).input_tags
        assert tags.string and tags.categorical and tags.three_d_array and tags.two_d_array
        assert tags.allow_nan  # in tables: a missing value is a token of its own
    tags = get_tags(TransformerEmbedder()).input_tags
    assert tags.string and not (tags.two_d_array or tags.three_d_array or tags.categorical)


# ---------------------------------------------------------------------- the battery (tests/battery.py)
import battery  # noqa: E402  (tests/ is on sys.path: pytest's rootdir-relative import of test modules)

_CACHE = {}


@pytest.mark.parametrize("case", battery.cases(), ids=lambda case: case[0])
def test_battery_case_is_clear(case):
    case_id, call, error, pattern = case
    kind, message = battery.classify(call, error, pattern, _CACHE)
    assert kind == "clear", f"{case_id} is {kind}: {message}"
