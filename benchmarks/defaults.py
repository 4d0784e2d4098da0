"""Default parameters: fit time and score of ours against scikit-learn's MLP, both at their defaults.

On iris, wine, breast_cancer, digits (accuracy), diabetes (R^2) and 2,000 SST-2 sentences
(accuracy on the 872 dev sentences), for each seed: a 75/25 split (stratified for classes;
``random_state=seed``), then ``TransformerClassifier()`` / ``TransformerRegressor()`` and
``MLPClassifier()`` / ``MLPRegressor()`` with ``random_state=seed`` and nothing else set. The MLP
gets what a user would put in front of it: ``StandardScaler`` for tables, ``TfidfVectorizer`` for
text. ``--previous`` adds our estimator as it trained before training stopped by itself
(``tol=None`` and the fixed ``max_epochs`` of the earlier ``"auto"`` budget: about 3,000 steps on a
table, 2,000 on text), so both figures come from one run.

Goals (issue 27): our fit time at most 10x the MLP's on every table, and our mean score not below
the previous defaults' by more than one seed-to-seed standard deviation.

    python benchmarks/defaults.py                      # seeds 0-4, every data set
    python benchmarks/defaults.py --previous           # + the previous defaults (slow)
    python benchmarks/defaults.py --datasets iris wine --seeds 1
    python benchmarks/defaults.py --check-estimator    # scikit-learn's check_estimator at the defaults
"""

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sktransformer import TransformerClassifier, TransformerRegressor
from sktransformer._net import steps_per_epoch

TEXT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text"


def load_sst2(seed, n_train=2000):
    """2,000 SST-2 training sentences (drawn with ``seed``) and the dev set."""
    read = lambda name: pd.read_csv(TEXT_DATA / name, sep="\t", quoting=3)  # noqa: E731
    train, dev = read("sst2_train.tsv"), read("sst2_dev.tsv")
    train = train.sample(n_train, random_state=seed)
    return (train["sentence"].tolist(), dev["sentence"].tolist(),
            train["label"].to_numpy(), dev["label"].to_numpy())


def table(loader):
    def split(seed):
        X, y = loader(return_X_y=True)
        stratify = y if loader is not load_diabetes else None
        return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=stratify)
    return split


#: name: (task, kind, split function of the seed)
DATASETS = {
    "iris": ("clf", "tabular", table(load_iris)),
    "wine": ("clf", "tabular", table(load_wine)),
    "breast_cancer": ("clf", "tabular", table(load_breast_cancer)),
    "digits": ("clf", "tabular", table(load_digits)),
    "diabetes": ("reg", "tabular", table(load_diabetes)),
    "sst2_2000": ("clf", "text", load_sst2),
}


def previous_epochs(task, kind, n_train, batch_size=64):
    """``max_epochs`` of the earlier ``"auto"``: the epochs nearest a fixed number of steps
    (3,000 on a table, 2,000 for text classification), at least 2, at most 1,000 (20 for the
    regressor)."""
    steps = 2000 if (task, kind) == ("clf", "text") else 3000
    cap = 1000 if task == "clf" else 20
    return int(min(cap, max(2, round(steps / steps_per_epoch(n_train, batch_size)))))


def models(task, kind, n_train, seed, previous):
    ours = TransformerClassifier if task == "clf" else TransformerRegressor
    mlp = MLPClassifier if task == "clf" else MLPRegressor
    front = TfidfVectorizer() if kind == "text" else StandardScaler()
    out = {"ours": ours(random_state=seed), "MLP": make_pipeline(front, mlp(random_state=seed))}
    if previous:
        out["ours, previous defaults"] = ours(
            random_state=seed, tol=None, max_epochs=previous_epochs(task, kind, n_train))
    return out


def time_check_estimator():
    """Seconds of scikit-learn's ``check_estimator`` on each estimator at its default parameters
    (goal: within 3 minutes each on 2 cores)."""
    from sklearn.utils.estimator_checks import check_estimator

    from sktransformer import AttentionAutoencoder

    expected = {"check_sample_weight_equivalence_on_dense_data": "mini-batch training (tests/test_common.py)"}
    for cls in (TransformerClassifier, TransformerRegressor, AttentionAutoencoder):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(cls(), on_fail=None, expected_failed_checks=expected)
        failed = [r["check_name"] for r in results if r["status"] == "failed"]
        seconds = time.perf_counter() - start
        print(f"check_estimator({cls.__name__}()): {seconds:6.1f} s, {len(results)} checks, failed: {failed or 'none'} "
              f"({'ok' if seconds <= 180 and not failed else 'MISS'})", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--previous", action="store_true", help="also run the previous defaults")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    parser.add_argument("--check-estimator", action="store_true",
                        help="only time scikit-learn's check_estimator at the default parameters")
    args = parser.parse_args()
    if args.check_estimator:
        return time_check_estimator()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # the MLP's, at max_iter=200

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {args.threads} thread(s); seeds 0-{args.seeds - 1}")
    print("score: accuracy (R^2 for diabetes) on the held-out 25% (SST-2: dev set); mean ± std over seeds\n")
    header = f"{'dataset':<14} {'model':<24} {'score':>16} {'fit s':>8} {'epochs':>7} {'fit / MLP':>10}"
    print(header)
    print("-" * len(header))
    verdicts = []
    for name in args.datasets:
        task, kind, split = DATASETS[name]
        results = {}
        for seed in range(args.seeds):
            X_train, X_test, y_train, y_test = split(seed)
            for label, model in models(task, kind, len(X_train), seed, args.previous).items():
                with threadpool_limits(args.threads):
                    start = time.perf_counter()
                    model.fit(X_train, y_train)
                    seconds = time.perf_counter() - start
                    score = model.score(X_test, y_test)
                last = model[-1] if hasattr(model, "steps") else model
                epochs = len(last.history_) if hasattr(last, "history_") else last.n_iter_
                results.setdefault(label, []).append((score, seconds, epochs))
        mlp_time = np.mean([r[1] for r in results["MLP"]])
        for label, rows in results.items():
            s, t, e = np.array(rows).T
            print(f"{name:<14} {label:<24} {s.mean():>7.4f} ± {s.std():.4f} {t.mean():>8.2f} {e.mean():>7.0f} "
                  f"{t.mean() / mlp_time:>10.1f}", flush=True)
        ours = np.array(results["ours"])
        ratio = ours[:, 1].mean() / mlp_time
        verdict = f"{name:<14} fit {ratio:5.1f}x the MLP's ({'ok' if kind == 'text' or ratio <= 10 else 'MISS'})"
        if args.previous:
            prev = np.array(results["ours, previous defaults"])
            gap, spread = ours[:, 0].mean() - prev[:, 0].mean(), prev[:, 0].std()
            verdict += (f"; score {gap:+.4f} against the previous defaults (their std {spread:.4f}: "
                        f"{'ok' if gap >= -spread else 'MISS'})")
        verdicts.append(verdict)
        print("-" * len(header))
    print("\ngoals: fit time at most 10x the MLP's on every table; score not below the previous defaults "
          "by more than their seed-to-seed std")
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
