"""Raw input (text, tables, sequences) -> dicts of arrays the ``nn`` models take."""

from .sequence import SequenceEncoder
from .tabular import TabularEncoder
from .text import TextEncoder

__all__ = ["SequenceEncoder", "TabularEncoder", "TextEncoder"]
