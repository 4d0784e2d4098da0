"""Held-out anomaly check on scikit-learn's bundled sets: AttentionAutoencoder's two scores vs IsolationForest.

The ODDS sets of ``benchmarks/anomaly.py`` chose the default ``anomaly_score``; this script checks
that choice on data it was not made on. For each bundled set (iris, wine, breast_cancer, digits)
and each class in turn, the rows of that class are the normal rows and a random 5% as many rows
(at least 3) drawn from the other classes are the outliers. Each detector is fitted on the mixed
rows and scores them (the unsupervised protocol); the table gives the mean ROC-AUC over classes and
seeds.

- density: ``AttentionAutoencoder()`` (the default, ``anomaly_score="density"``), ``-score_samples``;
- reconstruction: the same fitted model's mean reconstruction error, the score of
  ``anomaly_score="reconstruction"`` (``reconstruction_errors(X).mean(axis=1)``);
- IForest: ``IsolationForest(random_state=seed)``.

Run::

    python benchmarks/anomaly_heldout.py            # 3 seeds per class (about 10 minutes on 2 cores)
    python benchmarks/anomaly_heldout.py --quick    # iris only, 1 seed
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from sktransformer import AttentionAutoencoder

SETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer, "digits": load_digits}


def one_class_task(X, y, normal, seed, outlier_share=0.05):
    """Rows of class ``normal`` plus a few rows of the other classes: ``(X_task, is_outlier)``."""
    rng = np.random.RandomState(seed)
    inliers = np.flatnonzero(y == normal)
    k = max(3, int(round(outlier_share * len(inliers))))
    outliers = rng.choice(np.flatnonzero(y != normal), k, replace=False)
    X_task = np.vstack([X[inliers], X[outliers]])
    return X_task, np.r_[np.zeros(len(inliers), dtype=int), np.ones(k, dtype=int)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="iris only, 1 seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = ["iris"] if args.quick else list(SETS)
    seeds = range(1 if args.quick else args.seeds)

    print(f"seeds per class: {len(seeds)}; torch threads: {args.threads}")
    print(f"{'set':<14}{'tasks':>6} | {'density':>8} {'reconstr.':>10} {'IForest':>8} | fit s (AE)")
    means = {"density": [], "reconstruction": [], "IForest": []}
    for name in names:
        X, y = SETS[name](return_X_y=True)
        X = X.astype(np.float64)
        aucs = {k: [] for k in means}
        seconds = 0.0
        for normal in np.unique(y):
            for seed in seeds:
                X_task, is_outlier = one_class_task(X, y, normal, seed)
                start = time.perf_counter()
                ae = AttentionAutoencoder(random_state=seed).fit(X_task)
                seconds += time.perf_counter() - start
                aucs["density"].append(roc_auc_score(is_outlier, -ae.score_samples(X_task)))
                aucs["reconstruction"].append(
                    roc_auc_score(is_outlier, np.nanmean(ae.reconstruction_errors(X_task), axis=1)))
                forest = IsolationForest(random_state=seed).fit(X_task)
                aucs["IForest"].append(roc_auc_score(is_outlier, -forest.score_samples(X_task)))
        row = {k: float(np.mean(v)) for k, v in aucs.items()}
        for k, v in row.items():
            means[k].append(v)
        print(f"{name:<14}{len(aucs['IForest']):>6} | {row['density']:>8.3f} {row['reconstruction']:>10.3f} "
              f"{row['IForest']:>8.3f} | {seconds:.0f}", flush=True)
    print(f"{'mean':<20} | {np.mean(means['density']):>8.3f} {np.mean(means['reconstruction']):>10.3f} "
          f"{np.mean(means['IForest']):>8.3f} |")


if __name__ == "__main__":
    main()
