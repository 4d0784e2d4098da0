"""The skorch plumbing in _net.py: the batch-at-once dataset gives what skorch's own path gives."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset
from torch.utils.data import DataLoader

from sktransformer._net import BatchDataset, trim_collate


@pytest.mark.parametrize("with_y", [True, False])
def test_batch_dataset_matches_per_sample_path(with_y):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 12, size=50)
    mask = np.arange(12) < lengths[:, None]
    X = {"input_ids": np.where(mask, rng.integers(5, 100, size=(50, 12)), 0), "attention_mask": mask}
    y = rng.integers(0, 2, size=50) if with_y else None

    def batches(dataset_class):
        loader = DataLoader(dataset_class(X, y), batch_size=8, shuffle=True,
                            generator=torch.Generator().manual_seed(0), collate_fn=trim_collate)
        return list(loader)

    for (xa, ya), (xb, yb) in zip(batches(Dataset), batches(BatchDataset), strict=True):
        assert ya.dtype == yb.dtype and torch.equal(ya, yb)
        assert xa.keys() == xb.keys()
        for key in xa:
            assert xa[key].dtype == xb[key].dtype and torch.equal(xa[key], xb[key])


class _PlainAdamW(torch.optim.AdamW):
    """A user's own optimizer class: its defaults are left alone."""


@pytest.mark.parametrize("optimizer, fused", [("adamw", True), ("adam", True), ("sgd", None),
                                              (_PlainAdamW, None)])
def test_named_adam_optimizers_use_the_fused_kernel(optimizer, fused):
    from sktransformer import TransformerRegressor

    X = np.random.RandomState(0).normal(size=(20, 3))
    model = TransformerRegressor(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, max_epochs=1,
                                 optimizer=optimizer, random_state=0).fit(X, X[:, 0])
    assert model.net_.optimizer_.defaults.get("fused") == fused


@pytest.mark.parametrize("verbose", [0, 1])
def test_print_log_only_when_verbose(verbose, capsys):
    from sktransformer import TransformerRegressor

    X = np.random.RandomState(0).normal(size=(20, 3))
    model = TransformerRegressor(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, max_epochs=2,
                                 verbose=verbose, random_state=0).fit(X, X[:, 0])
    assert ("print_log" in dict(model.net_.callbacks_)) == bool(verbose)
    assert ("train_loss" in capsys.readouterr().out) == bool(verbose)
    assert len(model.history_) == 2 and "train_loss" in model.history_[-1]


def test_weight_average_follows_the_warmed_up_moving_average():
    from types import SimpleNamespace

    from sktransformer._net import WeightAverage

    module = torch.nn.Linear(3, 2)
    net = SimpleNamespace(module_=module)
    start = [p.detach().clone() for p in module.parameters()]
    cb = WeightAverage(0.9)
    cb.on_train_begin(net)
    expected = [p.clone() for p in start]
    for step in range(1, 31):
        with torch.no_grad():
            for p in module.parameters():
                p.add_(1.0)
        cb.on_batch_end(net, training=False)  # validation batches leave the average alone
        cb.on_batch_end(net, training=True)
        d = min(0.9, (1 + step) / (10 + step))
        expected = [d * e + (1 - d) * p.detach() for e, p in zip(expected, module.parameters())]
    last = [p.detach().clone() for p in module.parameters()]
    cb.on_train_end(net)
    for p, e, raw in zip(module.parameters(), expected, last):
        torch.testing.assert_close(p.detach(), e)
        assert (p < raw).all()  # the average lags behind weights that kept rising
    assert cb.average_ is None  # no second copy of the weights in a pickled net


class _LastRawWeights:
    """Records the module's weights when training ends, before the weight average replaces them."""

    @staticmethod
    def make():
        from skorch.callbacks import Callback

        class Snap(Callback):
            def on_train_end(self, net, **kwargs):
                self.raw_ = [p.detach().clone() for p in net.module_.parameters()]

        return Snap()


@pytest.mark.parametrize("ema_decay, averaged", [("auto", True), (0.9, True), (None, False)])
def test_tables_end_with_the_weight_average(ema_decay, averaged):
    from sktransformer import TransformerClassifier

    X = np.random.RandomState(0).normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = TransformerClassifier(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, max_epochs=5,
                                ema_decay=ema_decay, callbacks=[("snap", _LastRawWeights.make())],
                                random_state=0).fit(X, y)
    callbacks = dict(clf.net_.callbacks_)
    assert ("weight_average" in callbacks) == averaged
    if averaged:
        assert callbacks["weight_average"].decay == (0.998 if ema_decay == "auto" else ema_decay)
    same = [torch.equal(p.detach(), raw)
            for p, raw in zip(clf.net_.module_.parameters(), callbacks["snap"].raw_)]
    assert all(same) != averaged


def test_auto_weight_average_only_for_tables_without_early_stopping():
    from sktransformer import TransformerClassifier

    tiny = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, max_epochs=2, random_state=0)
    X = np.random.RandomState(0).normal(size=(40, 3))
    y = np.tile([0, 1], 20)
    early = TransformerClassifier(n_iter_no_change=2, **tiny).fit(X, y)
    assert "weight_average" not in dict(early.net_.callbacks_)
    texts = [f"word{i % 7} word{i % 3}" for i in range(40)]
    text = TransformerClassifier(vocab_size=50, **tiny).fit(texts, y)
    assert "weight_average" not in dict(text.net_.callbacks_)
    with pytest.raises(ValueError, match="ema_decay=0.99 and n_iter_no_change=2"):
        TransformerClassifier(ema_decay=0.99, n_iter_no_change=2, **tiny).fit(X, y)
