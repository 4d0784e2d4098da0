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


def test_a_pickled_net_holds_its_module_once():
    import io
    import pickle

    from sktransformer import TransformerClassifier

    X = np.random.RandomState(0).normal(size=(40, 3))
    clf = TransformerClassifier(d_model=32, n_heads=2, max_epochs=1, random_state=0).fit(X, X[:, 0] > 0)
    weights = io.BytesIO()
    torch.save(clf.net_.module_.state_dict(), weights)
    blob = pickle.dumps(clf)
    # the weights once, plus the optimizer's two Adam moments: well under four copies
    assert len(blob) < 3.5 * len(weights.getvalue())
    again = pickle.loads(blob)
    assert again.net_.module is again.net_.module_
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
