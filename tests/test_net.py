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
