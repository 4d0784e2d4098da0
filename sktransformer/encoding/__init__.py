"""Raw input (text, tables, mixed DataFrames, sequences) -> dicts of arrays the ``nn`` models take."""

from .mixed import MixedEncoder
from .sequence import SequenceEncoder
from .tabular import TabularEncoder
from .text import PretrainedTextEncoder, TextEncoder

__all__ = ["MixedEncoder", "PretrainedTextEncoder", "SequenceEncoder", "TabularEncoder", "TextEncoder"]
