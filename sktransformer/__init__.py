"""Transformer models behind the plain scikit-learn API."""

__version__ = "0.1.0.dev0"
