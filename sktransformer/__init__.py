"""Transformer models behind the plain scikit-learn API.

Heavy packages (``transformers``, ``matplotlib``) are imported only where they are used, so
``import sktransformer`` stays light.
"""

from ._autoencoder import AttentionAutoencoder
from ._classifier import TransformerClassifier
from ._embedder import TransformerEmbedder
from ._regressor import TransformerRegressor

__version__ = "0.1.0.dev0"

__all__ = ["AttentionAutoencoder", "TransformerClassifier", "TransformerEmbedder", "TransformerRegressor", "__version__"]
