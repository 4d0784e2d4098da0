"""Dask: searches on a real LocalCluster give the results of n_jobs=1, a killed worker is retried,
the embedding cache is shared by the workers, models come home clean, and predictions run over
Dask collections (natively and through dask-ml's ParallelPostFit)."""

import os
import pickle
import pickletools
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY

distributed = pytest.importorskip("distributed", reason="needs the dask extra: pip install 'sktransformer[dask]'")
import dask.array as da  # noqa: E402
import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import joblib  # noqa: E402
from sklearn.linear_model import LogisticRegression, RidgeClassifier  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_validate  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

import sktransformer  # noqa: E402
from sktransformer import (  # noqa: E402
    AttentionAutoencoder, TransformerClassifier, TransformerEmbedder, TransformerRegressor,
)
from sktransformer.datasets import make_reviews  # noqa: E402

FAST = {**TINY, "max_epochs": 2}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, worker_dashboard_address=None)
    client = distributed.Client(cluster)
    client.run(torch.set_num_threads, 1)  # as the tests' own process below: the same float sums
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _table(n=60):
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "city": rng.choice(["x", "y", "z"], n)})
    return X, (X["a"] + (X["city"] == "x") > 0.3).to_numpy().astype(int)


def _texts(n=60):
    return make_reviews(n, random_state=0)


def _on_cluster(fn):
    with joblib.parallel_backend("dask"):
        return fn()


SEARCHES = {
    "classifier-table": lambda: (GridSearchCV(TransformerClassifier(**FAST), {"lr": [1e-3, 1e-2]}, cv=3), _table()),
    "classifier-text": lambda: (GridSearchCV(TransformerClassifier(**FAST), {"pooling": ["mean", "cls"]}, cv=3),
                                _texts()),
    "regressor-table": lambda: (GridSearchCV(TransformerRegressor(**FAST), {"lr": [1e-3, 1e-2]}, cv=3),
                                (_table()[0], _table()[0]["b"].to_numpy() * 2.0)),
    "regressor-text": lambda: (GridSearchCV(TransformerRegressor(**FAST), {"pooling": ["mean", "max"]}, cv=3),
                               (_texts()[0], _texts()[1] * 3.0)),
    "embedder-text": lambda: (GridSearchCV(
        Pipeline([("emb", TransformerEmbedder(None, cache=False, **FAST)), ("clf", LogisticRegression())]),
        {"clf__C": [0.1, 10.0]}, cv=3), _texts()),
}


@pytest.mark.parametrize("name", list(SEARCHES))
def test_grid_search_on_a_cluster_matches_n_jobs_1(client, one_thread, name):
    search, (X, y) = SEARCHES[name]()
    local = search.fit(X, y)
    local_results = {k: v for k, v in local.cv_results_.items() if "time" not in k}
    best = local.best_params_
    remote = _on_cluster(lambda: SEARCHES[name]()[0].fit(X, y))
    assert remote.best_params_ == best
    for key, value in local_results.items():
        if key.endswith("score"):
            np.testing.assert_array_equal(remote.cv_results_[key], value, err_msg=key)
    assert remote.cv_results_["params"] == local_results["params"]


@pytest.mark.parametrize("mode", ["table", "text"])
def test_cross_validate_an_autoencoder_on_a_cluster(client, one_thread, mode):
    is_outlier = (np.arange(80) < 8).astype(int)  # eight rows far out
    if mode == "table":
        X, _ = _table(80)
        X.loc[:7, "a"] = 8.0
    else:
        X = ["zq xv " * 6] * 8 + _texts(72)[0]
    cv = KFold(3, shuffle=True, random_state=0)
    model = AttentionAutoencoder(**FAST)
    local = cross_validate(model, X, is_outlier, scoring="roc_auc", cv=cv)
    remote = _on_cluster(lambda: cross_validate(model, X, is_outlier, scoring="roc_auc", cv=cv))
    np.testing.assert_array_equal(remote["test_score"], local["test_score"])


def test_a_worker_killed_during_a_search_is_retried(client, one_thread):
    X, y = _texts(120)
    grid = {"lr": [1e-3, 2e-3, 5e-3, 1e-2], "pooling": ["mean", "max"]}
    search = GridSearchCV(TransformerClassifier(**{**TINY, "max_epochs": 6}), grid, cv=3)
    expected = search.fit(X, y).cv_results_["mean_test_score"]
    pid = list(client.run(os.getpid).values())[0]
    started = time.perf_counter()
    killer = threading.Timer(2.0, os.kill, (pid, signal.SIGKILL))
    killer.start()
    try:
        remote = _on_cluster(lambda: GridSearchCV(TransformerClassifier(**{**TINY, "max_epochs": 6}), grid, cv=3).fit(X, y))
    finally:
        killer.cancel()
    assert time.perf_counter() - started > 2.0  # the worker died during the search
    with pytest.raises(OSError):
        os.kill(pid, 0)  # it is gone; its nanny started another
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"], expected)  # every fit, none lost
    client.wait_for_workers(2, timeout=60)


def test_the_embedding_cache_folder_encodes_each_text_once_across_workers(client, tiny_bert, tmp_path):
    X, y = _texts(100)
    X = X[:80] + X[:20]  # repeated texts too
    y = np.concatenate([y[:80], y[:20]])
    folder = tmp_path / "cache"
    pipe = Pipeline([("emb", TransformerEmbedder(tiny_bert, cache=str(folder))), ("head", LogisticRegression())])
    heads = [LogisticRegression(C=0.1), LogisticRegression(C=10.0), RidgeClassifier(), KNeighborsClassifier(3)]
    search = _on_cluster(lambda: GridSearchCV(pipe, {"head": heads}, cv=5).fit(X, y))
    assert len(search.cv_results_["mean_test_score"]) == 4
    # each shard file holds the vectors one encoding call computed: a text encoded twice would be in two
    (namespace,) = [p for p in folder.iterdir() if p.is_dir()]
    keys = [key.tobytes() for shard in namespace.glob("*.npz") for key in np.load(shard)["keys"]]
    assert len(keys) == len(set(X))
    assert len(set(keys)) == len(keys)
    # both workers took part
    assert len({w for w in client.run(lambda: os.getpid()).values()}) == 2


def _globals_in_pickle(obj):
    names = set()
    for opcode, arg, _ in pickletools.genops(pickle.dumps(obj)):
        if opcode.name in ("GLOBAL", "STACK_GLOBAL", "SHORT_BINUNICODE", "BINUNICODE") and isinstance(arg, str):
            names.add(arg.split(" ")[0])
    return names


def test_a_model_fitted_on_a_worker_comes_home_clean(client, one_thread, tmp_path):
    X, y = _texts()
    model = client.submit(TransformerClassifier(**FAST).fit, X, y).result()
    local = TransformerClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(model.predict_proba(X), local.predict_proba(X))
    assert not [name for name in _globals_in_pickle(model) if name.startswith(("dask", "distributed"))]
    loaded = sktransformer.load(model.save(tmp_path / "model.skt"))
    np.testing.assert_array_equal(loaded.predict_proba(X), local.predict_proba(X))


def test_predictions_over_dask_collections(client):
    from dask_ml.wrappers import ParallelPostFit

    X, y = _table(90)
    clf = TransformerClassifier(**FAST).fit(X, y)
    frame = dd.from_pandas(X, npartitions=3)
    out = clf.predict_proba(frame)
    assert isinstance(out, da.Array)
    np.testing.assert_allclose(out.compute(), clf.predict_proba(X), atol=1e-6)
    # partitions without rows, as after a filter
    late = dd.from_pandas(pd.Series(np.arange(90) >= 60), npartitions=3)
    np.testing.assert_array_equal(clf.predict(frame[late]).compute(), clf.predict(X.iloc[60:]))
    with pytest.raises(ValueError, match="X is empty"):
        clf.predict(frame[frame["a"] > 100])
    np.testing.assert_allclose(ParallelPostFit(clf).predict_proba(frame).compute(), clf.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(ParallelPostFit(clf).predict(frame).compute(), clf.predict(X))

    numbers = X[["a", "b"]].to_numpy()
    reg = TransformerRegressor(**FAST).fit(numbers, y * 1.0)
    np.testing.assert_allclose(ParallelPostFit(reg).predict(da.from_array(numbers, chunks=(30, 2))).compute(),
                               reg.predict(numbers), atol=1e-6)

    texts, _ = _texts(90)
    emb = TransformerEmbedder(None, cache=False, **FAST).fit(texts)
    expected = emb.transform(texts)
    for collection in (dd.from_pandas(pd.Series(texts), npartitions=3), db.from_sequence(texts, npartitions=4),
                       da.from_array(np.array(texts, dtype=object), chunks=40)):
        np.testing.assert_allclose(emb.transform(collection).compute(), expected, atol=1e-6)

    sequences = np.random.RandomState(0).normal(size=(90, 6, 2))
    ae = AttentionAutoencoder(**FAST).fit(sequences)
    np.testing.assert_allclose(ae.score_samples(da.from_array(sequences, chunks=(30, 6, 2))).compute(),
                               ae.score_samples(sequences), rtol=1e-5)
    np.testing.assert_array_equal(ae.predict(da.from_array(sequences, chunks=(45, 6, 2))).compute(),
                                  ae.predict(sequences))


def test_fit_on_a_dask_collection_says_what_to_do():
    X, y = _table(30)
    with pytest.raises(TypeError, match=r"X is a Dask collection .*\.compute\(\)"):
        TransformerClassifier(**FAST).fit(dd.from_pandas(X, npartitions=2), y)


def test_each_dask_worker_takes_its_own_gpu(monkeypatch):
    from types import SimpleNamespace

    from sktransformer._net import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert resolve_device("auto") == "cuda"  # not in a worker
    for name, expected in [(0, "cuda:0"), (3, "cuda:3"), (6, "cuda:2"), ("7", "cuda:3")]:
        monkeypatch.setattr(distributed, "get_worker", lambda name=name: SimpleNamespace(name=name, address="x"))
        assert resolve_device("auto") == expected
    assert resolve_device("cuda") == "cuda"  # a device the user names is kept
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # dask-cuda: one visible GPU per worker
    assert resolve_device("auto") == "cuda"
