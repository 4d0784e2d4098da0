"""joblib round trips in a fresh Python process, and a model saved for CUDA loading on the CPU."""

import os
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest

from sktransformer import TransformerClassifier, TransformerRegressor

TINY = dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=16, max_epochs=2, random_state=0)


def _inputs(mode):
    rng = np.random.RandomState(0)
    y = np.arange(30) % 2
    if mode == "text":
        from sktransformer.datasets import make_reviews

        return make_reviews(30, random_state=0)[0], y
    if mode == "sequence":
        return [rng.normal(size=(3 + i % 4, 2)) for i in range(30)], y
    return rng.normal(size=(30, 4)), y


def _predict_in_fresh_process(path, X_path, env=None):
    code = textwrap.dedent(f"""
        import joblib, numpy as np, pickle
        model = joblib.load({str(path)!r})
        with open({str(X_path)!r}, "rb") as f:
            X = pickle.load(f)
        out = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
        np.save({str(path) + ".npy"!r}, out)
        print(model.net_.device)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, timeout=300)
    assert run.returncode == 0, run.stderr
    return np.load(str(path) + ".npy"), run.stdout.strip()


@pytest.mark.parametrize("mode", ["text", "tabular", "sequence"])
@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
def test_joblib_round_trip_in_new_process(tmp_path, mode, Estimator):
    import pickle

    X, y = _inputs(mode)
    model = Estimator(**TINY).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    with open(tmp_path / "X.pkl", "wb") as f:
        pickle.dump(X, f)
    out, _ = _predict_in_fresh_process(path, tmp_path / "X.pkl")
    expected = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
    np.testing.assert_array_equal(out, expected)


def test_model_saved_for_cuda_loads_on_cpu(tmp_path):
    """A net whose device is CUDA unpickles onto the CPU where no GPU exists (skorch maps it)."""
    import pickle

    X, y = _inputs("tabular")
    model = TransformerClassifier(**TINY).fit(X, y)
    expected = model.predict_proba(X)
    model.net_.device = "cuda"  # what a model trained with device="cuda" carries
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    with open(tmp_path / "X.pkl", "wb") as f:
        pickle.dump(X, f)
    # CUDA_VISIBLE_DEVICES="" hides any GPU, as on a CPU-only machine
    out, device = _predict_in_fresh_process(path, tmp_path / "X.pkl", env={"CUDA_VISIBLE_DEVICES": ""})
    assert device == "cpu"
    np.testing.assert_array_equal(out, expected)


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_trained_on_cuda_predicts_on_cpu(tmp_path):
    import pickle

    X, y = _inputs("text")
    model = TransformerClassifier(device="cuda", **TINY).fit(X, y)
    assert next(model.net_.module_.parameters()).is_cuda
    expected = model.predict_proba(X)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    with open(tmp_path / "X.pkl", "wb") as f:
        pickle.dump(X, f)
    out, device = _predict_in_fresh_process(path, tmp_path / "X.pkl", env={"CUDA_VISIBLE_DEVICES": ""})
    assert device == "cpu"
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_pickles_hold_the_weights_once_and_no_optimizer_state():
    """joblib files hold what predicting and training on need: the weights once (not also in the
    optimizer's moments, the module argument or the learning-rate scheduler)."""
    import pickle

    X, y = _inputs("text")
    model = TransformerClassifier(**{**TINY, "d_model": 64}, warm_start=True).fit(X, y)
    assert len(model.net_.optimizer_.state)  # Adam's moments exist in the fitted model
    weights = sum(p.numel() * p.element_size() for p in model.net_.module_.parameters())
    data = pickle.dumps(model)
    assert len(data) < 1.2 * weights + 100_000
    loaded = pickle.loads(data)
    assert not loaded.net_.optimizer_.state
    assert loaded.net_.module is loaded.net_.module_
    params = {id(p) for p in loaded.net_.module_.parameters()}
    assert all(id(p) in params for group in loaded.net_.optimizer_.param_groups for p in group["params"])
    assert len(model.net_.optimizer_.state)  # pickling left the fitted model as it was
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    loaded.fit(X, y)  # warm_start trains on, with fresh moments
    assert len(loaded.history_) == len(model.history_) + 2
