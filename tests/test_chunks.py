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
    original = clf._forward_inputs
    monkeypatch.setattr(base, "CHUNK_SIZE", 7)
    monkeypatch.setattr(clf, "_forward_inputs", lambda inputs: calls.append(1) or original(inputs))
    chunked = clf.predict_proba(X)
    assert len(calls) == int(np.ceil(len(X) / 7))
    np.testing.assert_allclose(chunked, whole, atol=1e-6)
