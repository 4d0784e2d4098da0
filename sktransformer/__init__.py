"""Transformer models behind the plain scikit-learn API.

Heavy packages (``transformers``, ``matplotlib``) are imported only where they are used, so
``import sktransformer`` stays light.
"""

from ._classifier import TransformerClassifier
from ._regressor import TransformerRegressor

__version__ = "0.1.0.dev0"

__all__ = ["TransformerClassifier", "TransformerRegressor", "__version__"]
