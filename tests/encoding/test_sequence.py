import pickle

import numpy as np
import pytest

from sktransformer.encoding import SequenceEncoder


def ragged():
    rng = np.random.default_rng(0)
    return [rng.normal(loc=[1.0, -2.0], scale=[2.0, 0.5], size=(length, 2)) for length in (3, 5, 1, 4)]


def test_array_input_scaled_with_full_mask():
    rng = np.random.default_rng(1)
    X = rng.normal(loc=3.0, scale=2.0, size=(10, 6, 2))
    X_copy = X.copy()
    enc = SequenceEncoder().fit(X)
    out = enc.transform(X)
    assert (enc.n_features_, enc.max_steps_) == (2, 6)
    assert out["x_seq"].dtype == np.float32 and out["x_seq"].shape == (10, 6, 2)
    assert out["attention_mask"].dtype == np.bool_ and out["attention_mask"].all()
    flat = out["x_seq"].reshape(-1, 2)
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(flat.std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(X, X_copy)
    assert enc.n_truncated_ == 0


def test_ragged_list_padding_and_mask():
    X = ragged()
    enc = SequenceEncoder(scale=False).fit(X)
    out = enc.transform(X)
    assert out["x_seq"].shape == (4, 5, 2) and enc.max_steps_ == 5
    assert out["attention_mask"].sum(axis=1).tolist() == [3, 5, 1, 4]
    assert out["attention_mask"][0].tolist() == [True, True, True, False, False]
    assert (out["x_seq"][~out["attention_mask"]] == 0).all()
    for i, seq in enumerate(X):
        np.testing.assert_allclose(out["x_seq"][i, : len(seq)], seq, rtol=1e-6)
    # each call pads to its own longest sequence
    assert enc.transform(X[2:3])["x_seq"].shape == (1, 1, 2)


def test_scaling_uses_real_steps_only():
    X = ragged()
    real = np.concatenate(X)
    enc = SequenceEncoder().fit(X)
    np.testing.assert_allclose(enc.mean_, real.mean(axis=0))
    np.testing.assert_allclose(enc.scale_, real.std(axis=0))
    out = enc.transform(X)
    steps = out["x_seq"][out["attention_mask"]]  # (n real steps, F)
    np.testing.assert_allclose(steps.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(steps.std(axis=0), 1.0, atol=1e-5)
    assert (out["x_seq"][~out["attention_mask"]] == 0).all()  # padding stays 0 after scaling


def test_constant_feature_is_finite():
    X = np.ones((4, 3, 2))
    X[..., 1] = np.arange(3)
    out = SequenceEncoder().fit(X).transform(X)
    assert np.isfinite(out["x_seq"]).all()
    np.testing.assert_array_equal(out["x_seq"][..., 0], 0.0)


def test_truncation():
    X = ragged()
    enc = SequenceEncoder(max_length=3, scale=False).fit(X)
    assert enc.max_steps_ == 3
    out = enc.transform(X)
    assert out["x_seq"].shape == (4, 3, 2) and enc.n_truncated_ == 2
    assert out["attention_mask"].sum(axis=1).tolist() == [3, 3, 1, 3]
    np.testing.assert_allclose(out["x_seq"][1], X[1][:3], rtol=1e-6)  # first steps kept

    X3 = np.arange(2 * 5 * 2, dtype=float).reshape(2, 5, 2)
    out = enc.transform(X3)
    assert out["x_seq"].shape == (2, 3, 2) and enc.n_truncated_ == 2
    np.testing.assert_array_equal(out["x_seq"][0, :, 0], [0.0, 2.0, 4.0])
    enc.transform(X3[:, :3])
    assert enc.n_truncated_ == 0


def test_pickle_round_trip():
    X = ragged()
    enc = SequenceEncoder(max_length=4).fit(X)
    clone = pickle.loads(pickle.dumps(enc))
    a, b = enc.transform(X), clone.transform(X)
    np.testing.assert_array_equal(a["x_seq"], b["x_seq"])
    np.testing.assert_array_equal(a["attention_mask"], b["attention_mask"])


def test_bad_input():
    with pytest.raises(ValueError, match="3-D"):
        SequenceEncoder().fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="same number of features"):
        SequenceEncoder().fit([np.zeros((2, 2)), np.zeros((2, 3))])
    enc = SequenceEncoder().fit(np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="features"):
        enc.transform(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="max_length"):
        SequenceEncoder(max_length=0).fit(np.zeros((2, 3, 2)))
