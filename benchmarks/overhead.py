"""Training overhead of the estimator against a plain PyTorch loop on the same model and data.

Both sides train the same ``sktransformer.nn.TransformerModel`` (built by the estimator's own
code path, same seed, with the default wide part) on the same SST-2 sentences, with the same batch
size, optimizer (built by the net's own ``get_params_for_optimizer``: class, learning rates,
weight decay, parameter groups), learning-rate schedule, shuffling and per-batch padding. The loop
gets the encoded tensors for free; the estimator's figure is reported twice: its training epochs
alone (skorch's ``history_`` durations) and its whole ``fit`` (tokenizer training and encoding
included).

    python benchmarks/overhead.py            # 20,000 sentences, 2 epochs
    python benchmarks/overhead.py --quick    # 4,000 sentences, 1 epoch
"""

import argparse
import os
import time

import numpy as np
import pandas as pd
import torch

from sktransformer import TransformerClassifier
from sktransformer._net import steps_per_epoch

DATA = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data", "text")


def plain_loop(module, opt, inputs, y, *, epochs, batch_size, seed, cosine):
    """The textbook loop: shuffle, slice, trim padding, forward, backward, step (and, with
    ``cosine``, a cosine learning rate stepped every batch, as the estimator's default for text)."""
    ids = torch.as_tensor(inputs["input_ids"])
    mask = torch.as_tensor(inputs["attention_mask"])
    target = torch.as_tensor(y)
    n_steps = epochs * steps_per_epoch(len(ids), batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_steps) if cosine else None
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    module.train()
    start = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(ids), generator=gen).split(batch_size):
            m = mask[idx]
            length = int(m.sum(1).max())
            logits = module(input_ids=ids[idx, :length], attention_mask=m[:, :length])
            loss = loss_fn(logits, target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, epochs = (4000, 1) if args.quick else (20000, 2)

    frame = pd.read_csv(os.path.join(DATA, "sst2_train.tsv"), sep="\t", quoting=3)
    frame = frame.sample(n=n, random_state=0)
    texts, y = frame["sentence"].tolist(), frame["label"].to_numpy()

    params = dict(max_epochs=epochs, random_state=0)

    def run_estimator():
        start = time.perf_counter()
        clf = TransformerClassifier(**params).fit(texts, y)
        return clf, time.perf_counter() - start, float(sum(clf.history_[:, "dur"]))

    def run_loop(clf):
        # The same model, freshly initialised the way the estimator does it, and the same encoded data.
        inputs = clf.encoder_.transform(texts)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            module = clf._make_module(None, clf._uses_wide(clf.wide))
        # The estimator's own optimizer: its class ("adamw", fused where it runs), lr, weight decay
        # and parameter groups (the wide part's), as skorch builds them for the net.
        args, kwargs = clf.net_.get_params_for_optimizer("optimizer", module.named_parameters())
        opt = clf.net_.optimizer(*args, **kwargs)
        return plain_loop(module, opt, inputs, y.astype(np.int64), epochs=epochs, batch_size=clf.batch_size,
                          seed=0, cosine="LRScheduler" in dict(clf.net_.callbacks_))

    # A-B-B-A order, so that a machine that gets busier or quieter during the run favours neither side.
    clf, fit_a, epochs_a = run_estimator()
    loop_a = run_loop(clf)
    loop_b = run_loop(clf)
    clf, fit_b, epochs_b = run_estimator()
    loop = (loop_a + loop_b) / 2
    epochs_only = (epochs_a + epochs_b) / 2
    fit_total = (fit_a + fit_b) / 2

    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"data: {n} SST-2 train sentences, {epochs} epoch(s), batch {clf.batch_size}, "
          f"d_model {clf.d_model}, {clf.n_layers} layers, wide part: {type(clf.net_.module_.wide).__name__}")
    print()
    print("each figure: mean of two runs, in A-B-B-A order")
    print(f"| {'what':<42} | {'seconds':>8} | {'ratio to loop':>13} |")
    print(f"|{'-' * 44}|{'-' * 10}|{'-' * 15}|")
    print(f"| {'plain PyTorch loop (baseline)':<42} | {loop:8.1f} | {1.0:13.2f} |")
    print(f"| {'TransformerClassifier: training epochs':<42} | {epochs_only:8.1f} | {epochs_only / loop:13.2f} |")
    print(f"| {'TransformerClassifier: whole fit':<42} | {fit_total:8.1f} | {fit_total / loop:13.2f} |")
    print()
    print("goal: training epochs / loop <= 1.10")


if __name__ == "__main__":
    main()
