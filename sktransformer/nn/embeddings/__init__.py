"""Input modules, one per input kind: text tokens, table features, sequence steps -> (tokens, mask).

Every module returns ``(token_embeddings, attention_mask)`` with shapes (B, T', C) and (B, T')
bool, True for real tokens. With ``add_cls=True`` a learned CLS vector is prepended at position 0
(so T' = T + 1).

- :mod:`.text`: :class:`TokenEmbedding` (token ids)
- :mod:`.tabular`: :class:`FeatureTokenizer` (one token per column or per group of
  columns), :func:`column_tokens`, :func:`category_offsets`
- :mod:`.mixed`: :class:`MixedEmbedding` (feature tokens beside the tokens of text columns)
- :mod:`.sequence`: :class:`StepProjection` (one token per step), :class:`LocalProjection`
- :mod:`.positions`: the position tables and the CLS token the text and sequence modules share
"""

from .mixed import MixedEmbedding
from .positions import LearnedPositions, SinusoidalPositions, make_positions, prepend_cls
from .sequence import DEFAULT_STEP_KERNEL, LocalProjection, StepProjection
from .tabular import FeatureTokenizer, category_offsets, column_slots, column_tokens
from .text import TokenEmbedding

__all__ = [
    "DEFAULT_STEP_KERNEL",
    "FeatureTokenizer",
    "LearnedPositions",
    "LocalProjection",
    "MixedEmbedding",
    "SinusoidalPositions",
    "StepProjection",
    "TokenEmbedding",
    "category_offsets",
    "column_slots",
    "column_tokens",
    "make_positions",
    "prepend_cls",
]
