"""GridSearchCV over four heads on TransformerEmbedder vectors: wall time with and without the cache.

``Pipeline([("emb", TransformerEmbedder()), ("clf", head)])`` with ``cv=5`` fits 4 x 5 candidates
plus the refit; each encodes its training fold and scores its test fold. Without the cache the
model runs on every text about 21 times; with it once per distinct text (in memory for
``n_jobs=1``; with ``cache=<folder>`` once in all for ``n_jobs=2``).

    python benchmarks/grid_cache.py            # 2,000 SST-2 training sentences, the default model
    python benchmarks/grid_cache.py --quick    # 400 sentences
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pandas as pd  # noqa: E402
from sklearn.linear_model import LogisticRegression, RidgeClassifier  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from sktransformer import TransformerEmbedder, _cache  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data", "text")
HEADS = [LogisticRegression(max_iter=1000), RidgeClassifier(), LinearSVC(), KNeighborsClassifier(15)]


class Counting(TransformerEmbedder):
    """Counts the texts that go through the model in this process."""

    n_encoded = 0

    def _run_model(self, batch):
        Counting.n_encoded += len(batch["input_ids"])
        return super()._run_model(batch)


def run(X, y, cache, n_jobs):
    _cache.clear()
    Counting.n_encoded = 0
    pipe = Pipeline([("emb", Counting(cache=cache)), ("clf", HEADS[0])])
    start = time.perf_counter()
    grid = GridSearchCV(pipe, {"clf": HEADS}, cv=5, n_jobs=n_jobs).fit(X, y)
    return time.perf_counter() - start, grid.best_score_, Counting.n_encoded


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("-n", type=int, default=None, help="training sentences (default 2000, quick 400)")
    args = parser.parse_args()
    n = args.n or (400 if args.quick else 2000)
    df = pd.read_csv(os.path.join(DATA, "sst2_train.tsv"), sep="\t", quoting=3).sample(n, random_state=0)
    X, y = df["sentence"].astype(str).tolist(), df["label"].to_numpy()
    TransformerEmbedder(cache=False).fit(X[:2]).transform(X[:2])  # load the model once, outside timing
    print(f"GridSearchCV(cv=5) over {len(HEADS)} heads, {n} SST-2 sentences ({len(set(X))} distinct), "
          f"all-MiniLM-L6-v2, CPU threads={os.cpu_count()}")
    print(f"{'setting':<40}{'wall s':>9}{'texts encoded':>15}{'best cv acc':>13}")
    rows = [("no cache (cache=False), n_jobs=1", False, 1), ("in-process cache (default), n_jobs=1", True, 1)]
    with tempfile.TemporaryDirectory() as folder:
        rows.append(("cache=<folder>, n_jobs=2", folder, 2))
        times = {}
        for name, cache, n_jobs in rows:
            wall, score, encoded = run(X, y, cache, n_jobs)
            times[name] = wall
            shown = encoded if n_jobs == 1 else _count_folder(folder)
            print(f"{name:<40}{wall:>9.1f}{shown:>15}{score:>13.3f}")
    print(f"speed-up of the in-process cache: {times[rows[0][0]] / times[rows[1][0]]:.1f}x")


def _count_folder(folder):
    import numpy as np

    total = 0
    for ns in os.listdir(folder):
        for name in os.listdir(os.path.join(folder, ns)):
            if name.endswith(".npz"):
                with np.load(os.path.join(folder, ns, name)) as shard:
                    total += len(shard["keys"])
    return total


if __name__ == "__main__":
    main()
