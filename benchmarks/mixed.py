"""Mixed DataFrames (free text beside numbers and categories): one TransformerClassifier vs baselines.

Trains on the train split of a CSV pair and scores on the test split. By default the Women's
E-Commerce Clothing Reviews (``../shared/data/mixed/``: title and review text, age, feedback
count, division / department / class; target ``recommended``, or with ``--target rating`` the
5-class rating, the other target dropped from the features). Rows, one per model, over
``--seeds`` seeds for ours (the baselines are deterministic):

* ``TransformerClassifier(random_state=s)``: every parameter at its default, learned from
  scratch (the text columns are found by ``text_columns="auto"``);
* ``TransformerClassifier(backbone="default", random_state=s)`` with ``--backbone``: the text
  columns through all-MiniLM-L6-v2, fine-tuned (``--freeze all``: frozen);
* (1) HistGradientBoosting on the numeric and categorical columns (native categories);
* (2) TF-IDF of word 1-2 grams of the text columns joined + LogisticRegression(C=4);
* (3) all columns: that TF-IDF + one-hot categories + scaled numbers, LogisticRegression(C=4);
* (4) frozen MiniLM sentence vectors of the joined text (``TransformerEmbedder``, cached on
  disk) + one-hot + scaled numbers, LogisticRegression(C=4);
* (5) the same features, HistGradientBoosting (``--no-minilm`` skips 4 and 5: embedding the
  corpus once costs about 20 minutes on 2 CPU cores).

Columns: accuracy and ROC-AUC (binary) or macro-F1 (several classes), mean ± std over the
seeds, and the fit time in seconds (wall clock, mean). The mean rank over the score columns is
printed last.

Any other data: ``--train A.csv --test B.csv --target y`` (text columns found as ours finds
them; ``--drop`` names columns to leave out). A target of many distinct numbers is a regression:
``TransformerRegressor`` against Ridge / HistGradientBoostingRegressor on the same features, scored
by R^2 and mean absolute error. Missing numbers are filled with the training medians for every
model (said in the header).

Run::

    python benchmarks/mixed.py --seeds 3                     # ours from scratch + baselines
    python benchmarks/mixed.py --target rating --seeds 3 --no-minilm
    python benchmarks/mixed.py --backbone --seeds 1 --train-rows 4000   # the pretrained backbone
    python benchmarks/mixed.py --quick                        # a smoke run (2,000 rows)
"""

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score
from sklearn.utils.multiclass import type_of_target
from sklearn.pipeline import FunctionTransformer, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktransformer import TransformerClassifier, TransformerEmbedder, TransformerRegressor
from sktransformer._validation import split_frame_columns

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mixed"
CACHE = Path(os.environ.get("SKTRANSFORMER_BENCH_CACHE", Path.home() / ".cache" / "sktransformer-bench"))


def load(args):
    if args.train:
        train, test = pd.read_csv(args.train), pd.read_csv(args.test)
        drop = [args.target] + list(args.drop)
    else:
        train = pd.read_csv(DATA / "clothing_reviews_train.csv")
        test = pd.read_csv(DATA / "clothing_reviews_test.csv")
        drop = ["rating", "recommended"]
    if args.train_rows:
        train = train.sample(n=min(args.train_rows, len(train)), random_state=0)
    return (train.drop(columns=drop), train[args.target].to_numpy(),
            test.drop(columns=drop), test[args.target].to_numpy())


def joined_text(text_columns):
    """The text columns of a frame joined by '. ' (missing texts left out), as one column."""
    def join(frame):
        return frame[text_columns].fillna("").astype(str).agg(". ".join, axis=1).str.strip(". ")
    return FunctionTransformer(join)


def baselines(text, categorical, numeric, minilm, regression=False):
    onehot = OneHotEncoder(handle_unknown="ignore")
    cats = make_pipeline(FunctionTransformer(lambda f: f.astype(object).fillna("missing")), onehot)
    tfidf = make_pipeline(joined_text(text), TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2))
    lr = Ridge(alpha=1.0) if regression else LogisticRegression(C=4, max_iter=2000)
    hgb = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    linear = "Ridge" if regression else "LR"

    def native(frame):
        out = frame[categorical + numeric].copy()
        for c in categorical:
            out[c] = out[c].astype("category")
        return out

    models = {
        "(1) HGB, numbers + categories": make_pipeline(
            FunctionTransformer(native), hgb(categorical_features="from_dtype", random_state=0)),
        f"(2) TF-IDF + {linear}, text": make_pipeline(tfidf, lr),
        f"(3) TF-IDF + one-hot + scaled, {linear}": make_pipeline(ColumnTransformer(
            [("text", tfidf, text), ("cat", cats, categorical), ("num", StandardScaler(), numeric)]), lr),
    }
    if minilm:
        embed = make_pipeline(joined_text(text), FunctionTransformer(lambda s: s.tolist()),
                              TransformerEmbedder(cache=str(CACHE)))
        features = ColumnTransformer(
            [("text", embed, text), ("cat", cats, categorical), ("num", StandardScaler(), numeric)],
            sparse_threshold=0)
        models[f"(4) MiniLM + one-hot + scaled, {linear}"] = make_pipeline(features, lr)
        models["(5) MiniLM + one-hot + scaled, HGB"] = make_pipeline(features, hgb(random_state=0))
    return models


def scores(model, X, y, binary, regression=False):
    """(accuracy, ROC-AUC or macro-F1), or for a regression (R^2, mean absolute error)."""
    if regression:
        pred = model.predict(X)
        return r2_score(y, pred), mean_absolute_error(y, pred)
    proba = model.predict_proba(X)
    pred = model.classes_[proba.argmax(axis=1)]
    second = roc_auc_score(y, proba[:, 1]) if binary else f1_score(y, pred, average="macro")
    return accuracy_score(y, pred), second


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="recommended")
    parser.add_argument("--train")
    parser.add_argument("--test")
    parser.add_argument("--drop", nargs="*", default=[])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--train-rows", type=int, default=None, help="a random sample of the training rows")
    parser.add_argument("--backbone", action="store_true", help="also backbone='default'")
    parser.add_argument("--freeze", default="none", help="freeze_backbone with --backbone")
    parser.add_argument("--max-epochs", default="auto", help="max_epochs of ours (an int, or auto)")
    parser.add_argument("--no-scratch", action="store_true")
    parser.add_argument("--no-minilm", action="store_true")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.train_rows, args.seeds, args.no_minilm = 2000, 1, True
    max_epochs = args.max_epochs if args.max_epochs == "auto" else int(args.max_epochs)

    X, y, X_test, y_test = load(args)
    text, categorical = split_frame_columns(X)
    numeric = [c for c in X.columns if c not in text + categorical]
    regression = type_of_target(y) == "continuous"
    binary = not regression and len(np.unique(y)) == 2
    first, second = ("R^2", "MAE") if regression else ("accuracy", "ROC-AUC" if binary else "macro-F1")
    gaps = [c for c in numeric if X[c].isna().any() or X_test[c].isna().any()]
    if gaps:  # every model gets the same filled numbers (ours takes no missing numbers yet)
        medians = X[gaps].median()
        X, X_test = X.fillna(medians), X_test.fillna(medians)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"scikit-learn {sklearn.__version__}, {torch.get_num_threads()} threads")
    print(f"# train {len(X)} rows, test {len(X_test)}; target {args.target!r} ({len(np.unique(y))} classes)")
    print(f"# text {text}, categorical {categorical}, numeric {numeric}")
    if gaps:
        print(f"# missing numbers in {gaps} filled with the training medians for every model")

    results = {}
    candidates = {}
    ours = TransformerRegressor if regression else TransformerClassifier
    if not args.no_scratch:
        candidates["ours, from scratch"] = ours(max_epochs=max_epochs)
    if args.backbone:
        candidates[f"ours, backbone='default' (freeze {args.freeze})"] = ours(
            backbone="default", freeze_backbone=args.freeze, max_epochs=max_epochs)
    for name, model in candidates.items():
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            start = time.perf_counter()
            model.set_params(random_state=seed).fit(X, y)
            fit_s = time.perf_counter() - start
            acc, sec = scores(model, X_test, y_test, binary, regression)
            results.setdefault(name, []).append((acc, sec, fit_s))
            print(f"  {name}, seed {seed}: {first} {acc:.4f}, {second} {sec:.4f}, fit {fit_s:.0f} s", flush=True)
    if not args.no_baselines:
        for name, model in baselines(text, categorical, numeric, not args.no_minilm, regression).items():
            start = time.perf_counter()
            model.fit(X, y)
            fit_s = time.perf_counter() - start
            acc, sec = scores(model, X_test, y_test, binary, regression)
            results[name] = [(acc, sec, fit_s)]
            print(f"  {name}: {first} {acc:.4f}, {second} {sec:.4f}, fit {fit_s:.0f} s", flush=True)

    print()
    print(f"| model | {first} | {second} | fit s |")
    print("|---|---|---|---|")
    table = {}
    for name, rows in results.items():
        r = np.asarray(rows)
        table[name] = r[:, :2].mean(axis=0)
        spread = [f"{r[:, k].mean():.4f} ± {r[:, k].std():.4f}" if len(r) > 1 else f"{r[0, k]:.4f}" for k in (0, 1)]
        print(f"| {name} | {spread[0]} | {spread[1]} | {r[:, 2].mean():.0f} |")
    names = list(table)
    means = np.array([table[n] for n in names])
    signs = [-1, 1] if regression else [-1, -1]  # a lower MAE is better
    ranks = np.mean([pd.Series(signs[k] * means[:, k]).rank().to_numpy() for k in range(2)], axis=0)
    print(f"\nmean rank ({first} and {second}): " + ", ".join(
        f"{n} {r:.1f}" for n, r in sorted(zip(names, ranks), key=lambda t: t[1])))


if __name__ == "__main__":
    main()
