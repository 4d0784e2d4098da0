"""Pure PyTorch building blocks: no scikit-learn, skorch or pandas in here."""

from .attention import MultiHeadSelfAttention, build_attention_mask
from .blocks import Encoder, EncoderBlock, FeedForward
from .embeddings import (
    FeatureTokenizer,
    LearnedPositions,
    SinusoidalPositions,
    StepProjection,
    TokenEmbedding,
)
from .heads import ClassificationHead, ReconstructionHead, RegressionHead
from .models import TransformerAutoencoder, TransformerModel
from .pooling import Pooling
from .wide import ColumnLinear, NgramLinear

__all__ = [
    "ClassificationHead",
    "ColumnLinear",
    "Encoder",
    "EncoderBlock",
    "FeatureTokenizer",
    "FeedForward",
    "LearnedPositions",
    "MultiHeadSelfAttention",
    "NgramLinear",
    "Pooling",
    "ReconstructionHead",
    "RegressionHead",
    "SinusoidalPositions",
    "StepProjection",
    "TokenEmbedding",
    "TransformerAutoencoder",
    "TransformerModel",
    "build_attention_mask",
]
