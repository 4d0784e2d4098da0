"""accelerator=: training through Hugging Face accelerate (skorch's AccelerateMixin), tested in
accelerate's single-process mode on the CPU; the fitted estimator comes back as a plain one."""

import os
import pickle
import pickletools
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import torch
from conftest import TINY

pytest.importorskip("accelerate", reason="needs the accelerate extra: pip install 'sktransformer[accelerate]'")

import sktransformer  # noqa: E402
from sktransformer import (  # noqa: E402
    AttentionAutoencoder, TransformerClassifier, TransformerEmbedder, TransformerRegressor,
)
from sktransformer.datasets import make_reviews  # noqa: E402

FAST = {**TINY, "max_epochs": 3}


def _modules_in_pickle(obj):
    return {arg.split(" ")[0].split(".")[0] for op, arg, _ in pickletools.genops(pickle.dumps(obj))
            if op.name in ("GLOBAL", "SHORT_BINUNICODE", "BINUNICODE") and isinstance(arg, str)}


def test_an_accelerated_fit_is_the_plain_fit_and_comes_back_plain(tmp_path):
    X, y = make_reviews(100, random_state=0)
    plain = TransformerClassifier(**FAST).fit(X, y)
    model = TransformerClassifier(**FAST, accelerator={}, warm_start=True).fit(X, y)
    again = TransformerClassifier(**FAST, accelerator={}).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), again.predict_proba(X))  # same seed, same model
    np.testing.assert_allclose(model.predict_proba(X), plain.predict_proba(X), atol=1e-5)  # same training
    assert type(model.net_) is type(plain.net_) and not hasattr(model.net_, "accelerator")
    assert "accelerate" not in _modules_in_pickle(model)
    joblib.dump(model, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict_proba(X), model.predict_proba(X))
    loaded = sktransformer.load(model.save(tmp_path / "model.skt"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    model.fit(X, y)  # warm_start: more epochs, now without accelerate
    assert len(model.history_) == 2 * FAST["max_epochs"]


@pytest.mark.parametrize("Estimator", [TransformerRegressor, AttentionAutoencoder, TransformerEmbedder])
def test_every_estimator_trains_through_accelerate(Estimator):
    X, y = make_reviews(60, random_state=0)
    kwargs = {"backbone": None} if Estimator is TransformerEmbedder else {}
    model = Estimator(**FAST, **kwargs, accelerator={})
    model.fit(X, y * 1.0) if Estimator is TransformerRegressor else model.fit(X)
    plain = Estimator(**FAST, **kwargs)
    plain.fit(X, y * 1.0) if Estimator is TransformerRegressor else plain.fit(X)
    method = {"TransformerRegressor": "predict", "AttentionAutoencoder": "score_samples"}.get(Estimator.__name__, "transform")
    np.testing.assert_allclose(getattr(model, method)(X), getattr(plain, method)(X), atol=1e-4, rtol=1e-4)
    assert len(model.history_) == FAST["max_epochs"]


def test_bf16_autocast_in_a_fresh_process(tmp_path):
    """accelerate keeps one mixed-precision setting per process: bf16 gets a process of its own."""
    code = textwrap.dedent("""
        import numpy as np, torch
        from sktransformer import TransformerClassifier
        from sktransformer.datasets import make_reviews
        X, y = make_reviews(200, random_state=0)
        kwargs = dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, max_epochs=4, random_state=0)
        bf16 = TransformerClassifier(**kwargs, accelerator={"mixed_precision": "bf16"}).fit(X, y)
        fp32 = TransformerClassifier(**kwargs).fit(X, y)
        assert all(p.dtype == torch.float32 for p in bf16.net_.module_.parameters())
        print(bf16.score(X, y), fp32.score(X, y), float(np.abs(bf16.predict_proba(X) - fp32.predict_proba(X)).max()))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    bf16, fp32, gap = map(float, run.stdout.split())
    assert 0 < gap < 0.2  # bf16 rounding moved the outputs a little, no more
    assert bf16 >= fp32 - 0.05


def test_accelerator_errors_name_the_parameter():
    X, y = make_reviews(30, random_state=0)
    with pytest.raises(ValueError, match=r"device='cpu' and accelerator=\{\} both choose the device"):
        TransformerClassifier(**FAST, device="cpu", accelerator={}).fit(X, y)
    with pytest.raises(TypeError, match=r"accelerator=\{'bogus': 1\} is not a set of accelerate.Accelerator arguments"):
        TransformerClassifier(**FAST, accelerator={"bogus": 1}).fit(X, y)
    with pytest.raises(ValueError, match="accelerator"):
        TransformerClassifier(**FAST, accelerator="yes").fit(X, y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_accelerated_fit_on_a_gpu():
    X, y = make_reviews(200, random_state=0)
    model = TransformerClassifier(**FAST, accelerator={}).fit(X, y)
    assert model.net_.device.startswith("cuda")
    assert next(model.net_.module_.parameters()).is_cuda
    assert model.score(X, y) > 0.6
