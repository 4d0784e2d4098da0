"""A battery of bad inputs over the four estimators and three input modes (issue 27, item 5).

Each case is ``(id, call, error, pattern)``: ``call(cache)`` does one thing a user might do wrong
(``cache`` holds the fitted models predict-time cases need), and the case is *clear* when it raises
``error`` (``ValueError`` or ``TypeError``) with a message matching ``pattern``, which names the
argument, column or item and what to do. Anything else is *obscure* (another exception, or a
message that does not say), *silent* (no exception: the bad input went through) or a *crash* (an
exception that is not an ``Exception``). ``tests/test_bad_input.py`` asserts every case is clear;
run this file to count them::

    python tests/battery.py
"""

import re

import numpy as np
import pandas as pd

from sktransformer import AttentionAutoencoder, TransformerClassifier, TransformerEmbedder, TransformerRegressor

TINY = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, max_epochs=1, random_state=0)
N = 24
RNG = np.random.RandomState(0)
TABLE = RNG.normal(size=(N, 3))
TEXTS = ["good film", "bad film", "fine movie", "awful plot"] * (N // 4)
SEQS = RNG.normal(size=(N, 5, 2))
DATA = {"tabular": TABLE, "text": TEXTS, "sequence": SEQS}
Y = {"clf": np.arange(N) % 2, "reg": np.linspace(0, 1, N), "ae": None, "emb": None}
ESTIMATORS = {
    "clf": TransformerClassifier,
    "reg": TransformerRegressor,
    "ae": AttentionAutoencoder,
    "emb": lambda **kw: TransformerEmbedder(backbone=None, **kw),
}
#: The input modes each estimator takes.
MODES = {"clf": DATA, "reg": DATA, "ae": DATA, "emb": {"text": TEXTS}}
#: The method each estimator's predict-time cases call.
PREDICT = {"clf": "predict", "reg": "predict", "ae": "predict", "emb": "transform"}


def fitted(cache, est, mode):
    key = (est, mode)
    if key not in cache:
        cache[key] = ESTIMATORS[est](**TINY).fit(DATA[mode], Y[est])
    return cache[key]


def _fit(est, X, y="default", **params):
    y = Y[est] if isinstance(y, str) else y
    return lambda cache: ESTIMATORS[est](**{**TINY, **params}).fit(X, y)


def _predict(est, mode, X):
    return lambda cache: getattr(fitted(cache, est, mode), PREDICT[est])(X)


def _bad_X(mode):
    """``(name, X, error, pattern)``: inputs ``fit`` must reject in ``mode``."""
    if mode == "tabular":
        inf = TABLE.copy()
        inf[3, 0] = np.inf  # NaN is a missing value, welcome (tests/test_missing.py)
        huge = TABLE.copy()
        huge[0, 0] = 1e300
        periods = pd.DataFrame({"a": TABLE[:, 0], "when": pd.period_range("2020-01", periods=N, freq="M")})
        return [
            ("inf", inf, ValueError, "infinity"),
            ("overflow", huge, ValueError, "too large|float32"),
            ("empty", np.empty((0, 3)), ValueError, "0 sample"),
            ("no columns", np.empty((N, 0)), ValueError, "0 feature"),
            ("period column", periods, (ValueError, TypeError), "when"),
            ("complex", TABLE.astype(complex), (ValueError, TypeError), "[Cc]omplex"),
        ]
    if mode == "text":
        return [
            ("None item", TEXTS[:-1] + [None], TypeError, r"\b23\b"),
            ("int item", TEXTS[:-1] + [5], TypeError, r"\b23\b"),
            ("single string", "one text", TypeError, "single string"),
            ("empty list", [], ValueError, "0 sample|empty"),
            ("all empty", [""] * N, ValueError, "vocabulary|empty"),
            ("lone surrogate", TEXTS[:-1] + ["bad \ud800 text"], ValueError, r"\b23\b"),
        ]
    nan = SEQS.copy()
    nan[1, 2, 0] = np.nan
    return [
        ("nan", nan, ValueError, "NaN"),
        ("ragged features", [np.ones((4, 2)), np.ones((3, 3))] * (N // 2), ValueError, "step features"),
        ("zero steps", np.empty((N, 0, 2)), ValueError, "step"),
        ("4-D", np.ones((N, 2, 2, 2)), ValueError, "dimension|3-D|4"),
    ]


def _bad_predict(est, mode):
    """``(name, X, error, pattern)``: inputs ``predict`` must reject for a model fitted on ``mode``."""
    name = {"clf": "TransformerClassifier", "reg": "TransformerRegressor", "ae": "AttentionAutoencoder",
            "emb": "TransformerEmbedder"}[est]
    other = {"tabular": TEXTS, "text": TABLE, "sequence": TABLE}[mode]
    cases = [("other input mode", other, (ValueError, TypeError), f"fitted on {mode} input|{name} takes")]
    if mode == "tabular":
        huge = TABLE.copy()
        huge[0, 0] = 1e300
        cases += [("fewer columns", TABLE[:, :2], ValueError, "2 features.*expecting 3"),
                  ("overflow", huge, ValueError, "float32"),
                  ("inf", np.where(TABLE > 1, np.inf, TABLE), ValueError, "infinity")]
    elif mode == "sequence":
        cases += [("other step width", np.ones((2, 5, 3)), ValueError, "3 features per step")]
    else:
        cases += [("None item", ["fine", None], TypeError, r"\b1\b")]
    return cases


#: ``(name, value, error, pattern)``: a bad value of a parameter every estimator has.
BAD_PARAMS = [
    ("d_model", 0, ValueError, "d_model"),
    ("n_heads", 3, ValueError, "n_heads"),  # 8 is not divisible by 3
    ("dropout", 1.5, ValueError, "dropout"),
    ("lr", -1.0, ValueError, "lr"),
    ("batch_size", 0, ValueError, "batch_size"),
    ("max_epochs", 0, ValueError, "max_epochs"),
    ("optimizer", "rmsprop", ValueError, "optimizer"),
    ("optimizer", dict, TypeError, "optimizer"),
    ("callbacks", ["x"], TypeError, r"callbacks\[0\]"),
    ("n_iter_no_change", 0, ValueError, "n_iter_no_change"),
    ("tol", -1.0, ValueError, "tol"),
    ("validation_fraction", 1.0, ValueError, "validation_fraction"),
    ("early_stopping", "yes", ValueError, "early_stopping"),
    ("positional", "rotary", ValueError, "positional"),
]


def _supervised(est, mode):
    """``(name, call, error, pattern)``: bad targets and sample weights."""
    X = DATA[mode]
    y = Y[est]
    cases = [
        ("y too short", _fit(est, X, y[:-1]), ValueError, "inconsistent|length|samples"),
        ("y missing", _fit(est, X, None), ValueError, "requires y"),
        ("negative sample_weight", lambda c: ESTIMATORS[est](**TINY).fit(X, y, sample_weight=np.r_[-1.0, np.ones(N - 1)]),
         ValueError, "sample_weight is negative at rows \\[0\\]"),
        ("short sample_weight", lambda c: ESTIMATORS[est](**TINY).fit(X, y, sample_weight=np.ones(3)),
         ValueError, "sample_weight has shape"),
    ]
    if est == "clf":
        cases += [
            ("one class", _fit(est, X, np.zeros(N, int)), ValueError, "only one class"),
            ("continuous y", _fit(est, X, np.linspace(0, 1, N)), ValueError, "Unknown label type"),
            ("multi-label y", _fit(est, X, np.eye(2, dtype=int)[np.arange(N) % 2]), ValueError, "MultiOutputClassifier"),
            ("negative class_weight", _fit(est, X, class_weight={0: -1, 1: 1}), ValueError, "class_weight"),
            ("partial_fit without classes", lambda c: ESTIMATORS[est](**TINY).partial_fit(X, y), ValueError, "classes"),
        ]
    else:
        cases += [
            ("nan in y", _fit(est, X, np.r_[np.nan, y[1:]]), ValueError, "NaN"),
            ("y too large", _fit(est, X, y * 1e200), ValueError, "too large"),
        ]
    return cases


def cases():
    """Every case of the battery: ``(id, call, error, pattern)``."""
    out = []
    for est, modes in MODES.items():
        for mode in modes:
            for name, X, error, pattern in _bad_X(mode):
                out.append((f"{est}-{mode}-fit-{name}", _fit(est, X), error, pattern))
            for name, X, error, pattern in _bad_predict(est, mode):
                out.append((f"{est}-{mode}-predict-{name}", _predict(est, mode, X), error, pattern))
            if est in ("clf", "reg"):
                for name, call, error, pattern in _supervised(est, mode):
                    out.append((f"{est}-{mode}-{name}", call, error, pattern))
        mode = "text" if est == "emb" else "tabular"
        for param, value, error, pattern in BAD_PARAMS:
            out.append((f"{est}-param-{param}={value!r}", _fit(est, DATA[mode], **{param: value}), error, pattern))
        out.append((f"{est}-predict-before-fit", lambda c, est=est: getattr(ESTIMATORS[est](), PREDICT[est])(TABLE),
                    ValueError, "not fitted|fit"))
    return out


def classify(call, error, pattern, cache):
    """``"clear"``, ``"obscure"``, ``"silent"`` or ``"crash"``, and the message."""
    try:
        call(cache)
    except (ValueError, TypeError) as err:
        return ("clear" if isinstance(err, error) and re.search(pattern, str(err)) else "obscure"), repr(err)
    except Exception as err:  # noqa: BLE001
        return "obscure", repr(err)
    except BaseException as err:  # noqa: BLE001
        return "crash", repr(err)
    return "silent", ""


def main():
    import warnings

    warnings.simplefilter("ignore")
    cache, counts = {}, {}
    for case_id, call, error, pattern in cases():
        kind, message = classify(call, error, pattern, cache)
        counts[kind] = counts.get(kind, 0) + 1
        if kind != "clear":
            print(f"{kind:8} {case_id}: {message[:200]}")
    total = sum(counts.values())
    print(f"{total} cases: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("clear", "obscure", "silent", "crash")))


if __name__ == "__main__":
    main()
