"""Transformer models behind the plain scikit-learn API.

Heavy packages (``torch``, ``transformers``, ``matplotlib``) are imported only where they are used,
so ``import sktransformer`` stays light.

OpenMP threads: PyTorch's OpenMP threads spin while they wait for work, and with another busy
process on the machine the spinning thread takes the core a working one needs (fits several times
slower on two cores). When ``torch`` is not loaded yet and ``OMP_WAIT_POLICY`` is not set, importing
``sktransformer`` sets ``OMP_WAIT_POLICY=PASSIVE`` (waiting threads sleep), which costs nothing
measurable on an idle machine (``benchmarks/threads.py``). Set ``OMP_WAIT_POLICY`` yourself to
choose otherwise; it is read once, when ``torch`` loads.
"""

import os as _os
import sys as _sys

if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._autoencoder import AttentionAutoencoder  # noqa: E402
from ._classifier import TransformerClassifier  # noqa: E402
from ._embedder import TransformerEmbedder  # noqa: E402
from ._persistence import load  # noqa: E402
from ._regressor import TransformerRegressor  # noqa: E402

__version__ = "0.1.0.dev0"

__all__ = [
    "AttentionAutoencoder", "TransformerClassifier", "TransformerEmbedder", "TransformerRegressor", "load", "__version__",
]
