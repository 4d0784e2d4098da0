"""Peak memory of ``predict`` on 20,000 vs 200,000 rows: predict works in chunks, flat in n.

Each measurement runs in a fresh process: load a fitted model, build the rows, note the resident
memory, predict, and report how far the peak rose above that (the rows themselves are excluded,
they are the caller's). Tables and texts are both measured, and wide tables (100, 400 and 1,600
columns, whose columns share 64 tokens) for the growth with the width: linear at most.

    python benchmarks/predict_memory.py
"""

import os
import subprocess
import sys
import tempfile
import textwrap

import joblib
import numpy as np

CHILD = textwrap.dedent("""
    import resource, sys, time
    import joblib, numpy as np

    def rss_mb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024

    def peak_mb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024

    path, mode, n, width = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    model = joblib.load(path)
    rng = np.random.RandomState(0)
    if mode == "tabular":
        X = rng.normal(size=(n, width)).astype(np.float32)
    else:
        words = np.array("the a film movie was great bad not really plot acting boring fun".split())
        X = [" ".join(rng.choice(words, rng.randint(3, 30))) for _ in range(n)]
    model.predict(X[:100])  # warm up lazy imports and kernels
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
    before = rss_mb()
    start = time.perf_counter()
    pred = model.predict(X)
    took = time.perf_counter() - start
    print(f"{before:.0f} {peak_mb():.0f} {took:.1f} {len(pred)}")
""")


def main():
    from sktransformer import TransformerClassifier
    from sktransformer.datasets import make_reviews

    rng = np.random.RandomState(0)
    rows = []
    # (input, columns, row counts): the rows of the widest table take 6.4 KB each, so fewer of them
    runs = [("tabular", 20, (20_000, 200_000)), ("text", 0, (20_000, 200_000)),
            ("tabular", 100, (20_000,)), ("tabular", 400, (20_000,)), ("tabular", 1600, (20_000, 40_000))]
    with tempfile.TemporaryDirectory() as tmp:
        for mode, width, counts in runs:
            if mode == "tabular":
                X = rng.normal(size=(2000, width))
                model = TransformerClassifier(max_epochs=1, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
            else:
                model = TransformerClassifier(max_epochs=1, random_state=0).fit(*make_reviews(2000, random_state=0))
            path = os.path.join(tmp, f"{mode}{width}.joblib")
            joblib.dump(model, path)
            for n in counts:
                out = subprocess.run([sys.executable, "-c", CHILD, path, mode, str(n), str(width)],
                                     capture_output=True, text=True, check=True).stdout.split()
                before, peak, took = float(out[0]), float(out[1]), float(out[2])
                label = f"table, {width} columns" if mode == "tabular" else "text"
                rows.append((label, n, before, peak, peak - before, took))

    import torch

    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}")
    print()
    print("| input | rows | RSS before predict (MB) | peak during predict (MB) | rise (MB) | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode, n, before, peak, rise, took in rows:
        print(f"| {mode} | {n:,} | {before:.0f} | {peak:.0f} | {rise:.0f} | {took:.1f} |")
    print()
    print("flat in n: the rise for 200,000 rows should match the rise for 20,000 "
          "(only the output array, 8 bytes a row, grows); wide tables: the rise grows at most "
          "linearly with the columns.")


if __name__ == "__main__":
    main()
