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
from sktransformer._base import CONTRASTIVE_STEPS
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


# ---------------------------------------------------------------- TransformerClassifier(few_shot=...)
def _few_shot(tiny_bert, **params):
    from sktransformer import TransformerClassifier

    return TransformerClassifier(backbone=tiny_bert, backbone_lr=1e-3, random_state=0, **params)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_few_shot_classifier_is_the_tuned_vectors_and_a_logistic_regression(tiny_bert, text_data, n_classes):
    X, y = _few(text_data)
    labels = np.array(["neg", "pos", "mid"])[y]
    if n_classes == 3:  # a third class of its own texts
        labels[::3] = "mid"
    clf = _few_shot(tiny_bert).fit(X, labels)
    assert clf.few_shot_ and clf.classes_.tolist() == sorted(set(labels))
    assert len(clf.history_) == CONTRASTIVE_STEPS  # the contrastive budget (16 texts: one batch per step)
    # the same recipe spelled out: tuned vectors (same seed, same batches) and scikit-learn's regression
    pipe = Pipeline([("emb", TransformerEmbedder(tiny_bert, fine_tune="contrastive", backbone_lr=1e-3, batch_size=64,
                                                 cache=False, random_state=0)),
                     ("lr", LogisticRegression(max_iter=1000))]).fit(X, labels)
    np.testing.assert_allclose(clf.predict_proba(X), pipe.predict_proba(X), atol=1e-4)
    np.testing.assert_array_equal(clf.predict(X), pipe.predict(X))
    again = _few_shot(tiny_bert).fit(X, labels)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))  # same seed, same model


def test_few_shot_auto_follows_the_labels_per_class(tiny_bert, text_data):
    X, y = text_data
    few_X, few_y = _few(text_data)
    assert _few_shot(tiny_bert, max_epochs=2).fit(few_X, few_y).few_shot_
    many = _few_shot(tiny_bert, max_epochs=1).fit(X, y)  # 300 texts, 2 classes: more than 64 per class
    assert not many.few_shot_ and not many.net_.module_.normalize
    weighted = _few_shot(tiny_bert, max_epochs=1).fit(few_X, few_y, sample_weight=np.ones(len(few_y)))
    assert not weighted.few_shot_
    assert not _few_shot(tiny_bert, few_shot=False, max_epochs=1).fit(few_X, few_y).few_shot_


def test_end_to_end_fine_tuning_of_a_few_texts_keeps_a_short_budget(tiny_bert, text_data):
    X, y = _few(text_data)  # 16 texts: one batch per epoch
    clf = _few_shot(tiny_bert, few_shot=False).fit(X, y)
    assert len(clf.history_) == 20  # at most 20 passes for a pretrained backbone, not a thousand steps


def test_few_shot_class_weight_shifts_the_head(tiny_bert, text_data):
    X, y = _few(text_data)
    plain = _few_shot(tiny_bert, max_epochs=2).fit(X, y).predict_proba(X)[:, 0].mean()
    weighted = _few_shot(tiny_bert, max_epochs=2, class_weight={0: 20.0}).fit(X, y).predict_proba(X)[:, 0].mean()
    assert weighted > plain + 0.05
    with pytest.raises(ValueError, match="class_weight has labels"):
        _few_shot(tiny_bert, max_epochs=2, class_weight={7: 2.0}).fit(X, y)


def test_few_shot_model_saves_loads_and_trains_on(tiny_bert, text_data, tmp_path):
    import joblib

    X, y = _few(text_data)
    clf = _few_shot(tiny_bert, max_epochs=3).fit(X, y)
    loaded = sktransformer.load(clf.save(tmp_path / "clf.skt"))
    assert loaded.few_shot_
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X), clf.predict_proba(X))
    before = clf.predict_proba(X)
    clf.set_params(warm_start=True, max_epochs=1).fit(X, y)  # one more pass of the cross-entropy
    assert not np.allclose(clf.predict_proba(X), before)


def test_few_shot_in_a_search(tiny_bert, text_data):
    X, y = _few(text_data)
    search = GridSearchCV(_few_shot(tiny_bert, max_epochs=2), {"few_shot": [True, False]}, cv=2).fit(X, y)
    assert set(search.cv_results_["param_few_shot"]) == {True, False}
    assert search.best_estimator_.few_shot_ == search.best_params_["few_shot"]


@pytest.mark.parametrize("params, fit_kwargs, X, message", [
    ({"backbone": None}, {}, None, "few_shot=True tunes a pretrained backbone"),
    ({}, {"sample_weight": np.ones(16)}, None, "does not weight rows"),
    ({}, {}, np.random.RandomState(0).normal(size=(16, 3)), "reads texts"),
])
def test_few_shot_true_where_it_cannot_be_done(tiny_bert, text_data, params, fit_kwargs, X, message):
    few_X, y = _few(text_data)
    clf = _few_shot(tiny_bert, few_shot=True).set_params(**params)
    with pytest.raises(ValueError, match=message):
        clf.fit(few_X if X is None else X, y, **fit_kwargs)
    with pytest.raises(ValueError, match="needs fit"):
        _few_shot(tiny_bert, few_shot=True).partial_fit(few_X, y, classes=[0, 1])


def test_few_shot_needs_two_texts_per_class(tiny_bert):
    X = ["a good film", "a fine film", "great fun", "a bad film", "dull", "awful"]
    with pytest.raises(ValueError, match=r"class\(es\) \[2\] have a single text.*few_shot=False"):
        _few_shot(tiny_bert, few_shot=True).fit(X, [0, 0, 0, 1, 1, 2])
    # "auto" trains end to end where a class has no pair of texts
    assert not _few_shot(tiny_bert, max_epochs=1).fit(X, [0, 0, 0, 1, 1, 2]).few_shot_


def test_few_shot_with_a_frozen_backbone_fits_the_head_only(tiny_bert, text_data):
    X, y = _few(text_data)
    clf = _few_shot(tiny_bert, freeze_backbone="all").fit(X, y)
    assert clf.few_shot_ and len(clf.history_) == 0
    pipe = Pipeline([("emb", TransformerEmbedder(tiny_bert, cache=False)),
                     ("lr", LogisticRegression(max_iter=1000))]).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), pipe.predict_proba(X), atol=1e-4)
    with pytest.raises(ValueError, match="leaves nothing to tune"):
        TransformerEmbedder(tiny_bert, fine_tune="contrastive", freeze_backbone="all").fit(X, y)


def test_fine_tune_true_trains_with_a_head_whatever_the_number_of_texts(tiny_bert, text_data, monkeypatch):
    from sktransformer import TransformerClassifier

    X, y = _few(text_data)  # few texts per class: the classifier alone would take its few-shot path
    taken = []
    monkeypatch.setattr(TransformerClassifier, "_fit_few_shot", lambda self, X, y: taken.append(1))
    emb = TransformerEmbedder(tiny_bert, fine_tune=True, cache=False, random_state=0).fit(X, y)
    assert not taken and len(emb.history_) == 1  # one pass of the cross-entropy, not the pair tuning
