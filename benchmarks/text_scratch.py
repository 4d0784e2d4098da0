"""From-scratch text classification on SST-2: TransformerClassifier() with its defaults vs baselines.

Trains, on the SST-2 train split (67,349 phrases and sentences) and scores on the dev split (872
sentences, the usual test set):

* ``TransformerClassifier(random_state=0)`` -- every other parameter at its default, so with its
  wide part (``wide="auto"``: a linear model over subword unigrams and bigrams, trained with the
  transformer);
* ``TransformerClassifier(wide=False, random_state=0)`` -- the transformer alone;
* with ``--ensemble N``, a soft-voting :class:`~sklearn.ensemble.VotingClassifier` of N default
  models with ``random_state=0, 1, ...``: scikit-learn's own way to average models;
* TF-IDF on word 1-2 grams + ``LogisticRegression`` (the bag-of-words bar to clear);
* "the seeds' encoder": a plain PyTorch loop around ``torch.nn.TransformerEncoder`` (20,000 most
  frequent lowercase words, fixed padding to 64 tokens, d_model 64, 4 heads, feed-forward 128,
  2 layers, mean pooling, 3 epochs of Adam at lr 1e-3, batch 64).

It prints the machine, then one row per model: dev accuracy, training time, seconds per epoch,
training and prediction throughput (samples per second, wall clock).

The data are read from ``../shared/data/text/`` beside the project root (see its README.md); pass
``--data-dir`` to read them elsewhere. ``--quick`` is a smoke run: 10,000 training rows and one or
two epochs per neural model.

``--dataset ag_news`` and ``--dataset sms_spam`` run the same rows on the AG News sample (10,001
training rows, the 7,600-row test split) and on SMS spam (a stratified quarter held out);
``--seeds N`` fits our models with ``random_state=0..N-1`` and prints mean and std.

Run::

    python benchmarks/text_scratch.py            # the full benchmark (about 5 minutes on 2 cores)
    python benchmarks/text_scratch.py --dataset ag_news --seeds 3 --defaults-only
    python benchmarks/text_scratch.py --ensemble 3   # and a vote of 3 defaults (about 3 minutes more)
    python benchmarks/text_scratch.py --quick    # a smoke run (about a minute)
"""

import argparse
import math
import os
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import skorch
import torch
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from torch import nn

from sktransformer import TransformerClassifier

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text"


#: Corpora: (train file, test file, read_csv options, text column).
DATASETS = {
    "sst2": ("sst2_train.tsv", "sst2_dev.tsv", dict(sep="\t", quoting=3), "sentence"),
    "ag_news": ("ag_news_train.csv", "ag_news_test.csv", {}, "text"),
    "sms_spam": ("sms_spam.csv", None, dict(keep_default_na=False), "text"),
}


def load_corpus(name, data_dir, n_train=None):
    """Train and test texts and labels of one corpus; SMS spam has no split of its own, so a
    stratified quarter of it (``random_state=0``) is the test set."""
    train_file, test_file, options, column = DATASETS[name]

    def read(file):
        frame = pd.read_csv(Path(data_dir) / file, **options)
        return frame[column].tolist(), np.array(frame["label"])  # a writable copy

    X_train, y_train = read(train_file)
    if test_file is None:
        X_train, X_dev, y_train, y_dev = train_test_split(
            X_train, y_train, test_size=0.25, stratify=y_train, random_state=0
        )
    else:
        X_dev, y_dev = read(test_file)
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return X_train, y_train, X_dev, y_dev


# ---------------------------------------------------------------------------- the seeds' encoder
class SeedsEncoder(nn.Module):
    """Token + learned position embeddings -> nn.TransformerEncoder -> masked mean -> linear."""

    def __init__(self, vocab_size, n_classes, max_length=64, d_model=64, n_heads=4, dim_feedforward=128,
                 n_layers=2):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.pos = nn.Embedding(max_length, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward, dropout=0.1, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, ids):  # ids: (B, T), 0 = padding
        mask = ids != 0  # (B, T)
        x = self.tok(ids) + self.pos.weight[: ids.shape[1]]  # (B, T, C)
        x = self.encoder(x, src_key_padding_mask=~mask)  # (B, T, C)
        m = mask[:, :, None].to(x.dtype)  # (B, T, 1)
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1)  # (B, C)
        return self.head(pooled)  # (B, n_classes)


class SeedsBaseline:
    """Word vocabulary (20,000 most frequent lowercase words, 1 = unknown, 0 = padding), fixed length."""

    def __init__(self, n_words=20_000, max_length=64, max_epochs=3, batch_size=64, lr=1e-3, seed=0):
        self.n_words, self.max_length = n_words, max_length
        self.max_epochs, self.batch_size, self.lr, self.seed = max_epochs, batch_size, lr, seed

    def _ids(self, texts):
        ids = np.zeros((len(texts), self.max_length), dtype=np.int64)
        for i, text in enumerate(texts):
            row = [self.vocab_.get(w, 1) for w in text.lower().split()[: self.max_length]]
            ids[i, : len(row)] = row
        return torch.from_numpy(ids)

    def fit(self, texts, y):
        torch.manual_seed(self.seed)
        counts = Counter(w for text in texts for w in text.lower().split())
        self.vocab_ = {w: i + 2 for i, (w, _) in enumerate(counts.most_common(self.n_words))}
        ids, y = self._ids(texts), torch.as_tensor(y, dtype=torch.int64)
        self.model_ = SeedsEncoder(len(self.vocab_) + 2, int(y.max()) + 1, self.max_length)
        opt = torch.optim.Adam(self.model_.parameters(), lr=self.lr)
        loss_fn = nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(self.seed)
        self.epoch_seconds_ = []
        self.model_.train()
        for _ in range(self.max_epochs):
            start = time.perf_counter()
            for batch in torch.randperm(len(y), generator=generator).split(self.batch_size):
                opt.zero_grad()
                loss = loss_fn(self.model_(ids[batch]), y[batch])
                loss.backward()
                opt.step()
            self.epoch_seconds_.append(time.perf_counter() - start)
        return self

    @torch.inference_mode()
    def predict(self, texts):
        self.model_.eval()
        ids = self._ids(texts)
        return torch.cat([self.model_(b).argmax(1) for b in ids.split(512)]).numpy()


# ---------------------------------------------------------------------------- runs
def timed(model, X_train, y_train, X_dev, y_dev):
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(X_dev)
    predict_s = time.perf_counter() - start
    return {
        "dev_accuracy": float(np.mean(pred == y_dev)),
        "train_s": fit_s,
        "train_samples_per_s": len(X_train) * _epochs(model) / fit_s,
        "predict_samples_per_s": len(X_dev) / predict_s,
    }


def _members(model):
    """The TransformerClassifiers inside ``model`` (itself, or a VotingClassifier's fitted members)."""
    if isinstance(model, TransformerClassifier):
        return [model]
    return [m for m in getattr(model, "estimators_", []) if isinstance(m, TransformerClassifier)]


def _epochs(model):
    members = _members(model)
    if members:
        return sum(len(m.history_) for m in members)  # every member's passes
    if isinstance(model, SeedsBaseline):
        return model.max_epochs
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 10,000 rows, 1-2 epochs")
    parser.add_argument("--dataset", default="sst2", choices=list(DATASETS))
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="fit each of our models with random_state=0..N-1 and print mean and std")
    parser.add_argument("--defaults-only", action="store_true",
                        help="only TF-IDF + LogisticRegression and TransformerClassifier() (its defaults)")
    parser.add_argument("--ensemble", type=int, default=0,
                        help="models in a soft-voting row (seeds 0..N-1); 0 (default) leaves the row out")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    X_train, y_train, X_dev, y_dev = load_corpus(args.dataset, args.data_dir, 10_000 if args.quick else None)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), skorch {skorch.__version__}, scikit-learn {sklearn.__version__}"
    )
    print(f"{args.dataset}: {len(X_train)} train rows, {len(X_dev)} test rows{' (--quick)' if args.quick else ''}\n")

    ours = TransformerClassifier(random_state=0)
    if args.quick:
        ours.set_params(max_epochs=2)
    models = {
        "TF-IDF 1-2 grams + LogisticRegression": make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2)),
            LogisticRegression(C=10.0, max_iter=1000),  # C tuned on SST-2 dev: 0.806 at C=1
        ),
        "TransformerClassifier() defaults": ours,
    }
    if not args.defaults_only:
        models["TransformerClassifier(wide=False)"] = clone(ours).set_params(wide=False)
        models["seeds' encoder (plain PyTorch loop)"] = SeedsBaseline(max_epochs=1 if args.quick else 3)
    if args.ensemble:
        members = [(f"seed{s}", clone(ours).set_params(random_state=s)) for s in range(args.ensemble)]
        name = f"soft vote of {args.ensemble} defaults (seeds 0-{args.ensemble - 1})"
        models[name] = VotingClassifier(members, voting="soft")
    rows = {}
    for name, model in models.items():
        seeded = isinstance(model, TransformerClassifier)
        runs = []
        for seed in range(args.seeds if seeded else 1):
            if seeded:
                model = clone(model).set_params(random_state=seed)
            run = timed(model, X_train, y_train, X_dev, y_dev)
            members = _members(model)
            if members:
                run["s_per_epoch"] = float(np.mean([d for m in members for d in m.history_[:, "dur"]]))
                run["epochs"] = len(members[0].history_)
            elif isinstance(model, SeedsBaseline):
                run["s_per_epoch"] = float(np.mean(model.epoch_seconds_))
            else:
                run["s_per_epoch"] = math.nan
            runs.append(run)
            print(f"  done: {name}{f' seed {seed}' if seeded else ''}: accuracy {run['dev_accuracy']:.3f} "
                  f"({run['train_s']:.0f} s)", flush=True)
        rows[name] = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
        rows[name]["std"] = float(np.std([r["dev_accuracy"] for r in runs])) if len(runs) > 1 else math.nan

    header = (f"{'model':<44} {'test acc':>8} {'± std':>6} {'train s':>8} {'s/epoch':>8} {'train samp/s':>13} "
              f"{'pred samp/s':>12}")
    print("\n" + header + "\n" + "-" * len(header))
    for name, r in rows.items():
        per_epoch = "-" if math.isnan(r["s_per_epoch"]) else f"{r['s_per_epoch']:.1f}"
        std = "" if math.isnan(r["std"]) else f"{r['std']:.3f}"
        print(
            f"{name:<44} {r['dev_accuracy']:>8.3f} {std:>6} {r['train_s']:>8.0f} {per_epoch:>8} "
            f"{r['train_samples_per_s']:>13.0f} {r['predict_samples_per_s']:>12.0f}"
        )
    print("\ntrain samp/s counts every epoch (rows x epochs / training seconds); TF-IDF + LR is one pass.")
    if args.seeds > 1:
        print(f"Our rows: mean and std over random_state=0..{args.seeds - 1}; the others are fitted once.")
    print(f"TransformerClassifier(): {rows['TransformerClassifier() defaults']['epochs']:.0f} epochs "
          f"(max_epochs={ours.max_epochs!r})")
    p = ours.get_params()
    print(
        "TransformerClassifier defaults: "
        + ", ".join(f"{k}={p[k]!r}" for k in (
            "d_model", "n_heads", "n_layers", "dim_feedforward", "dropout", "tokenizer", "vocab_size",
            "max_length", "pooling", "wide", "max_epochs", "batch_size", "lr", "weight_decay",
            "optimizer"))
    )


if __name__ == "__main__":
    main()
