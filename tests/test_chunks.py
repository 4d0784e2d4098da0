"""predict works chunk by chunk (memory flat in n) and gives the same numbers as one big chunk."""

import numpy as np
import pytest

import sktransformer._base as base
from sktransformer import TransformerClassifier


@pytest.mark.parametrize("mode", ["text", "tabular", "sequence"])
def test_chunked_predict_matches_single_chunk(monkeypatch, mode, text_data, table_data, sequence_data, tiny):
    X, y = {"text": text_data, "tabular": table_data, "sequence": sequence_data}[mode]
    if mode == "sequence":
        X = [x[: 6 + i % 7] for i, x in enumerate(X)]  # ragged: chunks pad to different lengths
    clf = TransformerClassifier(max_epochs=1, **tiny).fit(X, y)
    whole = clf.predict_proba(X)
    calls = []
    original = clf._run_rows
    monkeypatch.setattr(base, "CHUNK_SIZE", 7)
    monkeypatch.setattr(clf, "_run_rows", lambda *args: calls.append(1) or original(*args))
    chunked = clf.predict_proba(X)
    assert len(calls) == int(np.ceil(len(X) / 7))
    np.testing.assert_allclose(chunked, whole, atol=1e-6)


@pytest.mark.parametrize("mode", ["tabular", "sequence"])
@pytest.mark.parametrize("kind", ["classifier", "regressor", "autoencoder"])
def test_a_row_gets_the_same_output_whatever_is_predicted_with_it(mode, kind, table_data, sequence_data):
    # The default width (d_model=64) runs on BLAS kernels chosen by matrix shape; without full
    # batches a row predicted alone or in a short batch differed in the last float32 bits.
    from sktransformer import AttentionAutoencoder, TransformerRegressor

    X, y = {"tabular": table_data, "sequence": sequence_data}[mode]
    X, y = X[:40], y[:40]
    if kind == "regressor":
        y = y * 150.0 + 20.0  # large targets magnify any float noise
    if kind == "classifier":
        method = TransformerClassifier(max_epochs=1, random_state=0).fit(X, y).predict_proba
    elif kind == "regressor":
        method = TransformerRegressor(max_epochs=1, random_state=0).fit(X, y).predict
    else:
        method = AttentionAutoencoder(max_epochs=1, random_state=0).fit(X).score_samples
    whole = method(X)
    one_by_one = np.concatenate([method(X[i:i + 1]) for i in range(10)])
    in_sevens = np.concatenate([method(X[i:i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_array_equal(one_by_one, whole[:10])
    np.testing.assert_array_equal(in_sevens, whole)
