"""Raw input (text, tables, sequences) -> dicts of arrays the ``nn`` models take."""
