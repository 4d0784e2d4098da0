"""Tables -> scaled numeric features and integer category codes (one token per column)."""

import numpy as np
import pandas as pd
from sklearn.preprocessing import QuantileTransformer, StandardScaler

_SCALES = ("standard", "quantile", "none")


def _is_numeric(dtype):
    """True for int, uint, float and bool columns (numpy or pandas nullable dtypes)."""
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _to_float(values):
    """A new float64 array from numeric or nullable values (pd.NA -> NaN)."""
    if isinstance(values, (pd.Series, pd.DataFrame)):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)  # always a new array
    return np.array(values, dtype=np.float64)  # copies


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
    values not seen in ``fit`` and for missing values, so column ``j`` has ``cat_cardinalities_[j]`` =
    number of categories + 1 codes.

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
    feature_names_ : list of str
        Column names in token order: numeric columns, then categorical columns (``x0, x1, ...``
        for an array).
    n_features_ : int
        Total number of columns (tokens).
    input_order_ : ndarray of shape (n_features_,)
        The token of each input column, in the input's column order: ``tokens[:, input_order_]``
        puts per-token values back in the order of ``X``'s columns.
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
            names = [f"x{j}" for j in self.numeric_columns_]
        self.feature_names_ = [str(name) for name in names]
        position = {c: i for i, c in enumerate(names)}
        self.input_order_ = np.array([position[c] for c in (X.columns if self._fitted_on_frame else names)])
        self.n_numeric_ = len(self.numeric_columns_)
        self.cat_cardinalities_ = [len(cats) + 1 for cats in self.categories_]
        self.n_features_ = len(self.feature_names_)

        x_num = self._numeric(X)  # (n, n_numeric), float64
        self.mean_ = self.scale_ = self.quantile_transformer_ = None
        if self.scale == "standard" and not self.n_numeric_:
            self.mean_, self.scale_ = np.zeros(0), np.ones(0)
        elif self.scale == "standard":
            # NaN-aware; a constant column gets scale 1: it is only centred
            scaler = StandardScaler().fit(x_num)
            self.mean_, self.scale_ = scaler.mean_, scaler.scale_
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
            missing = [c for c in self.numeric_columns_ + self.categorical_columns_ if c not in X.columns]
            if missing:
                raise ValueError(f"X is missing columns seen in fit: {missing}.")
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
        overflow = ~np.isfinite(x_num).all(axis=0)
        if overflow.any():
            raise ValueError(
                f"X has values in columns {self._names(overflow)} too large for the model: scaled by their "
                "column's spread in fit, they overflow float32 (3.4e38). Check those values (a unit or typing "
                "error?), or rescale those columns."
            )
        x_cat = np.zeros((len(X), len(self.categorical_columns_)), dtype=np.int64)
        for j, (column, cats) in enumerate(zip(self.categorical_columns_, self.categories_)):
            x_cat[:, j] = cats.get_indexer(X[column].to_numpy(dtype=object)) + 1
        return {"x_num": x_num, "x_cat": x_cat}

    def inverse_transform(self, x_num, x_cat):
        """Tokens back to a table in ``X``'s column order and units.

        Parameters
        ----------
        x_num : array of shape (n, n_numeric_)
            Scaled numeric values (``scale="standard"`` or ``"none"``).
        x_cat : array of shape (n, n_categorical)
            Category codes; code 0 (unknown) gives ``None``.

        Returns
        -------
        X : DataFrame (when fitted on one, columns in its order) or ndarray of shape (n, n_features_)
        """
        if self.quantile_transformer_ is not None:
            x_num = self.quantile_transformer_.inverse_transform(x_num)
        elif self.scale == "standard":
            x_num = np.asarray(x_num, dtype=np.float64) * self.scale_ + self.mean_
        if not self._fitted_on_frame:
            return np.asarray(x_num, dtype=np.float64)
        frame = pd.DataFrame({c: x_num[:, j] for j, c in enumerate(self.numeric_columns_)})
        for j, (column, cats) in enumerate(zip(self.categorical_columns_, self.categories_)):
            values = np.asarray([None] + list(cats), dtype=object)  # code k -> category k - 1
            frame[column] = pd.Series(values[np.asarray(x_cat[:, j], dtype=np.int64)], dtype=object)
        columns = self.numeric_columns_ + self.categorical_columns_
        return frame[[columns[i] for i in self.input_order_]]

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
