"""Wide tables: fit time against the number of columns, and accuracy against linear and boosted trees.

Two parts, both in one run (``--part`` picks one):

``tables``
    ``make_classification`` with 2,000 rows, 20 informative columns and 100, 400 and 1,600
    columns in all (``random_state=seed``), split 75/25 (stratified, ``random_state=seed``).
    ``TransformerClassifier(random_state=seed)`` at its defaults (``feature_tokens="auto"``:
    64 tokens a row once a table has more than 64 columns) against ``LogisticRegression`` (on
    standardised columns) and ``HistGradientBoostingClassifier`` fitted in the same run, with
    ``MLPClassifier`` (standardised columns) beside them as the neural reference. Prints
    test accuracy, fit time and our seconds per epoch per width, and the ratios 1,600 / 100 of
    our fit time and time per epoch (linear cost: at most 16). ``--per-column`` adds one epoch
    of ``feature_tokens=None`` (one token per column, the cost before) at 100 and 400 columns.

``anomaly``
    ``AttentionAutoencoder`` on the shared ODDS sets with the most columns (arrhythmia 274,
    musk 166, mnist 100, optdigits 64, spambase 57; ``../shared/data/anomaly``), the
    unsupervised protocol (fit on all rows, score all rows): ROC-AUC and fit time at the
    defaults ("after") and with one token per column (``feature_tokens=None``, "before"). On
    tables of at most 64 columns the two are the same model, fitted once.

Seeds: ``--seeds N`` runs ``random_state=0..N-1`` (data and models) and prints mean and std.
PyTorch runs on 1 thread (``--threads``).

Run::

    python benchmarks/wide_tables.py --seeds 3            # both parts
    python benchmarks/wide_tables.py --part tables --per-column
    python benchmarks/wide_tables.py --quick              # smoke run: small and few epochs
"""

import argparse
import os
import platform
import time

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransformer import AttentionAutoencoder, TransformerClassifier

ANOMALY_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                            "shared", "data", "anomaly")
WIDTHS = [100, 400, 1600]
WIDE_SETS = ["arrhythmia", "musk", "mnist", "optdigits", "spambase"]


def timed_fit(model, *args):
    start = time.perf_counter()
    model.fit(*args)
    return time.perf_counter() - start


def mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def run_tables(seeds, quick, per_column):
    widths = [40, 160] if quick else WIDTHS
    n_rows = 400 if quick else 2000
    print(f"make_classification: {n_rows} rows, 20 informative columns; test accuracy over seeds {list(seeds)}\n")
    header = (f"{'columns':>7} {'LogisticRegression':>18} {'HistGradientBoosting':>20} {'MLP':>15} {'ours':>15} "
              f"{'ours fit s':>10} {'s/epoch':>8} {'epochs':>6}")
    print(header + "\n" + "-" * len(header))
    fit_s, epoch_s, gaps = {}, {}, {}
    for p in widths:
        scores = {"lr": [], "hgb": [], "mlp": [], "ours": []}
        fits, epochs, per_epoch = [], [], []
        for seed in seeds:
            X, y = make_classification(n_rows, p, n_informative=20, random_state=seed)
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
            lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)
            hgb = HistGradientBoostingClassifier(random_state=seed).fit(X_train, y_train)
            mlp = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)).fit(X_train, y_train)
            ours = TransformerClassifier(random_state=seed, **({"max_epochs": 5} if quick else {}))
            fits.append(timed_fit(ours, X_train, y_train))
            epochs.append(len(ours.history_))
            per_epoch.append(float(np.mean(ours.history_[:, "dur"])))
            for name, model in (("lr", lr), ("hgb", hgb), ("mlp", mlp), ("ours", ours)):
                scores[name].append(model.score(X_test, y_test))
        fit_s[p], epoch_s[p] = np.mean(fits), np.mean(per_epoch)
        gaps[p] = np.mean(scores["ours"]) - max(np.mean(scores["lr"]), np.mean(scores["hgb"]))
        print(f"{p:>7} {mean_std(scores['lr']):>18} {mean_std(scores['hgb']):>20} {mean_std(scores['mlp']):>15} "
              f"{mean_std(scores['ours']):>15} "
              f"{fit_s[p]:>10.1f} {epoch_s[p]:>8.2f} {np.mean(epochs):>6.0f}", flush=True)
    lo, hi = widths[0], widths[-1]
    linear = hi / lo
    print(f"\nours, {hi} / {lo} columns: fit time x{fit_s[hi] / fit_s[lo]:.1f}, time per epoch "
          f"x{epoch_s[hi] / epoch_s[lo]:.1f} (linear: x{linear:.0f}; goal: at most x{linear:.0f})")
    for p in widths:
        print(f"{p:>5} columns: ours minus the better baseline {gaps[p]:+.3f} (goal: at least -0.020)")
    if per_column:
        print("\none epoch with feature_tokens=None (one token per column), seed 0:")
        for p in widths[:2]:
            X, y = make_classification(n_rows, p, n_informative=20, random_state=0)
            X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
            model = TransformerClassifier(feature_tokens=None, max_epochs=1, random_state=0)
            seconds = timed_fit(model, X_train, y_train)
            print(f"{p:>7} columns: {seconds:.2f} s per epoch ({seconds / epoch_s[p]:.1f}x the default's)", flush=True)


def run_anomaly(seeds, quick, sets=None):
    sets = sets or (["arrhythmia"] if quick else WIDE_SETS)
    print(f"\nAttentionAutoencoder, fit on all rows and score them; ROC-AUC over seeds {list(seeds)}\n")
    header = f"{'set':<11} {'rows':>5} {'cols':>4} {'before: AUC':>15} {'fit s':>7} {'after: AUC':>15} {'fit s':>7} {'speed-up':>8}"
    print(header + "\n" + "-" * len(header))
    before_auc, after_auc = [], []
    for name in sets:
        data = np.load(os.path.join(ANOMALY_DATA, name + ".npz"))
        X, y = data["X"].astype(np.float64), data["y"].astype(int)
        if quick:
            rows = np.random.default_rng(0).permutation(len(X))[:500]
            X, y = X[rows], y[rows]
        results = {}
        settings = {"after": "auto"} if X.shape[1] <= 64 else {"before": None, "after": "auto"}
        for label, tokens in settings.items():
            aucs, secs = [], []
            for seed in seeds:
                ae = AttentionAutoencoder(feature_tokens=tokens, random_state=seed,
                                          **({"max_epochs": 3} if quick else {}))
                secs.append(timed_fit(ae, X))
                aucs.append(roc_auc_score(y, -ae.score_samples(X)))
            results[label] = (aucs, np.mean(secs))
        results.setdefault("before", results["after"])  # the same model on a narrow table
        (b_auc, b_s), (a_auc, a_s) = results["before"], results["after"]
        before_auc.append(np.mean(b_auc))
        after_auc.append(np.mean(a_auc))
        print(f"{name:<11} {len(X):>5} {X.shape[1]:>4} {mean_std(b_auc):>15} {b_s:>7.1f} {mean_std(a_auc):>15} "
              f"{a_s:>7.1f} {b_s / a_s:>7.1f}x", flush=True)
    print("-" * len(header))
    print(f"{'mean':<22} {np.mean(before_auc):>15.3f} {'':>7} {np.mean(after_auc):>15.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["tables", "anomaly", "both"], default="both")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from this one (default 0)")
    parser.add_argument("--sets", nargs="*", default=None, choices=WIDE_SETS, help="anomaly sets (default: all five)")
    parser.add_argument("--per-column", action="store_true",
                        help="also time one epoch of feature_tokens=None at 100 and 400 columns")
    parser.add_argument("--quick", action="store_true", help="smoke run: small data, few epochs, 1 seed")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = range(args.first_seed, args.first_seed + (1 if args.quick else args.seeds))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)")
    if args.part in ("tables", "both"):
        run_tables(seeds, args.quick, args.per_column)
    if args.part in ("anomaly", "both"):
        run_anomaly(seeds, args.quick, args.sets)


if __name__ == "__main__":
    main()
