"""Raw input (text, tables, sequences) -> dicts of arrays the ``nn`` models take."""

from .sequence import SequenceEncoder
from .tabular import TabularEncoder
from .text import PretrainedTextEncoder, TextEncoder

__all__ = ["PretrainedTextEncoder", "SequenceEncoder", "TabularEncoder", "TextEncoder"]
