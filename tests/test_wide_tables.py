"""Wide tables: columns share tokens beyond ``feature_tokens`` (issue 28), per-column readings stay."""

import numpy as np
import pandas as pd
import pytest

from sktransformer import AttentionAutoencoder, TransformerClassifier, TransformerRegressor
from sktransformer.inspection import anomaly_contributions, attention_weights

SMALL = dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, random_state=0)


def low_rank_table(n_rows, n_columns, seed=0):
    """Columns that are noisy mixtures of 3 factors: each column is predictable from the others."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_rows, 3))
    return factors @ rng.normal(size=(3, n_columns)) + 0.1 * rng.normal(size=(n_rows, n_columns))


@pytest.mark.parametrize("feature_tokens, n_columns, expected", [
    ("auto", 100, 64), ("auto", 20, 20), (None, 100, 100), (10, 100, 10), (500, 100, 100),
])
def test_feature_tokens_sets_the_tokens_of_a_row(feature_tokens, n_columns, expected):
    X = low_rank_table(40, n_columns)
    y = (X[:, 0] > 0).astype(int)
    clf = TransformerClassifier(feature_tokens=feature_tokens, max_epochs=1, **SMALL).fit(X, y)
    assert clf.net_.module_.embedding.n_tokens == expected
    assert clf.predict_proba(X).shape == (40, 2)
    reg = TransformerRegressor(feature_tokens=feature_tokens, max_epochs=1, **SMALL).fit(X, X[:, 1])
    assert reg.net_.module_.embedding.n_tokens == expected


def test_narrow_tables_keep_one_token_per_column_under_auto():
    X = low_rank_table(60, 12)
    y = (X[:, 0] > 0).astype(int)
    auto = TransformerClassifier(max_epochs=3, **SMALL).fit(X, y)
    per_column = TransformerClassifier(feature_tokens=None, max_epochs=3, **SMALL).fit(X, y)
    np.testing.assert_array_equal(auto.predict_proba(X), per_column.predict_proba(X))


def test_attention_on_a_wide_table_names_the_columns_of_each_token():
    X = pd.DataFrame(low_rank_table(40, 30), columns=[f"sensor_{j}" for j in range(30)])
    y = (X["sensor_0"] > 0).astype(int)
    clf = TransformerClassifier(feature_tokens=8, pooling="cls", max_epochs=1, **SMALL).fit(X, y)
    att = attention_weights(clf, X.iloc[:2])
    assert att.weights.shape == (2, 1, 2, 9, 9)  # CLS + 8 tokens
    assert att.token_columns[0] == [] and len(att.token_columns) == 9
    assert sum(att.token_columns[1:], []) == list(X.columns)  # every column once, in order
    assert att.tokens[0][0] == "[CLS]" and att.tokens[0][1] == "sensor_0 .. sensor_3 (4 columns)"


def test_wide_autoencoder_scores_and_explains_every_column():
    X = low_rank_table(400, 120)
    ae = AttentionAutoencoder(max_epochs=40, **SMALL).fit(X)
    assert ae.net_.module_.embedding.n_tokens == 64
    odd = X[:5].copy()
    odd[:, 37] += 8.0  # one broken sensor per row
    errors = ae.reconstruction_errors(odd)
    assert errors.shape == (5, 120)
    assert np.all(np.argmax(errors, axis=1) == 37)
    assert np.all(ae.score_samples(odd) < ae.score_samples(X[:5]))
    contributions, names = anomaly_contributions(ae, odd[:2])
    assert contributions.shape == (2, 120) and names[37] == "x37"
    assert np.all(np.argmax(contributions, axis=1) == 37)
