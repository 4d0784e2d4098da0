"""TransformerEmbedder(fine_tune="contrastive"): tuning a pretrained backbone on a few labelled
texts per class, for the scikit-learn head that follows it."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import sktransformer
from sktransformer import TransformerEmbedder
from sktransformer.nn import PairwiseCosineLoss


def _few(text_data, per_class=8):
    X, y = text_data
    rows = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in np.unique(y)])
    return [X[i] for i in rows], y[rows]


def _separation(vectors, y):
    """Mean cosine of same-class pairs minus that of other-class pairs."""
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = v @ v.T
    same = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    return sim[same].mean() - sim[y[:, None] != y[None, :]].mean()


def test_pairwise_cosine_loss_weighs_both_kinds_of_pairs_alike():
    loss = PairwiseCosineLoss()
    v = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # same-class pairs perfect (cosine 1); the three other-class pairs have cosine 0: perfect too
    assert float(loss(v, torch.tensor([0, 0, 0, 1]))) == 0.0
    # every vector alike: same-class pairs perfect, other-class pairs off by 1 -> (0 + 1) / 2
    assert float(loss(torch.ones(4, 2), torch.tensor([0, 0, 0, 1]))) == pytest.approx(0.5)
    assert float(loss(torch.ones(1, 2), torch.tensor([0]))) == 0.0  # one row: no pair


def test_contrastive_tuning_pulls_classes_apart(tiny_bert, text_data):
    X, y = _few(text_data)
    frozen = TransformerEmbedder(tiny_bert, cache=False).fit(X)
    # a tiny random model: a larger step than the default for a pretrained one
    tuned = TransformerEmbedder(tiny_bert, fine_tune="contrastive", backbone_lr=1e-3, cache=False,
                                random_state=0).fit(X, y)
    assert _separation(tuned.transform(X), y) > _separation(frozen.transform(X), y) + 0.05
    assert tuned.fingerprint_ != frozen.fingerprint_
    again = TransformerEmbedder(tiny_bert, fine_tune="contrastive", backbone_lr=1e-3, cache=False,
                                random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.transform(X), tuned.transform(X))  # same seed, same model
    assert 1 <= len(tuned.history_) <= 40  # a few dozen steps, not a thousand


def test_contrastive_embedder_in_a_pipeline_and_a_search(tiny_bert, text_data, tmp_path):
    X, y = _few(text_data)
    pipe = Pipeline([("emb", TransformerEmbedder(tiny_bert, fine_tune="contrastive", cache=False, random_state=0,
                                                 max_epochs=5)),
                     ("clf", LogisticRegression())])
    search = GridSearchCV(pipe, {"clf__C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert search.best_estimator_.score(X, y) >= 0.5
    emb = search.best_estimator_.named_steps["emb"]
    loaded = sktransformer.load(emb.save(tmp_path / "emb.skt"))
    np.testing.assert_array_equal(loaded.transform(X), emb.transform(X))


def test_onnx_serves_the_tuned_model(tiny_bert, text_data):
    pytest.importorskip("onnxruntime")
    X, y = _few(text_data)
    tuned = TransformerEmbedder(tiny_bert, fine_tune="contrastive", cache=False, random_state=0, max_epochs=5).fit(X, y)
    onnx = tuned.set_params(backend="onnx").fit(X, y)  # the same seed: the same tuned weights
    torch_vectors = TransformerEmbedder(tiny_bert, fine_tune="contrastive", cache=False, random_state=0,
                                        max_epochs=5).fit(X, y).transform(X)
    cosine = np.sum(onnx.transform(X) * torch_vectors, axis=1)
    assert cosine.min() > 0.999


@pytest.mark.parametrize("y, message", [
    (np.zeros(6, dtype=int), "one class"),
    (np.array([0, 0, 0, 1, 1, 2]), r"class\(es\) \[2\] have a single text"),
    (np.linspace(0, 1, 6), "needs class labels"),
    (None, "needs class labels y"),
])
def test_contrastive_needs_pairs_of_each_class(tiny_bert, y, message):
    X = ["a good film", "a fine film", "great fun", "a bad film", "dull", "awful"]
    with pytest.raises(ValueError, match=message):
        TransformerEmbedder(tiny_bert, fine_tune="contrastive").fit(X, y)


def test_contrastive_needs_a_backbone():
    with pytest.raises(ValueError, match="tunes a pretrained backbone"):
        TransformerEmbedder(None, fine_tune="contrastive").fit(["a b", "c d"], [0, 1])
