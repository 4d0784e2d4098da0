"""Unsupervised anomaly detection on the ODDS / ADBench sets: AttentionAutoencoder vs baselines.

Standard unsupervised protocol: fit on all of X, score all of X, ROC-AUC and average precision
against the outlier labels, mean over seeds. Every detector uses its default parameters.

    python benchmarks/anomaly.py              # all ../shared/data/anomaly/*.npz, 5 seeds
    python benchmarks/anomaly.py --quick      # a smoke run: 3 small sets, 1 seed
    python benchmarks/anomaly.py --sets wbc glass --seeds 2 --methods AttentionAE IForest

Detectors (scores oriented so that higher = more anomalous):

- AttentionAE: ``AttentionAutoencoder()`` (default parameters: ``anomaly_score="density"``),
  ``-score_samples``.
- IForest: ``IsolationForest(random_state=seed)`` on the raw features.
- LOF: ``LocalOutlierFactor()`` on standardised features (deterministic: same for every seed).
- MLP-AE: ``MLPRegressor(hidden_layer_sizes=(64, 32, 64))`` trained to rebuild standardised X,
  scored by the mean squared reconstruction error.
"""

import argparse
import glob
import os
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "shared", "data", "anomaly")
QUICK_SETS = ["wbc", "glass", "pima"]


def attention_ae(X, seed):
    from sktransformer import AttentionAutoencoder

    return -AttentionAutoencoder(random_state=seed).fit(X).score_samples(X)


def iforest(X, seed):
    return -IsolationForest(random_state=seed).fit(X).score_samples(X)


def lof(X, seed):
    lof = LocalOutlierFactor().fit(StandardScaler().fit_transform(X))
    return -lof.negative_outlier_factor_


def mlp_ae(X, seed):
    Z = StandardScaler().fit_transform(X)
    mlp = MLPRegressor(hidden_layer_sizes=(64, 32, 64), max_iter=200, random_state=seed).fit(Z, Z)
    return ((mlp.predict(Z) - Z) ** 2).mean(axis=1)


METHODS = {"AttentionAE": attention_ae, "IForest": iforest, "LOF": lof, "MLP-AE": mlp_ae}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 small sets, 1 seed")
    parser.add_argument("--sets", nargs="*", help="set names (default: every .npz)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)

    import warnings

    import torch

    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    # LOF on sets with repeated rows (breastw) warns about duplicates; its score stays as is
    warnings.filterwarnings("ignore", message="Duplicate values are leading", category=UserWarning)
    torch.set_num_threads(args.threads)
    paths = sorted(glob.glob(os.path.join(DATA, "*.npz")))
    names = [os.path.basename(p)[:-4] for p in paths]
    wanted = QUICK_SETS if args.quick and not args.sets else (args.sets or names)
    seeds = range(1 if args.quick else args.seeds)
    missing = sorted(set(wanted) - set(names))
    if missing:
        sys.exit(f"no such set(s) in {DATA}: {missing}")

    methods = args.methods
    header = f"{'dataset':<12}{'n':>7}{'d':>5}{'out%':>6} | " + " | ".join(
        f"{m + ' AUC/AP':>17}" for m in methods) + " | fit s: " + " ".join(f"{m[:6]:>7}" for m in methods)
    print(f"seeds: {len(seeds)}; torch threads: {args.threads}")
    print(header)
    print("-" * len(header))
    results = {m: {} for m in methods}
    for name in wanted:
        data = np.load(os.path.join(DATA, name + ".npz"))
        X, y = data["X"].astype(np.float64), data["y"].astype(int)
        cells, times = [], []
        for m in methods:
            aucs, aps, secs = [], [], []
            for seed in seeds:
                t0 = time.perf_counter()
                score = METHODS[m](X, seed)
                secs.append(time.perf_counter() - t0)
                aucs.append(roc_auc_score(y, score))
                aps.append(average_precision_score(y, score))
            results[m][name] = (np.mean(aucs), np.mean(aps), np.mean(secs))
            cells.append(f"{np.mean(aucs):.3f}±{np.std(aucs):.3f}/{np.mean(aps):.3f}")
            times.append(f"{np.mean(secs):7.1f}")
        print(f"{name:<12}{len(X):>7}{X.shape[1]:>5}{100 * y.mean():>6.1f} | " + " | ".join(
            f"{c:>17}" for c in cells) + " | fit s: " + " ".join(times), flush=True)

    print("-" * len(header))
    mean_cells = [f"{np.mean([v[0] for v in results[m].values()]):.3f}      /"
                  f"{np.mean([v[1] for v in results[m].values()]):.3f}" for m in methods]
    total = [f"{sum(v[2] for v in results[m].values()):7.0f}" for m in methods]
    print(f"{'mean':<30} | " + " | ".join(f"{c:>17}" for c in mean_cells) + " | total: " + " ".join(total))
    if "IForest" in methods:
        for m in methods:
            if m == "IForest":
                continue
            wins = sum(results[m][s][0] >= results["IForest"][s][0] for s in wanted)
            print(f"{m}: ROC-AUC >= IForest on {wins} of {len(wanted)} sets")


if __name__ == "__main__":
    main()
