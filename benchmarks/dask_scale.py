"""Work beyond one process: a Dask LocalCluster (2 workers x 1 thread) against this process alone.

Three jobs, each timed both ways in one run, with the peak resident memory of each worker (and
the peak rise of this process's for the in-process side). ``.compute()`` of the whole output
gathers it on one worker before it reaches this process, so that worker's peak holds the whole
output (twice, while it is concatenated); the others hold the model and their partitions:

1. ``--n-texts`` texts (real sentences from ``../shared/data/text``, cycled) embedded with the
   default model (``TransformerEmbedder(cache=False)``): ``transform(list)`` in process against
   ``transform(dask.bag)`` on the cluster.
2. ``--n-rows`` table rows predicted by a ``TransformerClassifier`` fitted on 2,000 rows:
   ``predict_proba(DataFrame)`` against ``predict_proba(dask DataFrame)``.
3. ``GridSearchCV(cv=5)`` over four heads of ``Pipeline([TransformerEmbedder(cache=<folder>),
   head])`` on ``--n-search`` SST-2 sentences: ``n_jobs=1`` against the Dask joblib backend, each
   with a new cache folder, and the number of texts each side encoded.

    python benchmarks/dask_scale.py            # 200,000 texts, 1,000,000 rows, 2,000 texts searched
    python benchmarks/dask_scale.py --quick    # 4,000 texts, 50,000 rows, 500 texts searched
"""

import argparse
import itertools
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text"


def texts(n):
    pool = (pd.read_csv(DATA / "sst2_train.tsv", sep="\t")["sentence"].tolist()
            + pd.read_csv(DATA / "ag_news_train.csv")["text"].tolist())
    return list(itertools.islice(itertools.cycle(pool), n))


def table(n, seed=0):
    from sktransformer.datasets import make_customers

    return make_customers(n, random_state=seed)


class PeakRSS:
    """Peak rise of this process's resident memory while the block runs (sampled every 20 ms)."""

    def __enter__(self):
        import psutil

        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.rise_mb = (self.peak - self.start) / 1e6


def _peak_rss_mb():
    """This process's peak resident memory since it started (``VmHWM``; ``ru_maxrss`` would count
    the memory of the process it was forked from)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1e3 for line in f if line.startswith("VmHWM"))


def worker_peak_mb(client):
    """Peak resident memory of each worker process since it started (MB)."""
    return sorted(client.run(_peak_rss_mb).values())


def _warm_up():
    import torch

    import sktransformer  # noqa: F401

    return torch.get_num_threads()


def cluster():
    """A new LocalCluster and its client, its workers having imported sktransformer and torch
    (this process has: their import time is not part of the jobs)."""
    from distributed import Client, LocalCluster

    local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(local)
    client.run(_warm_up)
    print(f"workers after importing sktransformer: {' / '.join(f'{p:.0f}' for p in worker_peak_mb(client))} MB",
          flush=True)
    return local, client


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def both_ways(in_process, on_cluster):
    """``(output, seconds, peak rise MB)`` of ``in_process()`` here and ``(output, seconds, worker
    peaks MB)`` of ``on_cluster()`` on a new LocalCluster."""
    with PeakRSS() as mem:
        local, t_local = timed(in_process)
    local_cluster, client = cluster()
    with client:
        remote, t_remote = timed(on_cluster)
        peaks = worker_peak_mb(client)
    local_cluster.close()
    return (local, t_local, mem.rise_mb), (remote, t_remote, peaks)


def encoded(folder):
    """Texts encoded into an embedding cache folder (one key per encoded text in its shard files)."""
    return sum(len(np.load(f)["keys"]) for f in Path(folder).rglob("*.npz"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-texts", type=int, default=200_000)
    parser.add_argument("--n-rows", type=int, default=1_000_000)
    parser.add_argument("--n-search", type=int, default=2_000)
    args = parser.parse_args()
    if args.quick:
        args.n_texts, args.n_rows, args.n_search = 4_000, 50_000, 500

    import dask.bag as db
    import dask.dataframe as dd
    import joblib
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline

    from sktransformer import TransformerClassifier, TransformerEmbedder

    rows = []

    # 1. embedding
    docs = texts(args.n_texts)
    emb = TransformerEmbedder(cache=False).fit(docs[:10])
    bag = db.from_sequence(docs, npartitions=max(2, args.n_texts // 5_000))
    (local, t_local, rise), (remote, t_remote, peaks) = both_ways(
        lambda: emb.transform(docs), lambda: emb.transform(bag).compute())
    cosine = float(np.min(np.sum(local * remote, axis=1)))
    rows.append((f"embed {args.n_texts:,} texts (default model)", t_local, t_remote, rise, peaks,
                 f"{args.n_texts / t_local:,.0f} / {args.n_texts / t_remote:,.0f} texts/s; min cosine {cosine:.6f}"))

    # 2. table prediction
    X, y = table(2_000)
    clf = TransformerClassifier(max_epochs=5, random_state=0).fit(X, y)
    big, _ = table(args.n_rows, seed=1)
    frame = dd.from_pandas(big, npartitions=max(2, args.n_rows // 50_000))
    (local, t_local, rise), (remote, t_remote, peaks) = both_ways(
        lambda: clf.predict_proba(big), lambda: clf.predict_proba(frame).compute())
    rows.append((f"predict {args.n_rows:,} table rows", t_local, t_remote, rise, peaks,
                 f"{args.n_rows / t_local:,.0f} / {args.n_rows / t_remote:,.0f} rows/s; max |diff| "
                 f"{float(np.abs(local - remote).max()):.1e}"))

    # 3. grid search over four heads
    search_texts = pd.read_csv(DATA / "sst2_train.tsv", sep="\t").sample(n=args.n_search, random_state=0)
    Xs, ys = search_texts["sentence"].tolist(), search_texts["label"].to_numpy()
    heads = {"head": [LogisticRegression(C=0.1, max_iter=1000), LogisticRegression(C=10.0, max_iter=1000),
                      RidgeClassifier(), KNeighborsClassifier(5)]}

    def search(folder):
        pipe = Pipeline([("emb", TransformerEmbedder(cache=folder)), ("head", LogisticRegression())])
        return GridSearchCV(pipe, heads, cv=5).fit(Xs, ys)

    from sktransformer import _cache

    def on_cluster(folder):
        _cache.clear()  # nothing from the in-process search
        with joblib.parallel_backend("dask"):
            return search(folder)

    with tempfile.TemporaryDirectory() as folder:
        _cache.clear()
        (local, t_local, rise), (remote, t_remote, peaks) = both_ways(
            lambda: search(os.path.join(folder, "local")), lambda: on_cluster(os.path.join(folder, "remote")))
        local_encoded = encoded(os.path.join(folder, "local"))
        remote_encoded = encoded(os.path.join(folder, "remote"))
    same = local.best_params_ == remote.best_params_ and np.allclose(
        local.cv_results_["mean_test_score"], remote.cv_results_["mean_test_score"])
    rows.append((f"GridSearchCV(cv=5), 4 heads, {args.n_search:,} texts", t_local, t_remote, rise, peaks,
                 f"texts encoded {local_encoded:,} / {remote_encoded:,} of {len(set(Xs)):,} distinct; "
                 f"same results: {same}"))

    print()
    print("job | in process s | cluster s | time ratio (in process / cluster) | in-process peak rise MB | "
          "worker peak RSS MB | notes")
    for name, t_local, t_remote, rise, peaks, note in rows:
        print(f"{name} | {t_local:.1f} | {t_remote:.1f} | {t_local / t_remote:.2f} | {rise:.0f} | "
              f"{' / '.join(f'{p:.0f}' for p in peaks)} | {note}")


if __name__ == "__main__":
    main()
