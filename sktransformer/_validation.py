"""Input checks that scikit-learn's ``validate_data`` does not cover: text, sequences, mode detection.

Everything here runs before any tensor work, so that bad input gets a ``ValueError`` or
``TypeError`` that names the argument instead of a shape error from deep inside torch.
"""

import numbers

import numpy as np

INPUT_MODES = ("text", "tabular", "sequence")


def _is_pandas(X, kind):
    cls = type(X)
    return cls.__module__.startswith("pandas") and cls.__name__ == kind


def _is_str(x):
    return isinstance(x, (str, np.str_))


def detect_input_mode(X, name="X"):
    """Return ``"text"``, ``"tabular"`` or ``"sequence"`` for raw input ``X``.

    - a 1-D sequence of ``str`` (list, tuple, array, ``pd.Series``) is text;
    - a 2-D numeric array, a DataFrame or a sparse matrix is tabular (sparse is rejected later
      with scikit-learn's own message);
    - a 3-D array ``(n_samples, n_steps, n_features)`` or a list of 2-D arrays is a sequence.

    Raises ``ValueError`` / ``TypeError`` naming ``name`` when ``X`` is none of these.
    """
    if X is None:
        raise TypeError(f"{name} must be text, a table or sequences, got None.")
    if _is_str(X):
        raise TypeError(
            f"{name} must be a list of texts, got a single string. Wrap it in a list: [{name}]."
        )
    if _is_pandas(X, "DataFrame") or hasattr(X, "tocsr") or hasattr(X, "toarray"):
        return "tabular"
    if _is_pandas(X, "Series"):
        if len(X) and X.dtype.kind in "biufc":
            raise ValueError(
                f"{name} is a numeric pd.Series; a table must be 2-D. Reshape your data "
                f"with X.to_frame(), or pass a Series of str for text."
            )
        return "text"
    if isinstance(X, np.ndarray):
        if X.ndim == 3:
            return "sequence"
        if X.ndim == 2:
            return "tabular"
        if X.ndim == 1:
            if X.dtype.kind in "US":
                return "text"
            if X.dtype == object and len(X):
                first = X[0]
                if isinstance(first, (np.ndarray, list)) and np.ndim(first) == 2:
                    return "sequence"
                return "text"
            raise ValueError(
                f"Expected 2D array for {name}, got 1D array instead. Reshape your data either "
                f"using array.reshape(-1, 1) if your data has a single feature or "
                f"array.reshape(1, -1) if it contains a single sample; or pass a list of str for text."
            )
        raise ValueError(f"{name} has {X.ndim} dimensions; expected 1 (text), 2 (table) or 3 (sequences).")
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise ValueError(f"{name} is empty: found 0 samples, a minimum of 1 is required.")
        first = next((x for x in X if x is not None), None)
        if first is None or _is_str(first):
            return "text"
        if isinstance(first, np.ndarray) or (isinstance(first, (list, tuple)) and len(first)
                                             and isinstance(first[0], (list, tuple, np.ndarray))):
            if np.ndim(first) == 2:
                return "sequence"
        if isinstance(first, (list, tuple, np.ndarray)):
            return "tabular"
        if isinstance(first, numbers.Number):
            raise ValueError(
                f"Expected 2D array for {name}, got a 1D list of numbers. Reshape your data "
                f"either using array.reshape(-1, 1) if your data has a single feature or "
                f"array.reshape(1, -1) if it contains a single sample."
            )
        raise TypeError(
            f"{name} must hold str (text), rows of numbers (table) or 2-D arrays (sequences); "
            f"its first item is a {type(first).__name__}."
        )
    if hasattr(X, "__array__"):  # other array-likes (xarray, torch tensors, ...)
        return detect_input_mode(np.asarray(X), name)
    raise TypeError(
        f"{name} must be a list/array/pd.Series of str, a 2-D array or DataFrame, or a 3-D array "
        f"or list of 2-D arrays; got {type(X).__name__}."
    )


def check_column_dtypes(X):
    """Reject DataFrame columns no token can take as they are: periods, complex numbers."""
    import pandas as pd

    when = [c for c in X.columns if isinstance(X[c].dtype, pd.PeriodDtype)]
    if when:
        raise ValueError(
            f"Columns {when} hold periods, which have no encoding here; pass them as dates "
            "(df[col].dt.to_timestamp()) or as categories (df[col].astype(str))."
        )
    complex_ = [c for c in X.columns if pd.api.types.is_complex_dtype(X[c].dtype)]
    if complex_:
        raise ValueError(
            f"Columns {complex_} hold complex numbers; pass their real and imaginary parts (np.real, np.imag) "
            "as two columns."
        )


#: Free-text detection (``text_columns="auto"``): a string column is text when its values average at
#: least this many words and at least this share of them are distinct; otherwise a category.
TEXT_MIN_WORDS = 2
TEXT_MIN_DISTINCT = 0.5
#: Values read to decide (evenly spaced over the column): enough to tell, quick on any size.
_DETECTION_SAMPLE = 10000


def _is_string_column(column):
    """An object or string column; a ``category`` column is a category whatever its values."""
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        return False
    return column.dtype.kind in "OSU" or str(column.dtype) in ("string", "str")


def free_text_columns(X, min_words=TEXT_MIN_WORDS, min_distinct=TEXT_MIN_DISTINCT):
    """Columns of the DataFrame ``X`` whose values read as free text: str values of at least
    ``min_words`` words on average, at least ``min_distinct`` of them distinct (at least 5 values;
    a column of fewer is a category)."""
    found = []
    for column in X.columns:
        if not _is_string_column(X[column]):
            continue
        values = X[column].dropna()
        if len(values) > _DETECTION_SAMPLE:
            values = values.iloc[np.linspace(0, len(values) - 1, _DETECTION_SAMPLE).astype(int)]
        values = [v for v in values.tolist() if isinstance(v, str)]
        if len(values) < 5:
            continue
        words = np.mean([len(v.split()) for v in values])
        if words >= min_words and len(set(values)) >= min_distinct * len(values):
            found.append(column)
    return found


def _column_list(X, value, name):
    """``value`` (one column name or a list of them) as a list of columns of ``X``."""
    columns = [value] if isinstance(value, (str, numbers.Integral)) else list(value)
    if len(set(columns)) != len(columns):
        raise ValueError(f"{name} names a column twice: {columns}.")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(f"{name} names columns {missing} that X does not have; its columns are {list(X.columns)}.")
    return columns


def split_frame_columns(X, text_columns="auto", categorical_columns="auto"):
    """Decide the role of every column of the DataFrame ``X``: ``(text, categorical)`` lists of
    names (every other column is numeric), in ``X``'s column order.

    ``text_columns``: ``"auto"`` (:func:`free_text_columns`), a list of names, or None (no
    text). ``categorical_columns``: ``"auto"`` (every column that is neither text nor numbers), or
    a list of names, which may name numeric columns (codes such as a zip code or a store id) and
    string columns that ``"auto"`` would read as text. A string column that is neither text nor
    listed stays a category; a datetime or timedelta column is neither (it becomes numbers). A
    text column must hold str (missing values are empty texts).
    """
    declared = [] if categorical_columns == "auto" else _column_list(X, categorical_columns, "categorical_columns")
    if text_columns == "auto":
        text = [c for c in free_text_columns(X) if c not in declared]
    else:
        text = [] if text_columns is None else _column_list(X, text_columns, "text_columns")
        both = [c for c in text if c in declared]
        if both:
            raise ValueError(f"Columns {both} are in both text_columns and categorical_columns; put each in one.")
    for column in text:
        check_text_column(X[column], column)
    categorical = [c for c in X.columns if c not in text and (
        c in declared or not (_is_numeric_column(X[c]) or _is_temporal_column(X[c])))]
    return text, categorical


def _is_temporal_column(column):
    """Dates (naive or tz-aware) and durations: encoded as numbers (``TabularEncoder``)."""
    import pandas as pd

    return pd.api.types.is_datetime64_any_dtype(column.dtype) or pd.api.types.is_timedelta64_dtype(column.dtype)


def _is_numeric_column(column):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)


def check_text_column(column, name):
    """Reject a text column (a Series) with values that are neither str nor missing."""
    import pandas as pd

    if _is_numeric_column(column) and column.notna().any():
        raise TypeError(
            f"Column {name!r} is in text_columns but holds numbers ({column.dtype}); a text column holds str. "
            "Leave it out of text_columns, or convert it with X[column].astype(str)."
        )
    values = column.to_numpy(dtype=object)
    bad = np.flatnonzero([not (_is_str(v) or v is None or v is pd.NA or (isinstance(v, float) and v != v))
                          for v in values])
    if len(bad):
        i = int(bad[0])
        raise TypeError(
            f"Column {name!r} is a text column but row {i} (index {column.index[i]!r}) holds a "
            f"{type(values[i]).__name__} ({values[i]!r:.40}); a text column holds str, with NaN or None for "
            "a missing text. Convert it (X[column].astype(str)) or name it in categorical_columns."
        )


def check_text(X, name="X"):
    """Return ``X`` as a list of ``str``; reject empty input, ``None`` and non-``str`` items."""
    items = X.tolist() if hasattr(X, "tolist") else list(X)
    if len(items) == 0:
        raise ValueError(f"{name} is empty: found 0 samples, a minimum of 1 is required.")
    for i, item in enumerate(items):
        if not _is_str(item):
            if item is None or (isinstance(item, float) and item != item):
                what = f"missing ({item})"
            else:
                what = f"a {type(item).__name__} ({item!r:.40})"
            raise TypeError(f"{name} must contain only str for text input; item {i} is {what}.")
    for i, item in enumerate(items):
        try:
            item.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"{name}[{i}] is not valid Unicode text: {exc.reason} at position {exc.start}. Clean it "
                "first, e.g. text.encode('utf-8', 'replace').decode('utf-8')."
            ) from None
    return [str(t) for t in items]


def check_sequences(X, name="X", n_features=None):
    """Validate a 3-D array or a list of 2-D arrays; return it as float32 (array or list).

    Rejects empty input, items that are not 2-D, a differing number of step features, and
    NaN/inf. ``n_features`` (set at predict time) must match the fit-time step features.
    """
    if not isinstance(X, (np.ndarray, list, tuple)) and hasattr(X, "__array__"):
        X = np.asarray(X)
    if isinstance(X, np.ndarray) and X.ndim == 3:
        if X.shape[0] == 0:
            raise ValueError(f"{name} is empty: found 0 samples, a minimum of 1 is required.")
        if X.shape[1] == 0 or X.shape[2] == 0:
            raise ValueError(f"{name} has shape {X.shape}; every sequence needs >= 1 step and >= 1 feature.")
        arr = _as_float(X, name)
        _check_finite(arr, name)
        seqs = arr
        feats = arr.shape[2]
    else:
        items = list(X)
        if len(items) == 0:
            raise ValueError(f"{name} is empty: found 0 samples, a minimum of 1 is required.")
        seqs = []
        feats = None
        for i, item in enumerate(items):
            a = _as_float(item, f"{name}[{i}]")
            if a.ndim != 2:
                raise ValueError(
                    f"{name}[{i}] has {a.ndim} dimensions; each sequence must be 2-D (n_steps, n_features)."
                )
            if a.shape[0] == 0:
                raise ValueError(f"{name}[{i}] has no steps; every sequence needs at least one step.")
            if feats is None:
                feats = a.shape[1]
            elif a.shape[1] != feats:
                raise ValueError(
                    f"{name}[{i}] has {a.shape[1]} features per step but {name}[0] has {feats}; "
                    f"all sequences must have the same number of step features."
                )
            _check_finite(a, f"{name}[{i}]")
            seqs.append(a)
    if n_features is not None and feats != n_features:
        raise ValueError(
            f"{name} has {feats} features per step, but this estimator was fitted with "
            f"{n_features} features per step."
        )
    return seqs


def _as_float(a, name):
    try:
        arr = np.asarray(a, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric for sequence input: {exc}") from None
    return arr


def _check_finite(a, name):
    if not np.isfinite(a).all():
        raise ValueError(f"Input {name} contains NaN or infinity.")


def check_same_length(X_len, y, name_y="y"):
    from sklearn.utils.validation import _num_samples

    n_y = _num_samples(y)
    if n_y != X_len:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: X has {X_len}, "
            f"{name_y} has {n_y}."
        )
