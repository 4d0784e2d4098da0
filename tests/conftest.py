import os

import numpy as np
import pytest
import torch

# Several pytest-xdist workers share 2 cores: one torch thread each avoids oversubscription.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

SHARED_DATA = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data")

# Tiny settings that keep each fit well under a second.
TINY = dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, batch_size=32, random_state=0)


@pytest.fixture
def tiny():
    return dict(TINY)


@pytest.fixture(scope="session")
def text_data():
    from sktransformer.datasets import make_reviews

    return make_reviews(300, noise=0.0, random_state=0)


@pytest.fixture(scope="session")
def table_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture(scope="session")
def sequence_data():
    rng = np.random.RandomState(0)
    n, T = 160, 12
    y = rng.randint(0, 2, n)
    t = np.linspace(0, 2 * np.pi, T)
    X = np.stack([np.sin(t * (1 + y_i)) for y_i in y])[:, :, None] + 0.1 * rng.normal(size=(n, T, 1))
    return X.astype(np.float32), y
