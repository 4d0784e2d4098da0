"""Tables -> scaled numeric features and integer category codes (one token per column)."""

import warnings

import numpy as np
import pandas as pd
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from .._validation import _is_temporal_column

_SCALES = ("standard", "quantile", "none")


def _is_numeric(dtype):
    """True for int, uint, float and bool columns (numpy or pandas nullable dtypes)."""
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _to_float(values):
    """A new float64 array from numeric or nullable values (pd.NA -> NaN)."""
    if isinstance(values, (pd.Series, pd.DataFrame)):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)  # always a new array
    return np.array(values, dtype=np.float64)  # copies


#: The features a datetime column becomes, in token order (``"hour"`` only when the training
#: values have a time of day); ``"elapsed"`` is days since the column's earliest training date.
DATE_FEATURES = ("elapsed", "year", "month", "day_of_week", "day_of_year", "hour")


def _date_feature(values, feature, origin):
    """One feature of a datetime Series as float64 (NaN for NaT)."""
    if feature == "elapsed":
        return ((values - origin) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    return getattr(values.dt, feature).to_numpy(dtype=np.float64, na_value=np.nan)


def _categories(column):
    """Distinct non-missing values of a column, sorted when they can be, as an object Index."""
    values = pd.unique(column.dropna().to_numpy(dtype=object))
    try:
        values = sorted(values)
    except TypeError:  # mixed, unorderable types: keep order of first appearance
        pass
    return pd.Index(values, dtype=object)


class TabularEncoder:
    """Encode a table as scaled numeric columns and integer-coded categorical columns.

    With a DataFrame, numeric and bool columns are numeric; every other column (object, string,
    category) is categorical. With a NumPy array every column is numeric. Category code 0 is kept for
    values not seen in ``fit``, so column ``j`` has ``cat_cardinalities_[j]`` = number of categories
    + 1 codes, + 1 more when it had missing values in ``fit``: missing is then a level of its own
    (the last code); a column without missing values in ``fit`` codes a missing value as unknown.

    Missing numbers (NaN, ``pd.NA``, ``None``) stay NaN in ``x_num``: the model gives them a token
    of their own (:class:`~sktransformer.nn.FeatureTokenizer`). Scaling ignores them.

    A datetime column (naive or tz-aware) becomes numeric features, in this order: ``elapsed``
    (days since the column's earliest date in ``fit``), ``year``, ``month``, ``day_of_week``
    (Monday = 0), ``day_of_year`` and, when the training values have a time of day, ``hour``
    (calendar features in the column's own time zone), named ``"<column>.<feature>"``; a missing
    date (NaT) is missing in each. A timedelta column is a number of days.

    Parameters
    ----------
    scale : {"standard", "quantile", "none"}, default="standard"
        How numeric columns are scaled: to zero mean and unit variance (a constant column is only
        centred), to a normal distribution with :class:`~sklearn.preprocessing.QuantileTransformer`
        (``n_quantiles=min(1000, n_samples)``), or not at all.
    categorical : list or None, default=None
        DataFrame columns taken as categories whatever their dtype (numeric codes such as a
        store id); ``None``: the non-numeric columns only.

    Attributes
    ----------
    numeric_columns_ : list
        Numeric columns: names for a DataFrame, positions for an array.
    categorical_columns_ : list
        Categorical columns, as ``numeric_columns_`` (always empty for an array).
    n_numeric_ : int
        Number of numeric columns.
    cat_cardinalities_ : list of int
        Number of codes per categorical column (categories seen in ``fit`` + 1 for unknown).
    categories_ : list of pandas.Index
        Categories per categorical column; the category at position ``k`` has code ``k + 1``.
    numeric_missing_ : ndarray of shape (n_numeric_,), dtype=bool
        Numeric columns that had missing values in ``fit``.
    missing_codes_ : list of int
        The code of a missing value per categorical column: its own last code when the column had
        missing values in ``fit``, else 0 (unknown).
    date_features_ : dict
        Each datetime column, and the names of the features it became (see above).
    date_origins_ : dict
        Each datetime column's earliest training date (``elapsed`` counts days from it).
    feature_names_ : list of str
        Column names in token order: numeric columns, then categorical columns (``x0, x1, ...``
        for an array); a datetime column's features in place of its name.
    n_features_ : int
        Total number of columns (tokens).
    input_order_ : ndarray of shape (n_features_,)
        The token of each input column, in the input's column order (a datetime column's features
        in its place): ``tokens[:, input_order_]`` puts per-token values back in that order.
    mean_, scale_ : ndarray of shape (n_numeric_,)
        Centring and scaling of numeric columns (``scale="standard"`` only; a
        :class:`~sklearn.preprocessing.StandardScaler`'s).
    quantile_transformer_ : QuantileTransformer or None
        Fitted transformer (``scale="quantile"`` with numeric columns only).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"age": [20.0, 40.0], "city": ["Paris", "Rome"]})
    >>> enc = TabularEncoder().fit(X)
    >>> out = enc.transform(pd.DataFrame({"age": [30.0], "city": ["Oslo"]}))
    >>> out["x_num"].tolist(), out["x_cat"].tolist(), enc.feature_names_
    ([[0.0]], [[0]], ['age', 'city'])
    """

    def __init__(self, scale="standard", categorical=None):
        self.scale = scale
        self.categorical = categorical

    def fit(self, X):
        """Learn column roles, scaling and category codes.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_columns) or DataFrame
            Training table.

        Returns
        -------
        self : TabularEncoder
        """
        if self.scale not in _SCALES:
            raise ValueError(f"scale must be one of {_SCALES}, got {self.scale!r}.")
        if isinstance(X, pd.DataFrame):
            if not X.columns.is_unique:
                raise ValueError("X has duplicate column names; TabularEncoder needs unique column names.")
            self._fitted_on_frame = True
            self._columns_in = list(X.columns)
            self._durations = [c for c in X.columns if pd.api.types.is_timedelta64_dtype(X[c].dtype)]
            X = self._fit_dates(X)
            declared = set(self.categorical or ())
            self.numeric_columns_ = [c for c in X.columns if _is_numeric(X[c].dtype) and c not in declared]
            self.categorical_columns_ = [c for c in X.columns if c not in self.numeric_columns_]
            self._numeric_codes = [c for c in declared if c in X.columns and _is_numeric(X[c].dtype)]
            self.categories_ = [_categories(X[c]) for c in self.categorical_columns_]
            names = self.numeric_columns_ + self.categorical_columns_
        else:
            X = self._check_array(X)
            self._fitted_on_frame = False
            self._numeric_codes = []
            self.numeric_columns_ = list(range(X.shape[1]))
            self.categorical_columns_ = []
            self.categories_ = []
            self.date_features_, self.date_origins_ = {}, {}
            names = [f"x{j}" for j in self.numeric_columns_]
        self.feature_names_ = [str(name) for name in names]
        position = {c: i for i, c in enumerate(names)}
        self.input_order_ = np.array([position[c] for c in (X.columns if self._fitted_on_frame else names)])
        self.n_numeric_ = len(self.numeric_columns_)
        seen_missing = [bool(X[c].isna().any()) for c in self.categorical_columns_]
        self.missing_codes_ = [len(cats) + 1 if seen else 0 for cats, seen in zip(self.categories_, seen_missing)]
        self.cat_cardinalities_ = [len(cats) + 1 + seen for cats, seen in zip(self.categories_, seen_missing)]
        self.n_features_ = len(self.feature_names_)

        x_num = self._numeric(X)  # (n, n_numeric), float64, NaN where missing
        self.numeric_missing_ = np.isnan(x_num).any(axis=0)
        self.mean_ = self.scale_ = self.quantile_transformer_ = None
        if self.scale == "standard" and not self.n_numeric_:
            self.mean_, self.scale_ = np.zeros(0), np.ones(0)
        elif self.scale == "standard":
            # NaN-aware; a constant column gets scale 1: it is only centred
            with warnings.catch_warnings():  # a column without any value: mean 0, scale 1
                warnings.simplefilter("ignore", RuntimeWarning)
                scaler = StandardScaler().fit(x_num)
            empty = np.isnan(x_num).all(axis=0)
            self.mean_ = np.where(empty, 0.0, scaler.mean_)
            self.scale_ = np.where(empty, 1.0, scaler.scale_)
            too_large = ~(np.isfinite(self.mean_) & np.isfinite(self.scale_))
            if too_large.any():
                raise ValueError(
                    f"X has values too large to scale in columns {self._names(too_large)} (their mean or "
                    "variance overflows float64); divide those columns by a constant or take their logarithm."
                )
        elif self.scale == "quantile" and self.n_numeric_:
            self.quantile_transformer_ = QuantileTransformer(
                n_quantiles=max(1, min(1000, len(x_num))), output_distribution="normal", random_state=0
            ).fit(x_num)
        return self

    def transform(self, X):
        """Encode a table.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_columns) or DataFrame
            Table with the columns seen in ``fit``.

        Returns
        -------
        batch : dict
            ``"x_num"``: float32 array (n, n_numeric_); ``"x_cat"``: int64 array (n, n_categorical),
            0 for unknown or missing categories. Either may have 0 columns.
        """
        if not hasattr(self, "feature_names_"):
            raise RuntimeError("This TabularEncoder is not fitted yet; call fit(X) first.")
        if self._fitted_on_frame:
            if not isinstance(X, pd.DataFrame):
                raise TypeError(f"TabularEncoder was fitted on a DataFrame; transform got {type(X).__name__}.")
            missing = [c for c in self._input_columns() if c not in X.columns]
            if missing:
                raise ValueError(f"X is missing columns seen in fit: {missing}.")
            X = self._expand_dates(X)
            codes = set(self._numeric_codes)  # categories given as numbers in fit
            changed = [c for c in self.numeric_columns_ if not _is_numeric(X[c].dtype)] + [
                c for c in self.categorical_columns_
                if c not in codes and _is_numeric(X[c].dtype) and X[c].notna().any()
            ]
            if changed:
                raise ValueError(
                    f"Columns {changed} changed kind since fit (numbers in one, text or categories in the "
                    "other); pass each column with the dtype it had in fit."
                )
        else:
            X = self._check_array(X)
            if X.shape[1] != self.n_features_:
                raise ValueError(f"X has {X.shape[1]} columns, TabularEncoder was fitted with {self.n_features_}.")

        x_num = self._numeric(X)  # (n, n_numeric), a new float64 array
        if self.scale == "standard":
            x_num = (x_num - self.mean_) / self.scale_
        elif self.quantile_transformer_ is not None:
            x_num = self.quantile_transformer_.transform(x_num)
        # pandas' get_indexer, not OrdinalEncoder: a column may mix types (1 and "a"), which
        # scikit-learn's encoders reject; unknown and missing values get -1, then code 0
        with np.errstate(over="ignore"):
            x_num = x_num.astype(np.float32)
        overflow = np.isinf(x_num).any(axis=0)
        if overflow.any():
            raise ValueError(
                f"X has values in columns {self._names(overflow)} too large for the model: scaled by their "
                "column's spread in fit, they overflow float32 (3.4e38). Check those values (a unit or typing "
                "error?), or rescale those columns."
            )
        x_cat = np.zeros((len(X), len(self.categorical_columns_)), dtype=np.int64)
        missing_codes = getattr(self, "missing_codes_", [0] * len(self.categories_))
        for j, (column, cats) in enumerate(zip(self.categorical_columns_, self.categories_)):
            x_cat[:, j] = cats.get_indexer(X[column].to_numpy(dtype=object)) + 1
            if missing_codes[j]:
                x_cat[X[column].isna().to_numpy(), j] = missing_codes[j]
        return {"x_num": x_num, "x_cat": x_cat}

    def inverse_transform(self, x_num, x_cat):
        """Tokens back to a table in ``X``'s column order and units.

        Parameters
        ----------
        x_num : array of shape (n, n_numeric_)
            Scaled numeric values (``scale="standard"`` or ``"none"``).
        x_cat : array of shape (n, n_categorical)
            Category codes; code 0 (unknown) and the missing code give ``None``.

        Returns
        -------
        X : DataFrame (when fitted on one, columns in its order) or ndarray of shape (n, n_features_)
            A datetime column is rebuilt from its ``elapsed`` feature, a timedelta column from its days.
        """
        if self.quantile_transformer_ is not None:
            x_num = self.quantile_transformer_.inverse_transform(x_num)
        elif self.scale == "standard":
            x_num = np.asarray(x_num, dtype=np.float64) * self.scale_ + self.mean_
        if not self._fitted_on_frame:
            return np.asarray(x_num, dtype=np.float64)
        frame = pd.DataFrame({c: x_num[:, j] for j, c in enumerate(self.numeric_columns_)})
        for j, (column, cats) in enumerate(zip(self.categorical_columns_, self.categories_)):
            values = np.asarray([None] + list(cats) + [None], dtype=object)  # code k -> category k - 1
            frame[column] = pd.Series(values[np.asarray(x_cat[:, j], dtype=np.int64)], dtype=object)
        columns = self.numeric_columns_ + self.categorical_columns_
        frame = frame[[columns[i] for i in self.input_order_]]
        dates, durations = getattr(self, "date_features_", {}), getattr(self, "_durations", [])
        if not dates and not durations:
            return frame
        out = {}
        for column in self._columns_in:
            if column in dates:
                days = pd.to_timedelta(frame[f"{column}.elapsed"], unit="D")
                out[column] = self.date_origins_[column] + days
            elif column in durations:
                out[column] = pd.to_timedelta(frame[column], unit="D")
            else:
                out[column] = frame[column]
        return pd.DataFrame(out)

    def __getstate__(self):
        # categories as object arrays: a pickle (or a skops file) that does not hold pandas' internals
        state = dict(self.__dict__)
        if "categories_" in state:
            state["categories_"] = [np.asarray(cats, dtype=object) for cats in state["categories_"]]
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "categories_" in state:
            state["categories_"] = [pd.Index(cats, dtype=object) for cats in state["categories_"]]
        self.__dict__.update(state)

    def _names(self, numeric_mask):
        """Names of the numeric columns picked by a boolean mask (for messages)."""
        return [self.numeric_columns_[j] for j in np.flatnonzero(numeric_mask)]

    @staticmethod
    def _check_array(X):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_columns), got an array with shape {X.shape}.")
        if not (X.dtype.kind in "biuf"):
            raise TypeError(
                f"a NumPy X must be numeric, got dtype {X.dtype}; pass a DataFrame for categorical columns."
            )
        return X

    def _numeric(self, X):
        """The numeric columns as a new float64 array (n, n_numeric_)."""
        if isinstance(X, pd.DataFrame):
            if not self.numeric_columns_:
                return np.zeros((len(X), 0))
            return _to_float(X[self.numeric_columns_])
        return _to_float(X)

    def _input_columns(self):
        """The columns ``transform`` needs, as named in ``fit``'s DataFrame."""
        dates = getattr(self, "date_features_", {})
        expanded = {name for names in dates.values() for name in names}
        return [c for c in self.numeric_columns_ + self.categorical_columns_ if c not in expanded] + list(dates)

    def _fit_dates(self, X):
        """Learn what each datetime column becomes (``date_features_``); return ``X`` expanded."""
        self.date_features_, self.date_origins_ = {}, {}
        for column in X.columns:
            values = X[column]
            if not pd.api.types.is_datetime64_any_dtype(values.dtype):
                continue
            if values.notna().sum() == 0:
                raise ValueError(f"Column {column!r} holds dates but every one is missing; drop it.")
            known = values.dropna()
            timed = bool((known.dt.normalize() != known).any())  # a time of day
            features = [f for f in DATE_FEATURES if f != "hour" or timed]
            names = [f"{column}.{f}" for f in features]
            clash = [n for n in names if n in X.columns]
            if clash:
                raise ValueError(
                    f"Column {column!r} holds dates, whose features would be named {clash}, which X already has; "
                    "rename those columns."
                )
            self.date_features_[column] = names
            self.date_origins_[column] = values.min()
        return self._expand_dates(X)

    def _expand_dates(self, X):
        """``X`` with each datetime column replaced by its features and each timedelta column by days."""
        dates = getattr(self, "date_features_", {})
        if not dates and not any(_is_temporal_column(X[c]) for c in X.columns):
            return X
        columns = {}
        for column in X.columns:
            values = X[column]
            if column in dates:
                if not pd.api.types.is_datetime64_any_dtype(values.dtype):
                    raise ValueError(f"Column {column!r} held dates in fit, but now holds {values.dtype}; pass dates.")
                origin = self.date_origins_[column]
                if (values.dt.tz is None) != (origin.tz is None):
                    had = "time-zone aware" if origin.tz is not None else "naive (no time zone)"
                    raise ValueError(
                        f"Column {column!r} held {had} dates in fit; pass them the same way (Series.dt.tz_localize "
                        "or .dt.tz_convert)."
                    )
                for name in dates[column]:
                    columns[name] = _date_feature(values, name[len(str(column)) + 1:], origin)
            elif pd.api.types.is_timedelta64_dtype(values.dtype):
                columns[column] = (values / pd.Timedelta(days=1)).to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                columns[column] = values
        return pd.DataFrame(columns, index=X.index)
