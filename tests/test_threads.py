"""OpenMP settings: no thread penalty that only an environment variable removes (issue 27)."""

import os
import subprocess
import sys

import pytest

PROBE = "import os, sys\n{before}\nimport sktransformer\nprint(os.environ.get('OMP_WAIT_POLICY'))"


def _policy_after_import(before="", **env):
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", PROBE.format(before=before)], env={**clean, **env},
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_makes_openmp_threads_wait_passively():
    assert _policy_after_import() == "PASSIVE"


def test_user_choice_of_wait_policy_is_kept():
    assert _policy_after_import(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"


def test_nothing_is_set_once_torch_is_loaded():
    # OpenMP read its settings when torch loaded: setting the variable then would only mislead
    assert _policy_after_import(before="import torch") == "None"


def _worker_threads():
    import numpy as np
    import torch

    from sktransformer import TransformerClassifier

    X = np.random.default_rng(0).normal(size=(20, 3))
    TransformerClassifier(d_model=8, n_heads=2, n_layers=1, max_epochs=1).fit(X, np.arange(20) % 2)
    return torch.get_num_threads()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 CPUs to tell 1 thread per worker apart")
def test_n_jobs_workers_do_not_oversubscribe_the_cores():
    from joblib import Parallel, delayed

    threads = Parallel(n_jobs=2)(delayed(_worker_threads)() for _ in range(2))
    assert all(t <= os.cpu_count() // 2 for t in threads), threads
