"""Tables with holes: ours on the raw holes against imputing first, and HistGradientBoosting.

The nine tables of ``benchmarks/tabular.py`` (breast_cancer, wine, digits, diabetes and the held-out
ionosphere, pima, breastw, fault, spambase), each with holes knocked into its numeric cells, in
three settings:

- ``mcar10`` / ``mcar30``: 10% / 30% of all cells, completely at random;
- ``mnar30``: in half of the columns (drawn per seed), the 30% largest values: missing not at
  random, the hole itself says "large" (as an income left blank by the richest).

For each seed (0, 1, 2 by default) the holes and a 75/25 split (stratified for classes) are drawn
with that seed, the same for every model; the test rows have holes too. Models, every seeded one
with ``random_state=seed``:

- ``ours``: ``TransformerClassifier`` / ``TransformerRegressor`` with its defaults, on the raw
  holes (a learned missing token per column);
- ``impute + ours``: ``SimpleImputer()`` (column means) then ours;
- ``impute + MLP``: ``SimpleImputer()``, ``StandardScaler()``, ``MLPClassifier(max_iter=2000)`` /
  ``MLPRegressor(max_iter=5000)``;
- ``HistGradientBoosting``: on the raw holes (its own missing-value branches).

Score: accuracy (R^2 for diabetes) on the test rows. Goal: ours on the raw holes at least
``impute + ours`` in every table and setting, and ahead of it on ``mnar30``.

Each finished cell is appended to ``--out`` (JSON lines) and skipped when the script runs again; two
processes may share one file (``--datasets`` split between them). ``--summary`` prints the tables of
the file: mean (sd over seeds) per model, ours minus ``impute + ours``, and mean ranks.

    python benchmarks/missing.py --out missing.jsonl                     # everything, seeds 0-2
    python benchmarks/missing.py --out missing.jsonl --datasets wine pima --settings mnar30
    python benchmarks/missing.py --out missing.jsonl --summary
"""

import argparse
import json
import os
import platform
import time

import numpy as np

SETTINGS = ("mcar10", "mcar30", "mnar30")
MODELS = ("ours", "impute + ours", "impute + MLP", "HistGradientBoosting")


def knock_out(X, setting, rng):
    """A float copy of ``X`` with the holes of ``setting`` (NaN)."""
    X = np.array(X, dtype=np.float64)
    n, d = X.shape
    if setting.startswith("mcar"):
        share = int(setting[4:]) / 100
        cells = rng.choice(n * d, int(round(share * n * d)), replace=False)
        X[np.unravel_index(cells, X.shape)] = np.nan
        return X
    share = int(setting[4:]) / 100
    for j in rng.choice(d, d // 2, replace=False):
        order = np.argsort(X[:, j], kind="stable")  # ties: the later rows count as larger
        X[order[n - int(round(share * n)):], j] = np.nan
    return X


def make_model(name, task, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sktransformer import TransformerClassifier, TransformerRegressor

    clf = task == "clf"
    ours = (TransformerClassifier if clf else TransformerRegressor)(random_state=seed)
    if name == "ours":
        return ours
    if name == "impute + ours":
        return make_pipeline(SimpleImputer(), ours)
    if name == "impute + MLP":
        mlp = MLPClassifier(max_iter=2000, random_state=seed) if clf else MLPRegressor(max_iter=5000, random_state=seed)
        return make_pipeline(SimpleImputer(), StandardScaler(), mlp)
    return (HistGradientBoostingClassifier if clf else HistGradientBoostingRegressor)(random_state=seed)


def run_cell(name, setting, seed, model_name):
    from sklearn.model_selection import train_test_split

    from tabular import ALL_DATASETS

    loader, task = ALL_DATASETS[name]
    X, y = loader(return_X_y=True)
    X = knock_out(X, setting, np.random.RandomState(seed))
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed,
                                              stratify=y if task == "clf" else None)
    model = make_model(model_name, task, seed)
    start = time.perf_counter()
    model.fit(X_tr, y_tr)
    fit_s = time.perf_counter() - start
    return {"data": name, "setting": setting, "seed": seed, "model": model_name,
            "score": float(model.score(X_te, y_te)), "fit_s": fit_s}


def read(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summary(rows):
    from scipy.stats import rankdata

    cells = {}
    for r in rows:
        cells.setdefault((r["data"], r["setting"]), {}).setdefault(r["model"], {})[r["seed"]] = r["score"]
    ranks, gaps = {m: [] for m in MODELS}, {s: [] for s in SETTINGS}
    print(f"{'table':<14} {'holes':<7} " + " ".join(f"{m:>22}" for m in MODELS) + "   ours - impute+ours")
    for (data, setting), by_model in sorted(cells.items(), key=lambda kv: (kv[0][0], SETTINGS.index(kv[0][1]))):
        seeds = sorted(set.intersection(*(set(v) for v in by_model.values()))) if len(by_model) == len(MODELS) else []
        line = f"{data:<14} {setting:<7} "
        for m in MODELS:
            scores = [by_model.get(m, {}).get(s) for s in sorted(by_model.get(m, {}))]
            line += f"{np.mean(scores):>13.4f} ({np.std(scores):.3f})" if scores else f"{'-':>22}"
        if seeds:
            means = {m: np.mean([by_model[m][s] for s in seeds]) for m in MODELS}
            for m, r in zip(MODELS, rankdata([-means[m] for m in MODELS])):
                ranks[m].append(r)
            diff = [by_model["ours"][s] - by_model["impute + ours"][s] for s in seeds]
            gaps[setting].append(np.mean(diff))
            line += f"   {np.mean(diff):+.4f} ({min(diff):+.3f}..{max(diff):+.3f}, {len(seeds)} seeds)"
        print(line)
    done = [m for m in MODELS if ranks[m]]
    if done:
        print(f"\nmean rank over {len(ranks['ours'])} complete cells (1 = best): "
              + "  ".join(f"{m} {np.mean(ranks[m]):.2f}" for m in done))
        for s in SETTINGS:
            if gaps[s]:
                g = np.array(gaps[s])
                print(f"{s}: ours - impute + ours, mean over tables {g.mean():+.4f}; "
                      f"ahead in {int((g > 0).sum())}, tied in {int((g == 0).sum())}, behind in {int((g < 0).sum())} "
                      f"of {len(g)} tables")


def main():
    from tabular import ALL_DATASETS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="missing.jsonl", help="results file (JSON lines, resumable)")
    parser.add_argument("--datasets", nargs="*", default=list(ALL_DATASETS), choices=list(ALL_DATASETS))
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--summary", action="store_true", help="print the tables of --out only")
    args = parser.parse_args()
    if not args.summary:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
              f"threads {args.threads}; results: {args.out}", flush=True)
        for name in args.datasets:
            for setting in args.settings:
                for seed in range(args.seeds):
                    for model in args.models:
                        done = {(r["data"], r["setting"], r["seed"], r["model"]) for r in read(args.out)}
                        if (name, setting, seed, model) in done:
                            continue
                        with threadpool_limits(args.threads):
                            row = run_cell(name, setting, seed, model)
                        print(row, flush=True)
                        with open(args.out, "a") as f:
                            f.write(json.dumps(row) + "\n")
    summary(read(args.out))


if __name__ == "__main__":
    main()
