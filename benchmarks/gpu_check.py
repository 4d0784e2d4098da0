"""The GPU paths on a machine with CUDA, in one short run: fit and predict on the GPU against the CPU,
bf16 autocast (``accelerator={"mixed_precision": "bf16"}``) against fp32, and data-parallel training
on two GPUs through ``accelerate launch`` when the machine has two.

A text classifier from scratch and a classifier fine-tuned from the default model, on SST-2
(``--n`` training sentences, the 872 dev sentences scored). Each bf16 fit runs in a process of its
own (accelerate keeps one mixed-precision setting per process).

    python benchmarks/gpu_check.py            # 8,000 sentences
    python benchmarks/gpu_check.py --quick    # 1,000 sentences
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text"

FIT = r"""
import json, sys, time
import pandas as pd, torch
from sktransformer import TransformerClassifier
spec = json.loads(sys.argv[1])
train = pd.read_csv(spec["data"] + "/sst2_train.tsv", sep="\t").sample(n=spec["n"], random_state=0)
dev = pd.read_csv(spec["data"] + "/sst2_dev.tsv", sep="\t")
model = TransformerClassifier(**spec["params"], random_state=0)
start = time.perf_counter()
model.fit(train["sentence"].tolist(), train["label"].to_numpy())
fit = time.perf_counter() - start
start = time.perf_counter()
score = model.score(dev["sentence"].tolist(), dev["label"].to_numpy())
predict = time.perf_counter() - start
if int(__import__("os").environ.get("RANK", "0")) == 0:
    print(json.dumps({"fit_s": fit, "predict_s": predict, "accuracy": score, "device": model.net_.device,
                      "gpus": torch.cuda.device_count()}))
"""


def run(spec, launcher=None):
    """Fit and score in a new process (``launcher``: an ``accelerate launch`` command) and return
    what it printed, or the error it ended with."""
    if launcher:
        command = [*launcher, "/tmp/sktransformer_gpu_fit.py", json.dumps(spec)]
    else:
        command = [sys.executable, "-c", FIT, json.dumps(spec)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=8000)
    args = parser.parse_args()
    n = 1000 if args.quick else args.n
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check here")
        return
    scratch = {"max_epochs": 3}
    tuned = {"backbone": "default", "max_epochs": 1}
    cases = [
        ("from scratch, CPU", {**scratch, "device": "cpu"}),
        ("from scratch, GPU fp32", {**scratch, "device": "cuda"}),
        ("from scratch, GPU bf16 autocast", {**scratch, "accelerator": {"mixed_precision": "bf16"}}),
        ("MiniLM fine-tuned, GPU fp32", {**tuned, "device": "cuda"}),
        ("MiniLM fine-tuned, GPU bf16 autocast", {**tuned, "accelerator": {"mixed_precision": "bf16"}}),
    ]
    rows = [(name, run({"data": str(DATA), "n": n, "params": params})) for name, params in cases]
    if torch.cuda.device_count() >= 2:
        Path("/tmp/sktransformer_gpu_fit.py").write_text(FIT)
        launcher = ("accelerate", "launch", "--multi_gpu", "--num_processes", "2")
        rows.append(("MiniLM fine-tuned, 2 GPUs (accelerate launch)",
                     run({"data": str(DATA), "n": n, "params": {**tuned, "accelerator": {}}}, launcher)))
    else:
        rows.append(("2 GPUs", {"error": f"skipped: this machine has {torch.cuda.device_count()} GPU"}))
    print(f"\nSST-2, {n} training sentences, dev accuracy ({torch.cuda.get_device_name(0)})")
    print("case | fit s | predict s | dev accuracy | device")
    for name, r in rows:
        if "error" in r:
            print(f"{name} | {r['error']}")
        else:
            print(f"{name} | {r['fit_s']:.1f} | {r['predict_s']:.2f} | {r['accuracy']:.3f} | {r['device']}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
