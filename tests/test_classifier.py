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


def test_label_smoothing_caps_confidence(tiny):
    # Two well-separated blobs: without smoothing the loss pushes the probabilities to 1; with
    # label_smoothing=0.2 the optimum for the true class is 1 - 0.2 + 0.2 / 2 = 0.9.
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(-3, 0.5, size=(100, 2)), rng.normal(3, 0.5, size=(100, 2))]
    y = np.r_[np.zeros(100, int), np.ones(100, int)]
    params = dict(tiny, max_epochs=40, lr=3e-3, input_noise=0.0)
    plain = TransformerClassifier(**params).fit(X, y)
    smooth = TransformerClassifier(label_smoothing=0.2, **params).fit(X, y)
    assert smooth.net_.criterion_.label_smoothing == 0.2
    assert plain.net_.criterion_.label_smoothing == 0.0
    assert plain.score(X, y) == smooth.score(X, y) == 1.0
    assert np.median(plain.predict_proba(X).max(axis=1)) > 0.97
    assert np.median(smooth.predict_proba(X).max(axis=1)) == pytest.approx(0.9, abs=0.03)


def test_input_clip_bounds_far_values(tiny):
    # input_clip=3 squashes scaled values into (-3, 3): a value a trillion standard deviations out
    # reaches the model as the bound 3 itself, so the row scores as one whose scaled values are
    # (3, squashed z1), fed with the clip turned off.
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(-1, 0.5, size=(60, 2)), rng.normal(1, 0.5, size=(60, 2))]
    y = np.r_[np.zeros(60, int), np.ones(60, int)]
    default = TransformerClassifier(**dict(tiny, max_epochs=1)).fit(X, y)
    assert default.net_.module_.embedding.clip is None
    clf = TransformerClassifier(input_clip=3.0, **dict(tiny, max_epochs=5)).fit(X, y)
    assert clf.net_.module_.embedding.clip == 3.0
    far = np.array([[1e12, 0.5]])
    proba = clf.predict_proba(far)
    mean, scale = clf.encoder_.mean_, clf.encoder_.scale_
    z1 = (0.5 - mean[1]) / scale[1]
    z1_clipped = z1 / np.sqrt(1 + (z1 / 3) ** 2)
    at_bound = np.array([[mean[0] + 3.0 * scale[0], mean[1] + z1_clipped * scale[1]]])
    clf.net_.module_.embedding.clip = None
    np.testing.assert_allclose(proba, clf.predict_proba(at_bound), atol=1e-5)
    assert not np.allclose(proba, clf.predict_proba(far), atol=1e-3)  # unclipped, it scores apart


class _Snapshots:
    """A skorch callback (built lazily) that keeps the module's weights after every epoch."""

    @staticmethod
    def make():
        from skorch.callbacks import Callback

        class Snap(Callback):
            def initialize(self):
                self.states = []
                return self

            def on_epoch_end(self, net, **kwargs):
                self.states.append({k: v.clone() for k, v in net.module_.state_dict().items()})

        return Snap()


def test_early_stopping_restores_best_weights(table_data, tiny):
    X, y = table_data
    clf = TransformerClassifier(max_epochs=80, lr=1e-2, n_iter_no_change=3,
                                callbacks=[("snap", _Snapshots.make())], **tiny).fit(X, y)
    history = clf.history_
    assert len(history) < 80
    valid = history[:, "valid_loss"]
    best = int(np.argmin(valid))
    assert len(history) == best + 1 + 3
    snaps = dict(clf.net_.callbacks_)["snap"].states
    final = clf.net_.module_.state_dict()
    for key, value in final.items():
        np.testing.assert_array_equal(value.numpy(), snaps[best][key].numpy())
    assert any(not np.array_equal(final[k].numpy(), snaps[-1][k].numpy()) for k in final)


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
def test_tol_stops_training_once_the_loss_has_converged(Estimator, table_data, tiny):
    X, y = table_data
    params = dict(tiny, max_epochs=300, lr=1e-2, dropout=0.0)
    stopped = Estimator(**params, tol=1e-4).fit(X, y)
    loss = stopped.history_[:, "train_loss"]
    n = len(loss)
    assert 20 <= n < 300

    def converged(k):  # the test after epoch k: window means, once the loss has halved
        ran = np.asarray(loss[:k])
        return ran.min() <= 0.5 * ran[0] and ran[-10:].mean() > ran[-20:-10].mean() - 1e-4

    assert converged(n)
    assert not any(converged(k) for k in range(20, n))
    full = Estimator(**params).fit(X, y)  # tol=None (default): every epoch
    assert len(full.history_) == 300
    np.testing.assert_allclose(full.history_[:n, "train_loss"], loss)  # the same run, cut short


def test_convergence_stop_waits_for_the_loss_to_leave_its_first_plateau():
    from types import SimpleNamespace

    from skorch.history import History

    from sktransformer._net import ConvergenceStop

    def epochs_run(losses):
        net, cb = SimpleNamespace(history=History()), ConvergenceStop(1e-4, sink=lambda *a: None)
        for epoch, loss in enumerate(losses, 1):
            net.history.new_epoch()
            net.history.record("train_loss", loss)
            try:
                cb.on_epoch_end(net)
            except KeyboardInterrupt:
                return epoch
        return len(losses)

    flat_then_learning = [0.69] * 60 + list(np.linspace(0.69, 0.01, 40)) + [0.01] * 40
    # not stopped on the plateau at chance level; the loss reaches 0.01 at epoch 100, and at epoch
    # 119 the windows 100-109 and 110-119 are both flat
    assert epochs_run(flat_then_learning) == 119
    assert epochs_run([0.69] * 200) == 200  # never learned: the budget runs out, no stop


def test_validation_early_stopping_replaces_the_convergence_test(table_data, tiny):
    X, y = table_data
    clf = TransformerClassifier(max_epochs=3, n_iter_no_change=2, tol=1e-4, **tiny).fit(X, y)
    names = [name for name, _ in clf.net_.callbacks_]
    assert "early_stopping" in names and "converged" not in names


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
    from sktransformer._net import auto_epochs

    assert auto_epochs(67349, 64, target_steps=3000) == 3  # SST-2: a few passes
    assert auto_epochs(455, 64, target_steps=3000) == 375  # a small table: many passes
    assert auto_epochs(50, 64, target_steps=3000) == 1000  # capped
    assert auto_epochs(10, 64, target_steps=10) == 10
    monkeypatch.setattr(TransformerClassifier, "_auto_steps", 100)
    X = np.random.RandomState(0).normal(size=(40, 2))
    clf = TransformerClassifier(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, batch_size=20,
                                random_state=0).fit(X, X[:, 0] > 0)
    assert len(clf.history_) == 50  # 2 steps an epoch, 100 steps wanted


def test_auto_epochs_give_text_learned_from_scratch_a_smaller_budget(monkeypatch, text_data, tiny_bert):
    from sktransformer._net import auto_epochs

    steps = TransformerClassifier._auto_text_steps
    assert auto_epochs(67349, 64, target_steps=steps) == 2  # SST-2: 2 passes, not 3
    monkeypatch.setattr(TransformerClassifier, "_auto_steps", 100)
    monkeypatch.setattr(TransformerClassifier, "_auto_text_steps", 40)
    texts, y = text_data
    texts, y = list(texts[:40]), y[:40]
    small = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, vocab_size=60, batch_size=20,
                 random_state=0)
    assert len(TransformerClassifier(**small).fit(texts, y).history_) == 20  # cosine: 40 steps
    constant = TransformerClassifier(lr_schedule="constant", **small).fit(texts, y)
    assert len(constant.history_) == 50  # the budget follows the schedule
    X = np.random.RandomState(0).normal(size=(40, 2))
    table = TransformerClassifier(lr_schedule="cosine", **small).fit(X, X[:, 0] > 0)
    assert len(table.history_) == 50  # tables keep the general budget
    tuned = TransformerClassifier(backbone=tiny_bert, lr_schedule="cosine", **small).fit(texts, y)
    assert len(tuned.history_) == 50  # so does a pretrained backbone


def test_cosine_lr_schedule_option(tiny):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = TransformerClassifier(max_epochs=4, lr=1e-2, lr_schedule="cosine", **{**tiny, "batch_size": 16}).fit(X, y)
    lrs = [b["event_lr"] for epoch in clf.history_ for b in epoch["batches"]]
    assert len(lrs) == 4 * 4 and lrs[0] == pytest.approx(1e-2) and lrs[-1] < 1e-2 * 0.05
    default = TransformerClassifier(max_epochs=2, **tiny).fit(X, y)  # constant: the optimizer keeps lr
    assert "lr_schedule" not in dict(default.net_.callbacks_)
    assert default.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(default.lr)


def test_auto_lr_schedule_is_cosine_for_text_from_scratch_only(text_data, tiny):
    texts, y = text_data
    text_clf = TransformerClassifier(max_epochs=2, **tiny).fit(texts[:64], y[:64])
    assert text_clf.lr_schedule == "auto"
    lrs = [b["event_lr"] for epoch in text_clf.history_ for b in epoch["batches"]]
    assert lrs[0] == pytest.approx(text_clf.lr) and lrs[-1] < lrs[0] * 0.2  # decays to 0 at the end
    X = np.random.RandomState(0).normal(size=(64, 3))
    table_clf = TransformerClassifier(max_epochs=2, **tiny).fit(X, X[:, 0] > 0)
    assert "lr_schedule" not in dict(table_clf.net_.callbacks_)
    constant = TransformerClassifier(max_epochs=2, lr_schedule="constant", **tiny).fit(texts[:64], y[:64])
    assert "lr_schedule" not in dict(constant.net_.callbacks_)


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
    params = dict(max_epochs=1, lr_schedule="constant", **tiny)
    text_clf = TransformerClassifier(**params).fit(texts[:64], y[:64])
    assert isinstance(text_clf.net_.module_.wide, NgramLinear)  # "auto": text learned from scratch
    group = _wide_group(text_clf)
    assert group["lr"] == pytest.approx(WIDE_LR_FACTOR * text_clf.lr) and group["weight_decay"] == 0
    first = text_clf.net_.optimizer_.param_groups[0]  # the transformer's: what event_lr reports
    assert first["lr"] == text_clf.lr and first["weight_decay"] == text_clf.weight_decay
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
    clf = TransformerClassifier(max_epochs=20, tokenizer="wordpiece", lr_schedule="constant",
                                **tiny).fit(texts, y)
    inputs = {k: torch.as_tensor(v) for k, v in clf.encoder_.transform(texts).items()}
    assert len(set(map(tuple, np.sort(inputs["input_ids"].numpy(), axis=1)))) == 1  # same tokens
    with torch.no_grad():
        wide_scores = clf.net_.module_.wide(**inputs)
    assert (clf.classes_[wide_scores.argmax(1).numpy()] == y).all()
    assert clf.score(texts, y) == 1.0


def test_a_pretrained_backbone_has_no_wide_part(text_data, tiny_bert):
    texts, y = text_data
    clf = TransformerClassifier(backbone=tiny_bert, wide=True, max_epochs=1, batch_size=32,
                                random_state=0).fit(texts[:64], y[:64])
    assert not hasattr(clf.net_.module_, "wide")
    assert all(g["lr"] in (clf.lr, clf.lr / 20) for g in clf.net_.optimizer_.param_groups)
