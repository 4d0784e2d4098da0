"""attention_weights, plot_attention and plot_embeddings on every kind of fitted model."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from sktransformer import AttentionAutoencoder, TransformerClassifier, TransformerEmbedder, TransformerRegressor
from sktransformer.inspection import attention_weights, plot_attention, plot_embeddings

TEXTS = ["a truly great film with a fine cast", "dull", "not good at all"]


def check_weights(att, n_rows, n_layers, n_heads):
    """Shapes, rows summing to 1 over real keys, nothing on padding, one label per real token."""
    w, mask = att.weights, att.mask
    T = mask.shape[1]
    assert w.shape == (n_rows, n_layers, n_heads, T, T)
    assert w.dtype == np.float32
    assert [len(t) for t in att.tokens] == mask.sum(axis=1).tolist()
    for i in range(n_rows):
        real, pad = mask[i], ~mask[i]
        rows = w[i][:, :, real][:, :, :, real]  # (L, H, k, k)
        np.testing.assert_allclose(rows.sum(axis=-1), 1.0, atol=1e-5)
        assert np.all(rows >= 0)
        assert np.all(w[i][..., pad] == 0)  # padded keys get no weight
        assert np.all(w[i][:, :, pad, :] == 0)  # padded queries have no row


@pytest.fixture(scope="module")
def text_clf(text_data):
    X, y = text_data
    return TransformerClassifier(d_model=16, n_heads=2, n_layers=2, dim_feedforward=32, max_epochs=3,
                                 random_state=0).fit(X, y)


def test_text_classifier_weights(text_clf):
    att = attention_weights(text_clf, TEXTS)
    check_weights(att, 3, 2, 2)
    assert att.tokens == text_clf.encoder_.tokens(TEXTS)  # no [CLS] with mean pooling


def test_padding_does_not_change_a_rows_attention(text_clf):
    alone = attention_weights(text_clf, ["dull"])
    batched = attention_weights(text_clf, ["dull", TEXTS[0]])
    k = alone.mask[0].sum()
    assert batched.mask.shape[1] > k  # "dull" is padded in the batch
    np.testing.assert_allclose(batched.weights[0, :, :, :k, :k], alone.weights[0, :, :, :k, :k], atol=1e-6)


def test_weights_match_the_models_own_explicit_attention(text_clf):
    """The returned weights are the ones the model computes (not a re-implementation)."""
    import torch

    inputs = text_clf.encoder_.transform(TEXTS[:1])
    module = text_clf.net_.module_.eval()  # no dropout
    with torch.inference_mode():
        out = module.forward_features(need_weights=True, **{k: torch.as_tensor(v) for k, v in inputs.items()})
    att = attention_weights(text_clf, TEXTS[:1])
    np.testing.assert_allclose(att.weights[0, 1], out["attentions"][1][0].numpy(), atol=1e-6)


def test_cls_pooling_labels_the_cls_token(text_data):
    X, y = text_data
    clf = TransformerClassifier(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, max_epochs=1,
                                pooling="cls", random_state=0).fit(X, y)
    att = attention_weights(clf, TEXTS)
    check_weights(att, 3, 1, 2)
    assert all(tokens[0] == "[CLS]" for tokens in att.tokens)


def test_table_weights_are_labelled_with_feature_names(tiny):
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"age": rng.normal(size=120), "income": rng.normal(size=120),
                      "city": rng.choice(["a", "b", "c"], 120)})
    y = (X["age"] > 0).astype(int)
    clf = TransformerClassifier(**{**tiny, "pooling": "cls"}, max_epochs=2).fit(X, y)
    att = attention_weights(clf, X.iloc[:5])
    check_weights(att, 5, 1, 2)
    assert att.tokens[0] == ["[CLS]", "age", "income", "city"]


def test_sequence_regressor_labels_steps(tiny):
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(t, 2)) for t in rng.randint(3, 9, 60)]
    y = np.array([x.sum() for x in X])
    reg = TransformerRegressor(**tiny, max_epochs=2).fit(X, y)
    att = attention_weights(reg, X[:4])
    check_weights(att, 4, 1, 2)
    assert att.tokens[0] == [f"step_{t}" for t in range(len(X[0]))]


def test_autoencoder_weights(table_data, tiny):
    X, _ = table_data
    ae = AttentionAutoencoder(**tiny, max_epochs=2).fit(X)
    att = attention_weights(ae, X[:3])
    check_weights(att, 3, 1, 2)
    assert att.tokens[0] == ["x0", "x1", "x2", "x3"]


def test_pretrained_backbone_weights_and_kernel_restored(tiny_bert, text_data):
    X, y = text_data
    clf = TransformerClassifier(backbone=tiny_bert, max_epochs=1, batch_size=32, random_state=0).fit(X, y)
    before = clf.predict_proba(TEXTS)
    att = attention_weights(clf, TEXTS)
    check_weights(att, 3, 2, 2)  # the tiny BERT: 2 layers, 2 heads
    assert all(t[0] == "[CLS]" and t[-1] == "[SEP]" for t in att.tokens)
    hf = clf.net_.module_.backbone.model
    assert hf.config._attn_implementation == "sdpa"  # the fast kernel is back
    np.testing.assert_array_equal(clf.predict_proba(TEXTS), before)


@pytest.mark.parametrize("backbone", [None, "tiny"])
def test_embedder_weights(backbone, tiny_bert, text_data):
    X, _ = text_data
    kwargs = dict(backbone=tiny_bert) if backbone else dict(backbone=None, d_model=16, n_heads=2, n_layers=1,
                                                            dim_feedforward=32, max_epochs=1, random_state=0)
    emb = TransformerEmbedder(cache=False, **kwargs).fit(X)
    att = attention_weights(emb, TEXTS)
    check_weights(att, 3, att.weights.shape[1], att.weights.shape[2])
    assert att.weights.shape[1] >= 1


def test_bad_arguments(text_clf):
    with pytest.raises(NotFittedError):
        attention_weights(TransformerClassifier(), TEXTS)
    with pytest.raises(TypeError, match="attention"):
        attention_weights(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), [[0.0]])
    with pytest.raises(ValueError, match="batch_size"):
        attention_weights(text_clf, TEXTS, batch_size=0)
    with pytest.raises(ValueError, match="row"):
        plot_attention(text_clf, TEXTS, row=3)
    with pytest.raises(ValueError, match="layers=5"):
        plot_attention(text_clf, TEXTS, layers=5)
    with pytest.raises(ValueError, match="heads"):
        plot_attention(text_clf, TEXTS, heads="max")
    with pytest.raises(ValueError, match="text"):  # a table into a text model
        attention_weights(text_clf, np.zeros((2, 3)))


def test_plot_attention_draws_every_panel(text_clf, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plot_attention(text_clf, TEXTS, row=0)
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == 2 * 2  # layers x heads
    tokens = text_clf.encoder_.tokens(TEXTS[:1])[0]
    assert [t.get_text() for t in heatmaps[0].get_xticklabels()] == tokens
    path = tmp_path / "attention.png"
    fig.savefig(path)
    assert path.stat().st_size > 1000
    fig_mean = plot_attention(text_clf, TEXTS, row=1, layers=-1, heads="mean")
    assert len([ax for ax in fig_mean.axes if ax.images]) == 1
    _, ax = plt.subplots()
    assert plot_attention(text_clf, TEXTS, layers=0, heads=1, ax=ax) is ax.figure
    with pytest.raises(ValueError, match="one panel"):
        plot_attention(text_clf, TEXTS, ax=ax)
    plt.close("all")


def test_plot_embeddings(text_data, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = text_data
    emb = TransformerEmbedder(backbone=None, d_model=16, n_heads=2, n_layers=1, dim_feedforward=32,
                              max_epochs=1, cache=False, random_state=0).fit(X)
    ax = plot_embeddings(emb, X[:80], y[:80])
    assert len(ax.collections) == len(np.unique(y[:80]))
    assert sum(len(c.get_offsets()) for c in ax.collections) == 80
    path = tmp_path / "embeddings.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match="y must be"):
        plot_embeddings(emb, X[:10], y[:5])
    with pytest.raises(TypeError, match="transform"):
        plot_embeddings(LogisticRegression(), X[:10])
    plt.close("all")
