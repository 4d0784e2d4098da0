"""TransformerRegressor: single and multi-output targets on each input mode."""

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score

from sktransformer import TransformerRegressor


def test_table_regression_fits_a_nonlinear_target(tiny):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    y = 100 + 30 * X[:, 0] * X[:, 1] + 20 * X[:, 2]  # far from zero mean / unit scale
    reg = TransformerRegressor(max_epochs=40, lr=3e-3, **tiny).fit(X[:300], y[:300])
    pred = reg.predict(X[300:])
    assert pred.shape == (100,) and pred.dtype == np.float64
    assert r2_score(y[300:], pred) > 0.7


def test_multi_output_targets(tiny):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X[:, 0] + X[:, 1], 5 - 2 * X[:, 2]])
    reg = TransformerRegressor(max_epochs=30, lr=3e-3, **tiny).fit(pd.DataFrame(X), Y)
    pred = reg.predict(pd.DataFrame(X))
    assert pred.shape == (300, 2) and reg.n_outputs_ == 2
    assert r2_score(Y, pred, multioutput="raw_values").min() > 0.8
    column = TransformerRegressor(max_epochs=1, **tiny).fit(X, Y[:, :1])
    assert column.predict(X).shape == (300, 1)


def test_text_regression(tiny):
    rng = np.random.RandomState(0)
    counts = rng.randint(0, 6, 300)
    texts = [" ".join(["good"] * c + ["item"] * (6 - c)) for c in counts]
    reg = TransformerRegressor(max_epochs=20, lr=3e-3, **tiny).fit(texts, counts.astype(float))
    assert reg.input_mode_ == "text"
    assert reg.score(texts, counts) > 0.8


def test_sequence_regression(tiny):
    """Recover each sine wave's amplitude from its noisy steps."""
    rng = np.random.RandomState(0)
    amplitude = rng.uniform(0.5, 2.0, 200)
    t = np.linspace(0, 4 * np.pi, 16)
    X = (amplitude[:, None] * np.sin(t + rng.uniform(0, np.pi, (200, 1))))[:, :, None]
    X += 0.05 * rng.normal(size=X.shape)
    reg = TransformerRegressor(max_epochs=30, lr=1e-2, **tiny).fit(X[:150], amplitude[:150])
    assert reg.score(X[150:], amplitude[150:]) > 0.7


def test_auto_epochs_capped_at_20_for_regression(tiny):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    y = X[:, 0] + 0.5 * rng.normal(size=100)  # noisy: many passes would learn the noise
    reg = TransformerRegressor(**tiny).fit(X, y)  # max_epochs="auto": 3000 steps would be 750 epochs
    assert len(reg.history_) == 20


def test_wide_part_of_the_regressor(tiny):
    from sktransformer.nn import ColumnLinear, NgramLinear

    texts = ["good item", "item item", "good good"] * 20
    y = np.array([1.0, 0.0, 2.0] * 20)
    reg = TransformerRegressor(max_epochs=1, **tiny).fit(texts, y)
    assert isinstance(reg.net_.module_.wide, NgramLinear)  # "auto": text learned from scratch
    assert reg.net_.module_.wide.weight.shape[1] == 1
    X = np.random.RandomState(0).normal(size=(60, 4))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    assert TransformerRegressor(max_epochs=1, **tiny).fit(X, Y).net_.module_.wide is None
    table = TransformerRegressor(wide=True, max_epochs=1, **tiny).fit(X, Y)
    assert isinstance(table.net_.module_.wide, ColumnLinear)
    assert table.net_.module_.wide.numeric.weight.shape == (2, 4)  # one score per target
    assert TransformerRegressor(wide=False, max_epochs=1, **tiny).fit(texts, y).net_.module_.wide is None
