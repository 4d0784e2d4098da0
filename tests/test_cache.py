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
    original = TransformerEmbedder._run_model

    def counting(self, batch):
        seen.append(len(batch["input_ids"]))
        return original(self, batch)

    monkeypatch.setattr(TransformerEmbedder, "_run_model", counting)
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
    emb._run_model = lambda batch: calls.append(1)
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
