"""A DataFrame with free-text columns -> feature columns and one token sequence per row.

The numeric and categorical columns are encoded as a table (:class:`TabularEncoder`, one token
each); the text columns are tokenized (a tokenizer trained in ``fit``, or a pretrained backbone's)
and laid end to end, each column's tokens after a marker token, with the index of the column each
token comes from (``field_ids``). The model embeds both and attends over all of them together.
"""

from itertools import chain

import numpy as np
import pandas as pd

from .tabular import TabularEncoder
from .text import TextEncoder, right_pad


class MixedEncoder:
    """Encode a DataFrame whose text columns hold free text beside numeric and categorical columns.

    Parameters
    ----------
    text_columns : list
        The columns that hold free text (str; NaN / None is an empty text).
    text_encoder : TextEncoder or PretrainedTextEncoder
        A :class:`TextEncoder` is trained in ``fit`` on the texts of every text column (one
        vocabulary for all); a pretrained encoder is used as it is. Its ``max_length`` is the
        token budget of each text column.
    categorical : list or None, default=None
        Columns taken as categories whatever their dtype (see :class:`TabularEncoder`).

    Attributes
    ----------
    text_columns_ : list
        The text columns, in the order of their tokens.
    table_ : TabularEncoder or None
        The encoder of the other columns (None when every column is text).
    n_numeric_, cat_cardinalities_, feature_names_, n_features_, input_order_
        Those of ``table_`` (the other columns only; ``n_features_`` is 0 without them).
    vocab_size_, pad_id_ : int
        Those of the text encoder.
    marker_id_ : int or None
        The token that starts each text column (``[CLS]`` of a tokenizer trained here); None with a
        pretrained tokenizer, which starts each text with its own special token.
    max_tokens_ : int
        The most text tokens a row can have (every column full, with its marker).
    n_truncated_ : int
        Rows of the last ``transform`` call with a text cut at ``max_length`` tokens.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"note": ["a good film", "a bad film", None], "age": [20.0, 30.0, 40.0]})
    >>> enc = MixedEncoder(["note"], TextEncoder(max_length=8, min_frequency=1)).fit(X)
    >>> out = enc.transform(X)
    >>> sorted(out), out["x_num"].shape, out["field_ids"].tolist()[2]
    (['attention_mask', 'field_ids', 'input_ids', 'x_cat', 'x_num'], (3, 1), [0, 0, 0, 0])
    >>> enc.tokens(X)[2]
    ['[note]']
    """

    def __init__(self, text_columns, text_encoder, categorical=None):
        self.text_columns = text_columns
        self.text_encoder = text_encoder
        self.categorical = categorical

    def fit(self, X):
        """Learn the table encoding of the other columns and, for a :class:`TextEncoder`, the
        tokenizer on the texts of every text column."""
        self.text_columns_ = list(self.text_columns)
        if not self.text_columns_:
            raise ValueError("MixedEncoder needs at least one text column.")
        rest = X.drop(columns=self.text_columns_)
        self.table_ = TabularEncoder(categorical=self.categorical).fit(rest) if rest.shape[1] else None
        table = self.table_
        self.n_numeric_ = table.n_numeric_ if table else 0
        self.cat_cardinalities_ = table.cat_cardinalities_ if table else []
        self.feature_names_ = table.feature_names_ if table else []
        self.n_features_ = table.n_features_ if table else 0
        self.input_order_ = table.input_order_ if table else np.zeros(0, dtype=np.int64)
        enc = self.text_encoder
        if isinstance(enc, TextEncoder):
            try:
                enc.fit(list(chain.from_iterable(self._texts(X))))
            except ValueError as err:
                if "empty vocabulary" not in str(err):
                    raise
                raise ValueError(
                    f"The text columns {self.text_columns_} hold no words in any row; leave them out of "
                    "text_columns (text_columns=None), or drop them."
                ) from None
            self.marker_id_ = enc.cls_id_
        else:
            self.marker_id_ = None
        self.vocab_size_ = enc.vocab_size_
        self.pad_id_ = enc.pad_id_
        self.max_tokens_ = len(self.text_columns_) * (int(enc.max_length) + (self.marker_id_ is not None))
        return self

    @property
    def max_length(self):
        """Token budget of each text column."""
        return self.text_encoder.max_length

    def _texts(self, X):
        """Each text column's values as a list of str (missing values are empty texts)."""
        return [["" if not isinstance(v, str) else v for v in X[c].tolist()] for c in self.text_columns_]

    def _ragged(self, X):
        """Token ids of every text column (lists per row) and the rows with a text cut short."""
        cut = np.zeros(len(X), dtype=bool)
        columns = []
        for texts in self._texts(X):
            ids, cut_here = self.text_encoder.encode_ragged(texts)
            cut |= cut_here
            columns.append(ids)
        return columns, cut

    def transform(self, X):
        """Encode a DataFrame with the columns seen in ``fit``.

        Returns
        -------
        batch : dict
            ``"x_num"``, ``"x_cat"`` (as :class:`TabularEncoder`, when there are other columns);
            ``"input_ids"``, ``"attention_mask"`` and ``"field_ids"``, (n, L) arrays: the text
            columns' tokens end to end, right-padded (at least one real token per row), and the
            index in ``text_columns_`` of the column each token comes from (0 on padding).
        """
        if not hasattr(self, "text_columns_"):
            raise RuntimeError("This MixedEncoder is not fitted yet; call fit(X) first.")
        missing = [c for c in self.text_columns_ if c not in X.columns]
        if missing:
            raise ValueError(f"X is missing columns seen in fit: {missing}.")
        out = {} if self.table_ is None else self.table_.transform(X.drop(columns=self.text_columns_))
        columns, cut = self._ragged(X)
        self.n_truncated_ = int(cut.sum())
        n, F = len(X), len(columns)
        marker = [] if self.marker_id_ is None else [self.marker_id_]
        lens = np.array([[len(ids[i]) + len(marker) for ids in columns] for i in range(n)], dtype=np.int64).reshape(n, F)
        lengths = lens.sum(axis=1)
        flat = chain.from_iterable(marker + ids[i] for i in range(n) for ids in columns)
        input_ids, attention_mask = right_pad(flat, lengths, self.pad_id_)  # (n, L)
        field_ids, _ = right_pad(np.repeat(np.tile(np.arange(F), n), lens.ravel()), lengths, 0)  # (n, L)
        attention_mask[lengths == 0, 0] = True  # no row is all padding
        out.update(input_ids=input_ids, attention_mask=attention_mask, field_ids=field_ids)
        return out

    def tokens(self, X):
        """Labels of each row's text tokens, in model order: ``"[column]"`` for a column's marker,
        then its subwords (a pretrained tokenizer's own special tokens included)."""
        columns, _ = self._ragged(X)
        to_token = self.text_encoder.tokenizer_.id_to_token
        rows = []
        for i in range(len(X)):
            labels = []
            for name, ids in zip(self.text_columns_, columns):
                if self.marker_id_ is not None:
                    labels.append(f"[{name}]")
                labels.extend(to_token(int(t)) for t in ids[i])
            rows.append(labels)
        return rows

    def inverse_text(self, input_ids, field_ids, mask):
        """Token ids (n, L) back to a DataFrame of the text columns, each cell the subword tokens
        of its column (markers left out)."""
        to_token = self.text_encoder.tokenizer_.id_to_token
        cells = {c: [] for c in self.text_columns_}
        for ids, fields, real in zip(input_ids, field_ids, mask):
            for f, column in enumerate(self.text_columns_):
                keep = real & (fields == f)
                tokens = [to_token(int(t)) for t in ids[keep]]
                cells[column].append(tokens[1:] if self.marker_id_ is not None else tokens)
        return pd.DataFrame(cells)
