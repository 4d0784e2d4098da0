"""TransformerClassifier on text, tables and sequences, inside scikit-learn's tools."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sktransformer import TransformerClassifier, TransformerRegressor


# ----------------------------------------------------------------- text-mode contract
def test_text_fit_returns_self_and_learns(text_data, tiny):
    texts, y = text_data
    clf = TransformerClassifier(max_epochs=20, lr=1e-2, **tiny)
    assert clf.fit(texts[:200], y[:200]) is clf
    assert clf.input_mode_ == "text"
    assert not hasattr(clf, "n_features_in_")
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.score(texts[200:], y[200:]) > 0.75  # chance is 0.5
    assert len(clf.history_) == 20


def test_text_not_fitted_raises(text_data):
    with pytest.raises(NotFittedError):
        TransformerClassifier().predict(text_data[0][:3])


def test_text_clone_and_params_round_trip(tiny):
    clf = TransformerClassifier(pooling="cls", vocab_size=500, **tiny)
    params = clf.get_params()
    twin = clone(clf)
    assert twin.get_params() == params
    twin.set_params(n_layers=3, lr=0.5)
    assert (twin.n_layers, twin.lr) == (3, 0.5)
    assert clf.n_layers == tiny["n_layers"]  # the original is untouched


def test_text_same_seed_same_predictions(text_data, tiny):
    texts, y = text_data
    a = TransformerClassifier(max_epochs=2, **tiny).fit(texts, y).predict_proba(texts)
    b = TransformerClassifier(max_epochs=2, **tiny).fit(texts, y).predict_proba(texts)
    np.testing.assert_array_equal(a, b)
    c = TransformerClassifier(max_epochs=2, **{**tiny, "random_state": 1}).fit(texts, y).predict_proba(texts)
    assert not np.allclose(a, c)


def test_text_pickle_round_trip(text_data, tiny):
    texts, y = text_data
    clf = TransformerClassifier(max_epochs=2, **tiny).fit(texts, y)
    twin = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf.predict_proba(texts), twin.predict_proba(texts))


def test_text_string_labels_and_series(text_data, tiny):
    texts, y = text_data
    labels = np.array(["neg", "pos"])[y]
    clf = TransformerClassifier(max_epochs=3, **tiny).fit(pd.Series(texts), pd.Series(labels))
    pred = clf.predict(pd.Series(texts[:10]))
    assert set(pred) <= {"neg", "pos"}
    proba = clf.predict_proba(texts[:10])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_truncation_is_counted_and_warned(tiny):
    texts = ["word " * 40, "short text", "another short one", "word " * 3]
    y = [0, 1, 1, 0]
    clf = TransformerClassifier(max_length=8, max_epochs=1, **tiny)
    with pytest.warns(UserWarning, match="2 of 4 inputs were longer than max_length=8"):
        clf.fit(texts, y)
    assert clf.n_truncated_ == 2


def test_text_padding_does_not_change_predictions(text_data, tiny):
    """A text's prediction is the same alone or batched beside much longer texts."""
    texts, y = text_data
    clf = TransformerClassifier(max_epochs=2, **tiny).fit(texts, y)
    alone = clf.predict_proba(texts[:1])
    batched = clf.predict_proba([texts[0], " ".join(texts[1:6])])[:1]
    np.testing.assert_allclose(alone, batched, atol=1e-5)


# ----------------------------------------------------------------- tables and sequences
def test_table_dataframe_with_categories(tiny):
    from sktransformer.datasets import make_customers

    X, y = make_customers(300, random_state=0)
    clf = TransformerClassifier(max_epochs=10, lr=3e-3, **tiny).fit(X, y)
    assert clf.input_mode_ == "tabular"
    assert clf.n_features_in_ == 6
    np.testing.assert_array_equal(clf.feature_names_in_, X.columns)
    assert clf.encoder_.cat_cardinalities_ == [4, 5]
    assert clf.score(X, y) > 0.65
    # FT-Transformer style: the first block reads the column tokens without a LayerNorm (only the
    # first block: tests/nn/test_blocks.py)
    assert not isinstance(clf.net_.module_.encoder.layers[0].ln1, torch.nn.LayerNorm)


def test_sequences_array_and_ragged(sequence_data, tiny):
    X, y = sequence_data
    clf = TransformerClassifier(max_epochs=15, lr=3e-3, **tiny).fit(X[:120], y[:120])
    assert clf.input_mode_ == "sequence" and clf.n_features_in_ == 1
    assert clf.score(X[120:], y[120:]) > 0.85
    assert isinstance(clf.net_.module_.encoder.layers[0].ln1, torch.nn.LayerNorm)  # tables only
    ragged = [x[: 8 + i % 5] for i, x in enumerate(X)]
    clf = TransformerClassifier(max_epochs=2, **tiny).fit(ragged, y)
    assert clf.predict(ragged[:7]).shape == (7,)


def test_class_weight_balanced_shifts_predictions(tiny):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] > 1.0).astype(int)  # about 16% positives
    plain = TransformerClassifier(max_epochs=5, **tiny).fit(X, y)
    balanced = TransformerClassifier(max_epochs=5, class_weight="balanced", **tiny).fit(X, y)
    assert balanced.predict(X).mean() > plain.predict(X).mean()


def test_tol_stops_once_the_training_loss_stops_improving(table_data, tiny):
    # tol: skorch's EarlyStopping on the training loss, MLPClassifier's meaning (n_iter_no_change
    # epochs without an improvement of at least tol); a tol no loss can meet stops after those.
    X, y = table_data
    clf = TransformerClassifier(max_epochs=200, tol=1e3, **tiny).fit(X, y)
    assert len(clf.history_) == 11  # n_iter_no_change=10, the default
    stop = dict(clf.net_.callbacks_)["converged"]
    assert stop.monitor == "train_loss" and stop.threshold == 1e3 and stop.threshold_mode == "abs"
    assert len(TransformerClassifier(max_epochs=200, tol=1e3, n_iter_no_change=3, **tiny).fit(X, y).history_) == 4
    assert len(TransformerClassifier(max_epochs=15, tol=None, **tiny).fit(X, y).history_) == 15


def test_early_stopping_monitors_the_held_out_loss_with_tol(table_data, tiny):
    # MLPClassifier's meanings: early_stopping switches the split on, n_iter_no_change is the patience
    X, y = table_data
    clf = TransformerClassifier(max_epochs=200, early_stopping=True, tol=1e3, n_iter_no_change=2, **tiny).fit(X, y)
    names = [name for name, _ in clf.net_.callbacks_]
    assert "early_stopping" in names and "converged" not in names
    stop = dict(clf.net_.callbacks_)["early_stopping"]
    assert stop.monitor == "valid_loss" and stop.threshold == 1e3 and stop.load_best
    assert len(clf.history_) == 3 and "valid_loss" in clf.history_[-1]


def test_no_validation_split_by_default(table_data, tiny):
    X, y = table_data
    clf = TransformerClassifier(max_epochs=2, **tiny).fit(X, y)
    assert "valid_loss" not in clf.history_[-1]
    assert clf.history_[-1, "train_batch_count"] == int(np.ceil(len(X) / tiny["batch_size"]))


def test_user_callbacks_are_used_not_modified(table_data, tiny):
    from skorch.callbacks import EpochScoring

    X, y = table_data
    cb = EpochScoring("accuracy", on_train=True, name="train_acc")
    clf = TransformerClassifier(max_epochs=2, callbacks=[cb], **tiny).fit(X, y)
    assert "train_acc" in clf.history_[-1]
    assert not hasattr(cb, "best_score_")  # our copy was fitted, not the user's object


# ----------------------------------------------------------------- inside scikit-learn tools
def test_pipeline_gridsearch_cross_val(table_data, tiny):
    X, y = table_data
    pipe = Pipeline([("scale", StandardScaler()), ("clf", TransformerClassifier(max_epochs=10, lr=1e-2, **tiny))])
    search = GridSearchCV(pipe, {"clf__n_layers": [1, 2]}, cv=2, n_jobs=2).fit(X, y)
    assert set(search.cv_results_["param_clf__n_layers"]) == {1, 2}
    assert search.best_score_ > 0.8
    scores = cross_val_score(TransformerClassifier(max_epochs=10, lr=1e-2, **tiny), pd.DataFrame(X), y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.75


def test_text_cross_val_score(text_data, tiny):
    texts, y = text_data
    scores = cross_val_score(TransformerClassifier(max_epochs=20, lr=1e-2, **tiny), pd.Series(texts), y, cv=3)
    assert scores.mean() > 0.7


def test_auto_epochs_follow_the_data_size(monkeypatch):
    from sktransformer import _base
    from sktransformer._base import Budget, training_budget

    assert training_budget("classifier", "tabular", 67349, 64)[0] == 3  # a large set: a few passes
    assert training_budget("classifier", "tabular", 2000, 64)[0] == 94  # a mid-sized table: more passes
    assert training_budget("classifier", "tabular", 455, 64)[0] == 200  # a small table: MLP's max_iter
    assert training_budget("classifier", "sequence", 50, 64)[0] == 1000  # sequences: capped at 1,000
    assert training_budget("classifier", "text", 67349, 64)[0] == 2  # text from scratch: 2,000 steps
    assert training_budget("classifier", "pretrained", 67349, 64)[0] == 3  # a backbone: the general row
    assert training_budget("regressor", "tabular", 455, 64)[0] == 20  # regression's cap
    assert training_budget("classifier", "tabular", 455, 64, max_epochs=7)[0] == 7  # an int is kept
    monkeypatch.setitem(_base.TRAINING, ("classifier", "tabular"), Budget(100))
    X = np.random.RandomState(0).normal(size=(40, 2))
    clf = TransformerClassifier(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, batch_size=20,
                                random_state=0).fit(X, X[:, 0] > 0)
    assert len(clf.history_) == 50  # 2 steps an epoch, 100 steps wanted


def test_auto_epochs_follow_the_budget_of_the_input(monkeypatch, text_data, tiny_bert):
    from sktransformer import _base
    from sktransformer._base import Budget

    monkeypatch.setitem(_base.TRAINING, ("classifier", "text"), Budget(40, schedule="cosine"))
    monkeypatch.setitem(_base.TRAINING, ("classifier", "*"), Budget(100))
    monkeypatch.setitem(_base.TRAINING, ("classifier", "pretrained"), Budget(100))
    texts, y = text_data
    texts, y = list(texts[:40]), y[:40]
    small = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, vocab_size=60, batch_size=20,
                 random_state=0)
    assert len(TransformerClassifier(**small).fit(texts, y).history_) == 20  # text: 40 steps
    tuned = TransformerClassifier(backbone=tiny_bert, few_shot=False, **small).fit(texts, y)
    assert len(tuned.history_) == 50  # a pretrained backbone has its own row: 100 steps
    X = np.random.RandomState(0).normal(size=(40, 2))
    sequences = TransformerClassifier(**small).fit(X[:, :, None], X[:, 0] > 0)
    assert len(sequences.history_) == 50


def test_text_from_scratch_gets_a_cosine_schedule_and_a_user_scheduler_replaces_it(text_data, tiny):
    from skorch.callbacks import LRScheduler
    from torch.optim.lr_scheduler import StepLR

    texts, y = text_data
    text_clf = TransformerClassifier(max_epochs=2, **tiny).fit(texts[:64], y[:64])
    lrs = [b["event_lr"] for epoch in text_clf.history_ for b in epoch["batches"]]
    assert lrs[0] == pytest.approx(text_clf.lr) and lrs[-1] < lrs[0] * 0.2  # decays to 0 at the end
    X = np.random.RandomState(0).normal(size=(64, 3))
    table_clf = TransformerClassifier(max_epochs=2, **tiny).fit(X, X[:, 0] > 0)
    assert "LRScheduler" not in dict(table_clf.net_.callbacks_)  # tables: a constant rate
    assert table_clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(table_clf.lr)
    mine = LRScheduler(policy=StepLR, step_size=1, gamma=0.5)
    stepped = TransformerClassifier(max_epochs=3, callbacks=[mine], **tiny).fit(texts[:64], y[:64])
    schedulers = [cb for _, cb in stepped.net_.callbacks_ if isinstance(cb, LRScheduler)]
    assert len(schedulers) == 1 and schedulers[0].policy is StepLR  # the user's, not the cosine
    lr = stepped.lr
    assert stepped.history_[:, "event_lr"] == pytest.approx([lr, lr / 2, lr / 4])


def _wide_group(est):
    """The optimizer's param group that holds the wide part's weights."""
    wide_params = {id(p) for p in est.net_.module_.wide.parameters()}
    (group,) = [g for g in est.net_.optimizer_.param_groups if wide_params & {id(p) for p in g["params"]}]
    assert wide_params == {id(p) for p in group["params"]}  # the group holds the wide part only
    return group


def test_wide_part_follows_the_wide_parameter(text_data, table_data, sequence_data, tiny):
    from sktransformer._base import WIDE_LR_FACTOR
    from sktransformer.nn import ColumnLinear, NgramLinear

    texts, y = text_data
    params = dict(max_epochs=1, **tiny)
    text_clf = TransformerClassifier(**params).fit(texts[:64], y[:64])
    assert isinstance(text_clf.net_.module_.wide, NgramLinear)  # "auto": text learned from scratch
    group = _wide_group(text_clf)  # the cosine schedule keeps each group's starting rate as initial_lr
    assert group["initial_lr"] == pytest.approx(WIDE_LR_FACTOR * text_clf.lr) and group["weight_decay"] == 0
    first = text_clf.net_.optimizer_.param_groups[0]  # the transformer's: what event_lr reports
    assert first["initial_lr"] == text_clf.lr and first["weight_decay"] == text_clf.weight_decay
    assert TransformerClassifier(wide=False, **params).fit(texts[:64], y[:64]).net_.module_.wide is None

    X, y_table = table_data
    assert TransformerClassifier(**params).fit(X, y_table).net_.module_.wide is None  # "auto": no
    table_clf = TransformerClassifier(wide=True, **params).fit(X, y_table)
    assert isinstance(table_clf.net_.module_.wide, ColumnLinear)
    assert _wide_group(table_clf)["lr"] == pytest.approx(WIDE_LR_FACTOR * table_clf.lr)

    X_seq, y_seq = sequence_data
    assert TransformerClassifier(**params).fit(X_seq, y_seq).net_.module_.wide is None
    with pytest.raises(ValueError, match="wide=True"):
        TransformerClassifier(wide=True, **params).fit(X_seq, y_seq)


def test_wide_hash_table_shrinks_with_many_classes(monkeypatch, text_data, tiny):
    import sktransformer._base as base

    texts, y = text_data
    two = TransformerClassifier(max_epochs=1, **tiny).fit(texts[:64], y[:64]).net_.module_.wide
    assert two.n_buckets == base.WIDE_BUCKETS_PER_TOKEN * two.vocab_size  # small vocabulary: 16 a subword
    monkeypatch.setattr(base, "WIDE_MAX_PAIR_WEIGHTS", 120)
    five = TransformerClassifier(max_epochs=1, **tiny).fit(texts[:64], np.arange(64) % 5).net_.module_.wide
    assert five.n_buckets == 24 and five.weight.shape == (five.vocab_size + 24, 5)


def test_wide_part_learns_word_order_from_bigrams(tiny):
    # Both classes have the same words, so only the bigrams of the wide part can tell them apart
    # on their own. (WordPiece gives a word the same token anywhere; the byte-level BPE marks words
    # that follow a space.)
    texts, y = ["alpha beta", "beta alpha"] * 32, np.array([1, 0] * 32)
    clf = TransformerClassifier(max_epochs=20, tokenizer="wordpiece", **tiny).fit(texts, y)
    inputs = {k: torch.as_tensor(v) for k, v in clf.encoder_.transform(texts).items()}
    assert len(set(map(tuple, np.sort(inputs["input_ids"].numpy(), axis=1)))) == 1  # same tokens
    with torch.no_grad():
        wide_scores = clf.net_.module_.wide(**inputs)
    assert (clf.classes_[wide_scores.argmax(1).numpy()] == y).all()
    assert clf.score(texts, y) == 1.0


def test_a_pretrained_backbone_has_no_wide_part(text_data, tiny_bert):
    texts, y = text_data
    clf = TransformerClassifier(backbone=tiny_bert, wide=True, max_epochs=1, batch_size=32, few_shot=False,
                                random_state=0).fit(texts[:64], y[:64])
    assert not hasattr(clf.net_.module_, "wide")
    assert all(g["lr"] in (clf.lr, clf.lr / 20) for g in clf.net_.optimizer_.param_groups)


def test_tol_auto_converges_on_tables_and_keeps_the_whole_budget_elsewhere(table_data, tiny):
    X, y = table_data
    table = dict(TransformerClassifier(max_epochs=2, **tiny).fit(X, y).net_.callbacks_)
    assert table["converged"].threshold == 1e-4  # MLPClassifier's tol
    texts = [f"word{i % 7} word{i % 3}" for i in range(len(y))]
    text = dict(TransformerClassifier(max_epochs=2, vocab_size=50, **tiny).fit(texts, y).net_.callbacks_)
    sequences = np.random.RandomState(0).normal(size=(len(y), 6, 2))
    seq = dict(TransformerClassifier(max_epochs=2, **tiny).fit(sequences, y).net_.callbacks_)
    assert "converged" not in text and "converged" not in seq
    seq_tol = dict(TransformerClassifier(max_epochs=2, tol=1e-3, **tiny).fit(sequences, y).net_.callbacks_)
    assert seq_tol["converged"].threshold == 1e-3
