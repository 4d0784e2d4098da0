"""File size and save / load time of fitted models: joblib (pickle) against the safe format.

One model per estimator and input mode, each fitted for one epoch on a real data set from
``../shared/data`` (sizes and times do not depend on how long a model trained), then written
with ``joblib.dump`` and with ``model.save`` and read back with ``joblib.load`` and
``sktransformer.load``. Times are the median of ``--repeats`` runs in this process, on warm files
(the operating system's cache); a backbone kept by reference is read from its folder each time. Models with a pretrained backbone (the default all-MiniLM-L6-v2)
are also written with ``backbone="embed"`` where the default keeps the backbone by reference.

    python benchmarks/persistence.py            # every model
    python benchmarks/persistence.py --quick    # no pretrained backbone
"""

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes

import sktransformer
from sktransformer import AttentionAutoencoder, TransformerClassifier, TransformerEmbedder, TransformerRegressor

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def sst2(n):
    frame = pd.read_csv(DATA / "text" / "sst2_train.tsv", sep="\t").sample(n=n, random_state=0)
    return frame["sentence"].tolist(), frame["label"].to_numpy()


def clothing(n):
    frame = pd.read_csv(DATA / "mixed" / "clothing_reviews_train.csv").sample(n=n, random_state=0)
    return frame.drop(columns=["rating", "recommended"]), frame["recommended"].to_numpy()


def gunpoint():
    data = np.loadtxt(DATA / "timeseries" / "GunPoint_TRAIN.tsv", delimiter="\t")
    return data[:, 1:, None], data[:, 0].astype(int)


def models(quick):
    """``(name, estimator, X, y, backbone choices of save)``."""
    one = dict(max_epochs=1, random_state=0)
    cancer = load_breast_cancer(as_frame=True)
    diabetes = load_diabetes(as_frame=True)
    text, label = sst2(2000)
    out = [
        ("classifier, text", TransformerClassifier(**one), text, label),
        ("classifier, table", TransformerClassifier(**one), cancer.data, cancer.target.to_numpy()),
        ("regressor, table", TransformerRegressor(**one), diabetes.data, diabetes.target.to_numpy()),
        ("classifier, mixed", TransformerClassifier(**one), *clothing(2000)),
        ("classifier, sequence", TransformerClassifier(**one), *gunpoint()),
        ("autoencoder, table", AttentionAutoencoder(**one), cancer.data, None),
        ("embedder, from scratch", TransformerEmbedder(None, cache=False, **one), text, None),
    ]
    if not quick:
        out += [
            ("embedder, MiniLM as it is", TransformerEmbedder(cache=False), text[:64], None),
            ("classifier, MiniLM frozen", TransformerClassifier(backbone="default", freeze_backbone="all", **one),
             text[:256], label[:256]),
            ("classifier, MiniLM fine-tuned", TransformerClassifier(backbone="default", **one), text[:256], label[:256]),
        ]
    return out


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def fresh_load(file):
    """``sktransformer.load`` without the process's copy of a backbone folder (a referenced
    backbone is read from its folder, as in a new process)."""
    from sktransformer import _backbone

    _backbone._LOADED.clear()
    return sktransformer.load(file)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the pretrained backbones")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, model, X, y in models(args.quick):
            model.fit(X, y) if y is not None else model.fit(X)
            path = os.path.join(folder, "model")
            _, dump = timed(lambda: joblib.dump(model, path + ".joblib"), args.repeats)
            _, jload = timed(lambda: joblib.load(path + ".joblib"), args.repeats)
            variants = [("auto", path + ".skt")]
            if getattr(model, "backbone", None) is not None and (model.freeze_backbone == "all"
                                                                  or isinstance(model, TransformerEmbedder)):
                variants.append(("embed", path + "-embed.skt"))
            for choice, file in variants:
                _, save = timed(lambda: model.save(file, backbone=choice), args.repeats)
                _, load = timed(lambda: fresh_load(file), args.repeats)
                label = name if choice == "auto" else f"{name}, embedded"
                rows.append((label, os.path.getsize(path + ".joblib") / 1e6, os.path.getsize(file) / 1e6,
                             dump, save, jload, load))
            print(f"done: {name}", flush=True)
    header = ("model", "joblib MB", "safe MB", "size ratio", "joblib save s", "safe save s",
              "joblib load s", "safe load s", "load ratio")
    print()
    print(" | ".join(header))
    for label, jsize, ssize, dump, save, jload, load in rows:
        print(f"{label} | {jsize:.2f} | {ssize:.2f} | {ssize / jsize:.2f} | {dump:.3f} | {save:.3f} | "
              f"{jload:.3f} | {load:.3f} | {load / jload:.2f}")


if __name__ == "__main__":
    main()
