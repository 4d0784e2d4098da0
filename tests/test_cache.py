"""The embedding cache: each distinct text runs through the model once, across clones and processes."""

import os
import shutil

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from sktransformer import TransformerEmbedder, _cache

HEADS = [LogisticRegression(), RidgeClassifier(), GaussianNB(), KNeighborsClassifier(3)]


@pytest.fixture
def count_encoded(monkeypatch):
    """Count the texts that go through the model (in this process)."""
    _cache.clear()
    seen = []
    original = TransformerEmbedder._embed

    def counting(self, texts):
        seen.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(TransformerEmbedder, "_embed", counting)
    yield lambda: sum(seen)
    _cache.clear()


def _grid(backbone, cache=True, n_jobs=None):
    pipe = Pipeline([("emb", TransformerEmbedder(backbone, cache=cache)), ("clf", LogisticRegression())])
    return GridSearchCV(pipe, {"clf": HEADS}, cv=5, n_jobs=n_jobs)


def test_grid_search_encodes_each_text_once(tiny_bert, text_data, count_encoded):
    X, y = list(text_data[0]), text_data[1]
    grid = _grid(tiny_bert).fit(X, y)
    assert count_encoded() == len(set(X))  # 4 heads x 5 folds + refit, one forward per distinct text
    assert grid.best_score_ > 0


def test_grid_search_without_cache_runs_the_model_each_time(tiny_bert, text_data, count_encoded):
    X, y = list(text_data[0][:100]), text_data[1][:100]
    _grid(tiny_bert, cache=False).fit(X, y)
    assert count_encoded() > 20 * len(set(X))


def test_cached_vectors_equal_fresh_ones(tiny_bert, text_data, count_encoded):
    X = list(text_data[0][:30])
    fresh = TransformerEmbedder(tiny_bert, cache=False).fit(X).transform(X)
    emb = TransformerEmbedder(tiny_bert).fit(X)
    first, second = emb.transform(X), emb.transform(X[::-1])[::-1]
    np.testing.assert_array_equal(first, fresh)
    np.testing.assert_array_equal(second, fresh)
    assert count_encoded() == 2 * len(set(X))  # the cache=False run, then the first cached run


def test_changed_setting_or_model_is_never_stale(tiny_bert, text_data, tmp_path, count_encoded):
    from conftest import build_tiny_bert

    X = list(text_data[0][:20])
    mean = TransformerEmbedder(tiny_bert).fit(X).transform(X)
    emb = TransformerEmbedder(tiny_bert, pooling="max").fit(X)
    assert not np.allclose(emb.transform(X), mean)
    emb.set_params(pooling="mean")  # not refitted: the fitted model still max-pools
    np.testing.assert_array_equal(emb.transform(X), TransformerEmbedder(tiny_bert, pooling="max",
                                                                        cache=False).fit(X).transform(X))
    with pytest.warns(UserWarning, match="truncated"):
        assert not np.allclose(TransformerEmbedder(tiny_bert, max_length=4).fit(X).transform(X), mean)
    # same folder, new weights: the fingerprint changes, so do the vectors
    folder = str(tmp_path / "model")
    shutil.copytree(tiny_bert, folder)
    a = TransformerEmbedder(folder).fit(X).transform(X)
    build_tiny_bert(folder, X, seed=1)
    b = TransformerEmbedder(folder).fit(X).transform(X)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(b, TransformerEmbedder(folder, cache=False).fit(X).transform(X))


def test_folder_cache_is_shared_by_processes(tiny_bert, text_data, tmp_path):
    """With cache=<folder> and n_jobs=2 every distinct text is encoded once in all processes."""
    _cache.clear()
    X, y = list(text_data[0][:150]), text_data[1][:150]
    folder = tmp_path / "emb-cache"
    grid = _grid(tiny_bert, cache=str(folder), n_jobs=2).fit(X, y)
    (ns,) = [d for d in os.listdir(folder)]
    keys = []
    for name in os.listdir(folder / ns):
        if name.endswith(".npz"):
            with np.load(folder / ns / name) as shard:
                keys += [k.tobytes() for k in shard["keys"]]
    assert len(keys) == len(set(keys)) == len(set(X))  # written once each, by whichever process
    # a new process-level store reads them back instead of running the model
    _cache.clear()
    emb = grid.best_estimator_.named_steps["emb"]
    calls = []
    emb._embed = lambda texts: calls.append(1)
    assert emb.transform(X).shape == (150, 32) and not calls
    _cache.clear()


def test_shared_backbone_is_hashed_once_per_process(tiny_bert, text_data, monkeypatch):
    """Refitting clones in a grid search does not re-hash the read-only pretrained weights."""
    X = list(text_data[0][:10])
    first = TransformerEmbedder(tiny_bert, pooling="cls").fit(X)  # loads (and hashes) the backbone
    calls = []
    real = _cache.fingerprint_module
    monkeypatch.setattr(_cache, "fingerprint_module", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = [TransformerEmbedder(tiny_bert, pooling=p).fit(X) for p in ("cls", "mean")]
    assert calls == []
    assert {e.fingerprint_ for e in again} == {first.fingerprint_}


# ---------------------------------------------------------------- the folder lock, without a model
_WORKER = r"""
import importlib.util, json, os, sys, time
import numpy as np

path, folder, ns, first, count, go, result = sys.argv[1:]
spec = importlib.util.spec_from_file_location("cache_under_test", path)  # numpy + filelock only
cache = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cache)
texts = [f"text {i}" for i in range(int(first), int(first) + int(count))] * 2  # repeats inside a call
computed = []

def compute(batch):
    computed.extend(batch)
    time.sleep(0.3)  # long enough for the other processes to reach the lock meanwhile
    return np.array([[float(t.split()[1]), len(t)] for t in batch])

while not os.path.exists(go):
    time.sleep(0.005)
out = np.empty((len(texts), 2))
n = cache.EmbeddingCache(ns, folder).get_or_compute(texts, compute, out)
with open(result, "w") as f:
    json.dump({"returned": n, "computed": computed, "out": out.tolist()}, f)
"""


def _shard_keys(directory):
    keys = []
    for name in os.listdir(directory):
        if name.endswith(".npz"):
            with np.load(os.path.join(directory, name)) as shard:
                keys += [k.tobytes() for k in shard["keys"]]
    return keys


def test_concurrent_writers_compute_each_text_once(tmp_path):
    """Processes that start together on overlapping texts: each distinct text is computed once."""
    import json
    import subprocess
    import sys
    import time

    script, go, folder, ns = tmp_path / "worker.py", tmp_path / "go", tmp_path / "cache", "ns0"
    script.write_text(_WORKER)
    starts = [0, 10, 20, 30]  # 40 texts each out of "text 0" .. "text 69"
    procs = [subprocess.Popen([sys.executable, str(script), _cache.__file__, str(folder), ns, str(s), "40",
                               str(go), str(tmp_path / f"result{s}.json")]) for s in starts]
    time.sleep(0.5)
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0] * len(procs)
    results = [json.loads((tmp_path / f"result{s}.json").read_text()) for s in starts]
    computed = [t for r in results for t in r["computed"]]
    assert len(computed) == len(set(computed)) == 70  # no text computed twice, in any process
    assert sum(r["returned"] for r in results) == 70
    assert sum(r["returned"] > 0 for r in results) >= 2  # the later processes computed only what was left
    for s, r in zip(starts, results):
        texts = [f"text {i}" for i in range(s, s + 40)] * 2
        np.testing.assert_array_equal(r["out"], [[float(t.split()[1]), len(t)] for t in texts])
    keys = _shard_keys(folder / ns)
    assert len(keys) == len(set(keys)) == 70  # each vector written once
    assert set(keys) == set(_cache.text_keys([f"text {i}" for i in range(70)]))
    assert (folder / ns / ".lock").exists()


def test_compute_runs_under_the_folder_lock(tmp_path):
    from filelock import FileLock, Timeout

    _cache.clear()
    lock_path = tmp_path / "ns1" / ".lock"
    held = []

    def compute(batch):
        with pytest.raises(Timeout):  # another lock on the same file cannot be taken meanwhile
            FileLock(lock_path, timeout=0).acquire()
        held.append(len(batch))
        return np.ones((len(batch), 3))

    out = np.zeros((4, 3))
    assert _cache.EmbeddingCache("ns1", tmp_path).get_or_compute(["a", "b", "a", "c"], compute, out) == 3
    assert held == [3] and np.all(out == 1)
    with FileLock(lock_path, timeout=0):  # released afterwards
        pass
    _cache.clear()  # a fresh process-level store reads the folder instead of computing
    out = np.zeros((2, 3))
    assert _cache.EmbeddingCache("ns1", tmp_path).get_or_compute(["c", "b"], compute, out) == 0
    assert held == [3] and np.all(out == 1)
    _cache.clear()
