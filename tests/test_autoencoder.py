"""AttentionAutoencoder: outlier API, input modes, explanations, persistence and bad input."""

import os
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sktransformer import AttentionAutoencoder
from sktransformer.inspection import anomaly_contributions, plot_anomaly_contributions

TINY = dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, max_epochs=40, random_state=0)


def _correlated_table(n=200, seed=0):
    """Three columns that move together, one independent column; row 0 breaks the pattern."""
    rng = np.random.RandomState(seed)
    z = rng.normal(size=(n, 1))
    X = np.hstack([z, 2 * z, -z, rng.normal(size=(n, 1))]) + 0.05 * rng.normal(size=(n, 4))
    X[0, :3] = [1.5, -3.0, 1.5]  # every value is ordinary on its own, together they are not
    return X


@pytest.fixture(scope="module")
def table_model():
    X = _correlated_table()
    return AttentionAutoencoder(contamination=0.05, **TINY).fit(X), X


def test_clear_outlier_scores_below_inliers(table_model):
    ae, X = table_model
    scores = ae.score_samples(X)
    assert scores.shape == (len(X),) and scores.dtype == np.float64
    assert np.argmin(scores) == 0
    assert scores[0] < np.percentile(scores[1:], 1)
    assert ae.predict(X[:1])[0] == -1


def test_decision_function_and_predict(table_model):
    ae, X = table_model
    np.testing.assert_allclose(ae.decision_function(X), ae.score_samples(X) - ae.offset_)
    labels = ae.predict(X)
    assert set(np.unique(labels)) == {-1, 1}
    np.testing.assert_array_equal(labels == -1, ae.decision_function(X) < 0)


@pytest.mark.parametrize("contamination", [0.02, 0.1, 0.25])
def test_predict_marks_contamination_share(contamination):
    X = _correlated_table(seed=1)
    ae = AttentionAutoencoder(contamination=contamination, **{**TINY, "max_epochs": 5}).fit(X)
    share = np.mean(ae.predict(X) == -1)
    assert abs(share - contamination) <= 1.0 / len(X)
    np.testing.assert_array_equal(ae.fit_predict(X), ae.predict(X))


def test_auto_contamination_flags_few(table_model):
    ae, X = table_model
    auto = clone(ae).set_params(contamination="auto").fit(X)
    share = np.mean(auto.predict(X) == -1)
    assert 0 < share < 0.2
    assert auto.predict(X[:1])[0] == -1


def test_scores_reproducible_with_random_state():
    X = _correlated_table()
    a = AttentionAutoencoder(**{**TINY, "max_epochs": 5}).fit(X).score_samples(X)
    b = AttentionAutoencoder(**{**TINY, "max_epochs": 5}).fit(X).score_samples(X)
    c = AttentionAutoencoder(**{**TINY, "max_epochs": 5, "random_state": 1}).fit(X).score_samples(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_scores_do_not_depend_on_chunking(table_model, monkeypatch):
    import sktransformer._base as mod

    ae, X = table_model
    full = ae.score_samples(X)
    monkeypatch.setattr(mod, "CHUNK_SIZE", 7)
    np.testing.assert_allclose(ae.score_samples(X), full, rtol=1e-6)


def test_max_epochs_auto_scales_with_rows():
    from sktransformer._base import training_budget

    assert training_budget("autoencoder", "tabular", 100, 256)[0] == 300  # one step an epoch
    assert training_budget("autoencoder", "tabular", 256 * 300, 256)[0] == 2  # at least two passes
    assert training_budget("autoencoder", "text", 2560, 256)[0] == 30  # ~300 steps, any input
    X = _correlated_table(n=60)
    ae = AttentionAutoencoder(**{**TINY, "max_epochs": "auto", "batch_size": 30}).fit(X)
    assert len(ae.history_) == 150


def test_transform_gives_latent_codes(table_model):
    ae, X = table_model
    Z = ae.transform(X)
    assert Z.shape == (len(X), 16) and Z.dtype == np.float64
    assert list(ae.get_feature_names_out()) == [f"attentionautoencoder{i}" for i in range(16)]
    np.testing.assert_allclose(clone(ae).fit_transform(X), Z, rtol=1e-6)


def test_reconstruct_and_errors(table_model):
    ae, X = table_model
    rec = ae.reconstruct(X)
    assert rec.shape == X.shape
    inliers = slice(1, None)
    # the correlated columns are rebuilt from each other; the independent column is not
    corr = [np.corrcoef(rec[inliers, j], X[inliers, j])[0, 1] for j in range(4)]
    assert min(corr[:3]) > 0.9, corr
    errors = ae.reconstruction_errors(X)
    assert errors.shape == X.shape
    assert np.argmax(errors[0]) in (0, 1, 2) and errors[0, 3] < errors[0, :3].max()
    # the same seed trains the same net: only the score differs, and then it is the mean error
    recon = clone(ae).set_params(anomaly_score="reconstruction").fit(X)
    np.testing.assert_allclose(recon.reconstruction_errors(X), errors, rtol=1e-6)
    np.testing.assert_allclose(errors.mean(axis=1), -recon.score_samples(X), rtol=1e-6)
    assert not np.allclose(ae.score_samples(X), recon.score_samples(X))


def test_dataframe_with_categorical_columns():
    rng = np.random.RandomState(0)
    n = 200
    city = rng.choice(["Paris", "Rome"], n)
    temp = np.where(city == "Paris", 12.0, 25.0) + rng.normal(size=n)
    frame = pd.DataFrame({"city": city, "temp": temp, "noise": rng.normal(size=n)})
    frame.loc[0, ["city", "temp"]] = ["Paris", 25.0]  # a Roman temperature in Paris
    ae = AttentionAutoencoder(**TINY).fit(frame)
    scores = ae.score_samples(frame)
    assert scores[0] < np.percentile(scores[1:], 2)
    rec = ae.reconstruct(frame)
    assert list(rec.columns) == ["city", "temp", "noise"]
    assert (rec["city"].iloc[1:] == frame["city"].iloc[1:]).mean() > 0.9
    contrib, names = anomaly_contributions(ae, frame.iloc[:1])
    assert list(names) == ["city", "temp", "noise"]
    assert names[np.argmin(contrib[0])] == "noise"


def test_sequences_per_step_errors():
    rng = np.random.RandomState(0)
    n, T = 120, 16
    t = np.linspace(0, 2 * np.pi, T)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    X = (np.sin(t + phase) + 0.05 * rng.normal(size=(n, T)))[:, :, None]
    X[0, 9, 0] += 3.0  # a spike at step 9
    ae = AttentionAutoencoder(**{**TINY, "max_epochs": 60}).fit(X)
    scores = ae.score_samples(X)
    assert np.argmin(scores) == 0
    errors = ae.reconstruction_errors(X)
    assert errors.shape == (n, T) and np.argmax(errors[0]) == 9
    rec = ae.reconstruct(X)
    assert rec.shape == X.shape
    contrib, names = anomaly_contributions(ae, X[:1])
    assert names[np.argmax(contrib[0])] == "step_9"
    # ragged sequences: padding is NaN and does not count in the score
    ragged = [X[i, : 10 + i % 6] for i in range(6)]
    errors = ae.reconstruction_errors(ragged)
    assert errors.shape == (6, 15) and np.isnan(errors[0, 10:]).all()
    contrib, _ = anomaly_contributions(ae, ragged)
    assert np.isnan(contrib[0, 10:]).all()
    np.testing.assert_allclose(np.nansum(contrib, axis=1), -ae.score_samples(ragged), rtol=1e-6)
    recon = clone(ae).set_params(anomaly_score="reconstruction").fit(X)
    np.testing.assert_allclose(np.nanmean(recon.reconstruction_errors(ragged), axis=1), -recon.score_samples(ragged))


@pytest.mark.parametrize("anomaly_score", ["density", "reconstruction"])
def test_text_mean_token_loss(anomaly_score):
    from sktransformer.datasets import make_reviews

    texts, _ = make_reviews(200, random_state=0)
    ae = AttentionAutoencoder(anomaly_score=anomaly_score, **{**TINY, "max_epochs": 10, "vocab_size": 200}).fit(texts)
    odd = ["zq xj vk wp zq xj", texts[0]]
    scores = ae.score_samples(odd)
    assert scores[0] < scores[1]
    errors = ae.reconstruction_errors(odd)
    if anomaly_score == "reconstruction":  # the score is the mean token loss
        np.testing.assert_allclose(np.nanmean(errors, axis=1), -scores)
    contrib, names = anomaly_contributions(ae, odd)
    assert names[0] == "token_0" and np.all(np.isnan(contrib) == np.isnan(errors))
    np.testing.assert_allclose(np.nansum(contrib, axis=1), -scores, rtol=1e-6)
    tokens = ae.reconstruct(odd)
    assert len(tokens) == 2 and all(isinstance(tok, str) for tok in tokens[1])
    assert ae.transform(odd).shape == (2, 16)


@pytest.mark.parametrize("pooling", ["mean", "max"])
@pytest.mark.parametrize("anomaly_score", ["density", "reconstruction"])
def test_contributions_add_up_to_the_score(pooling, anomaly_score):
    X = _correlated_table()
    ae = AttentionAutoencoder(pooling=pooling, anomaly_score=anomaly_score, **{**TINY, "max_epochs": 10}).fit(X)
    contrib, names = anomaly_contributions(ae, X)
    assert contrib.shape == X.shape and list(names) == ["x0", "x1", "x2", "x3"]
    np.testing.assert_allclose(contrib.sum(axis=1), -ae.score_samples(X), rtol=1e-6, atol=1e-9)
    if anomaly_score == "reconstruction":
        assert (contrib >= 0).all()


@pytest.mark.parametrize("anomaly_score", ["density", "reconstruction"])
def test_contributions_point_at_the_broken_column(anomaly_score):
    rng = np.random.RandomState(0)
    z = rng.normal(size=(200, 1))
    X = np.hstack([z, z, z]) + 0.05 * rng.normal(size=(200, 3))
    ae = AttentionAutoencoder(anomaly_score=anomaly_score, **TINY).fit(X)
    broken = 4.0 * np.eye(3)  # row j: column j says 4, the other two say 0
    contrib, _ = anomaly_contributions(ae, broken)
    np.testing.assert_array_equal(np.argmax(contrib, axis=1), [0, 1, 2])
    assert (contrib >= 0).all()


def test_density_score_is_a_gaussian_on_code_and_error(table_model):
    ae, X = table_model
    C = ae.d_model
    mean, precision = ae.density_.location_, ae.density_.precision_
    assert mean.shape == (C + 1,) and precision.shape == (C + 1, C + 1)
    np.testing.assert_allclose(precision, precision.T, atol=1e-8)
    assert np.all(np.linalg.eigvalsh(precision) > 0)
    # rebuild the score from the public parts: the latent code and the mean reconstruction error
    v = np.column_stack([ae.transform(X), np.log(ae.reconstruction_errors(X).mean(axis=1))])
    # a first fit on all rows, then the mean of the rows within the calibrated chi-square cut
    first = v - v.mean(axis=0)
    cov = np.cov(first, rowvar=False)
    cov += 1e-3 * np.trace(cov) / len(cov) * np.eye(len(cov))
    dist = np.einsum("ij,jk,ik->i", first, np.linalg.inv(cov), first)
    keep = dist <= np.median(dist) * chi2.ppf(0.975, C + 1) / chi2.ppf(0.5, C + 1)
    assert 0.5 * len(X) < keep.sum() < len(X)
    np.testing.assert_allclose(v[keep].mean(axis=0), mean, rtol=1e-5, atol=1e-6)
    d = v - mean
    np.testing.assert_allclose(-np.einsum("ij,jk,ik->i", d, precision, d), ae.score_samples(X), rtol=1e-5)


def test_plot_anomaly_contributions(table_model, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ae, X = table_model
    ax = plot_anomaly_contributions(ae, X, row=0, top_k=3)
    assert len(ax.patches) == 3
    # the bars are the row's three largest contributions, as anomaly_contributions gives them for all rows
    contrib, _ = anomaly_contributions(ae, X)
    drawn = sorted(patch.get_width() for patch in ax.patches)
    np.testing.assert_allclose(drawn, np.sort(contrib[0])[-3:], rtol=1e-6)
    path = tmp_path / "contributions.png"
    ax.figure.savefig(path)
    plt.close(ax.figure)
    assert path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="row=500 is out of range"):
        plot_anomaly_contributions(ae, X[:3], row=500)
    with pytest.raises(TypeError, match="X must be an array"):
        plot_anomaly_contributions(ae, 5)


def test_plot_without_matplotlib_names_the_extra(table_model, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    ae, X = table_model
    with pytest.raises(ImportError, match=r"sktransformer\[plot\]"):
        plot_anomaly_contributions(ae, X)


def test_contributions_need_an_autoencoder(table_data):
    from sktransformer import TransformerClassifier

    X, y = table_data
    clf = TransformerClassifier(**{**TINY, "max_epochs": 1}).fit(X, y)
    with pytest.raises(TypeError, match="AttentionAutoencoder"):
        anomaly_contributions(clf, X)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_inf_rejected(table_model, bad):  # NaN is a missing value (tests/test_missing.py)
    ae, X = table_model
    X_bad = X[:5].copy()
    X_bad[2, 1] = bad
    with pytest.raises(ValueError, match="infinity"):
        AttentionAutoencoder(**TINY).fit(X_bad)
    with pytest.raises(ValueError, match="infinity"):
        ae.score_samples(X_bad)


def test_wrong_feature_count_and_empty(table_model):
    ae, _ = table_model
    with pytest.raises(ValueError, match="X has 3 features, but AttentionAutoencoder is expecting 4"):
        ae.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="0 sample"):
        AttentionAutoencoder(**TINY).fit(np.empty((0, 3)))
    with pytest.raises(ValueError, match="empty"):
        AttentionAutoencoder(**TINY).fit([])


@pytest.mark.parametrize("params, match", [
    ({"contamination": 0.7}, "'contamination' parameter"),
    ({"contamination": 0.0}, "'contamination' parameter"),
    ({"contamination": "high"}, "'contamination' parameter"),
    ({"mask_ratio": 1.0}, "'mask_ratio' parameter"),
    ({"max_epochs": "forever"}, "'max_epochs' parameter"),
    ({"pooling": "cls"}, "'pooling' parameter"),
    ({"anomaly_score": "distance"}, "'anomaly_score' parameter"),
])
def test_bad_hyperparameters(params, match):
    with pytest.raises(ValueError, match=match):
        AttentionAutoencoder(**{**TINY, **params}).fit(np.ones((6, 2)))


def _batch_lrs(est):
    return [b["event_lr"] for epoch in est.history_ for b in epoch["batches"] if "event_lr" in b]


def test_a_cosine_schedule_callback_decays_to_zero():
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import CosineAnnealingLR

    X = _correlated_table(n=120)
    cosine = LRScheduler(policy=CosineAnnealingLR, T_max=5 * 4, step_every="batch")
    ae = AttentionAutoencoder(**{**TINY, "max_epochs": 5, "batch_size": 32, "lr": 2e-3, "callbacks": [cosine]}).fit(X)
    lrs = _batch_lrs(ae)
    assert len(lrs) == 5 * 4  # one entry per gradient step
    assert lrs[0] == pytest.approx(2e-3)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))  # never rises
    assert lrs[-1] < 2e-3 * 0.01  # the last steps are small: the weights settle
    constant = AttentionAutoencoder(**{**TINY, "max_epochs": 5, "batch_size": 32}).fit(X)  # the default
    assert _batch_lrs(constant) == []  # no scheduler at all
    assert constant.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        AttentionAutoencoder().score_samples(np.ones((2, 2)))


# ---------------------------------------------------------------------- persistence
@pytest.mark.parametrize("mode", ["tabular", "sequence", "text"])
def test_joblib_round_trip_in_new_process(tmp_path, mode):
    import pickle

    rng = np.random.RandomState(0)
    if mode == "tabular":
        X = rng.normal(size=(40, 3))
    elif mode == "sequence":
        X = [rng.normal(size=(3 + i % 4, 2)) for i in range(30)]
    else:
        from sktransformer.datasets import make_reviews

        X = make_reviews(30, random_state=0)[0]
    ae = AttentionAutoencoder(**{**TINY, "max_epochs": 2, "vocab_size": 100}).fit(X)
    path, X_path = tmp_path / "ae.joblib", tmp_path / "X.pkl"
    joblib.dump(ae, path)
    with open(X_path, "wb") as f:
        pickle.dump(X, f)
    code = textwrap.dedent(f"""
        import joblib, pickle, numpy as np
        ae = joblib.load({str(path)!r})
        X = pickle.load(open({str(X_path)!r}, "rb"))
        np.save({str(tmp_path / "out.npy")!r}, np.stack([ae.score_samples(X), ae.predict(X)]))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ})
    assert run.returncode == 0, run.stderr
    out = np.load(tmp_path / "out.npy")
    np.testing.assert_array_equal(out[0], ae.score_samples(X))
    np.testing.assert_array_equal(out[1], ae.predict(X))
