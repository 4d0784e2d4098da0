"""Pure PyTorch building blocks: no scikit-learn, skorch or pandas in here."""

from .attention import MultiHeadSelfAttention, build_attention_mask
from .blocks import Encoder, EncoderBlock, FeedForward
from .dropout import Dropout
from .embeddings import (
    FeatureTokenizer,
    LearnedPositions,
    MixedEmbedding,
    SinusoidalPositions,
    StepProjection,
    TokenEmbedding,
    column_slots,
    column_tokens,
)
from .heads import (
    ClassificationHead,
    MixedReconstructionHead,
    RegressionHead,
    SequenceReconstructionHead,
    TableReconstructionHead,
    TextReconstructionHead,
)
from .losses import MaskedReconstructionLoss, MLMLoss, PairwiseCosineLoss
from .models import MaskedLanguageModel, TransformerAutoencoder, TransformerModel
from .pooling import Pooling
from .wide import ColumnLinear, MixedLinear, NgramLinear

__all__ = [
    "ClassificationHead",
    "ColumnLinear",
    "Dropout",
    "Encoder",
    "EncoderBlock",
    "FeatureTokenizer",
    "FeedForward",
    "LearnedPositions",
    "MLMLoss",
    "PairwiseCosineLoss",
    "MaskedLanguageModel",
    "MaskedReconstructionLoss",
    "MixedEmbedding",
    "MixedLinear",
    "MixedReconstructionHead",
    "MultiHeadSelfAttention",
    "NgramLinear",
    "Pooling",
    "RegressionHead",
    "SequenceReconstructionHead",
    "SinusoidalPositions",
    "StepProjection",
    "TableReconstructionHead",
    "TextReconstructionHead",
    "TokenEmbedding",
    "TransformerAutoencoder",
    "TransformerModel",
    "build_attention_mask",
    "column_slots",
    "column_tokens",
]
