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


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf_in_table(bad):
    X = np.ones((6, 2))
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        TransformerClassifier(**TINY).fit(X, [0, 1] * 3)
    frame = pd.DataFrame({"a": X[:, 1], "b": list("xyzxyz")})
    with pytest.raises(ValueError, match=r"NaN or infinity in numeric columns \['a'\]"):
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
