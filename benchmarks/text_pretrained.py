"""SST-2 sentiment with the default pretrained backbone (all-MiniLM-L6-v2) against TF-IDF, same run.

Rows (all trained on the same sample of SST-2 train, scored on SST-2 dev, 872 sentences):

- TF-IDF (word 1-2 grams) + LogisticRegression — the classic baseline;
- TransformerEmbedder() (frozen default model) + LogisticRegression;
- TransformerClassifier(backbone="default"), fine-tuned for 1 epoch (head lr 1e-3, backbone 5e-5),
  with the usual fine-tuning schedule passed as a skorch callback: the learning rates rise
  linearly over the first 6% of steps, then fall linearly to 0 (``--schedule constant`` drops it).

    python benchmarks/text_pretrained.py            # 20,000 training sentences
    python benchmarks/text_pretrained.py --quick    # 2,000
    python benchmarks/text_pretrained.py -n 67349   # all of SST-2 train
"""

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sktransformer import TransformerClassifier, TransformerEmbedder  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data", "text")


def load(n, seed=0):
    train = pd.read_csv(os.path.join(DATA, "sst2_train.tsv"), sep="\t", quoting=3)
    dev = pd.read_csv(os.path.join(DATA, "sst2_dev.tsv"), sep="\t", quoting=3)
    if n < len(train):
        train = train.sample(n, random_state=seed)
    return (train["sentence"].astype(str).tolist(), train["label"].to_numpy(),
            dev["sentence"].astype(str).tolist(), dev["label"].to_numpy())


def timed(fit, score):
    start = time.perf_counter()
    model = fit()
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    acc = score(model)
    return acc, fit_s, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("-n", type=int, default=None, help="training sentences (default 20000, quick 2000)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--schedule", choices=["linear", "constant"], default="linear")
    args = parser.parse_args()
    n = args.n or (2000 if args.quick else 20000)
    X, y, X_dev, y_dev = load(n)
    print(f"SST-2: {len(X)} training sentences, {len(X_dev)} dev sentences")
    rows = []

    tfidf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                          LogisticRegression(C=4.0, max_iter=2000))
    rows.append(("TF-IDF + LogisticRegression",)
                + timed(lambda: tfidf.fit(X, y), lambda m: m.score(X_dev, y_dev)))

    frozen = make_pipeline(TransformerEmbedder(batch_size=128), LogisticRegression(C=1.0, max_iter=2000))
    rows.append(("frozen MiniLM + LogisticRegression",)
                + timed(lambda: frozen.fit(X, y), lambda m: m.score(X_dev, y_dev)))

    callbacks = None
    if args.schedule == "linear":
        from skorch.callbacks import LRScheduler
        from torch.optim.lr_scheduler import LambdaLR

        steps = args.epochs * -(-len(X) // 32)
        warmup = max(1, int(0.06 * steps))

        def warmup_then_decay(step):
            return (step + 1) / warmup if step < warmup else max(0.0, (steps - step) / (steps - warmup))

        callbacks = [LRScheduler(policy=LambdaLR, lr_lambda=warmup_then_decay, step_every="batch")]
    clf = TransformerClassifier(backbone="default", max_epochs=args.epochs, batch_size=32, lr=1e-3,
                                backbone_lr=5e-5, dropout=0.1, callbacks=callbacks, random_state=0, verbose=0)
    rows.append((f"fine-tuned MiniLM ({args.epochs} epoch, {args.schedule} lr)",)
                + timed(lambda: clf.fit(X, y), lambda m: m.score(X_dev, y_dev)))

    print(f"{'model':<38}{'dev acc':>9}{'fit s':>9}{'score s':>9}")
    for name, acc, fit_s, score_s in rows:
        print(f"{name:<38}{acc:>9.3f}{fit_s:>9.1f}{score_s:>9.1f}")
    print("(CPU threads:", os.cpu_count(), "; timings share the machine with other jobs)")
    np.random.seed(0)


if __name__ == "__main__":
    main()
