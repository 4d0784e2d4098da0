"""Dask collections in, Dask arrays out: ``predict``, ``transform``, ``score_samples``, ... of a
fitted estimator run lazily, one partition at a time, wherever Dask runs them.

An estimator method decorated with :func:`dask_aware` takes a Dask DataFrame or Series, a Dask
array (rows along axis 0) or a Dask bag of texts, and returns a Dask array whose blocks are the
method's output on each partition. The model travels to each worker once (one key of the graph,
not a copy per task), and each partition goes through the estimator's own chunked prediction
loop, so a worker's memory grows with its partition, not with the whole collection. Nothing
here imports ``dask`` unless a Dask collection is passed.
"""

import functools
import uuid
import weakref

import numpy as np


_TOKENS = weakref.WeakKeyDictionary()


def token(estimator):
    """Dask's token of an estimator (``__dask_tokenize__``): one drawn per object, and its fitted net's
    identity (a refit is a new token). Hashing its pickle would not do: it is not byte-for-byte stable."""
    return type(estimator).__name__, _TOKENS.setdefault(estimator, uuid.uuid4().hex), id(vars(estimator).get("net_"))


def is_dask_collection(X):
    """Whether ``X`` is a Dask collection (checked without importing Dask)."""
    module = type(X).__module__ or ""
    return (module == "dask" or module.startswith(("dask.", "dask_expr"))) and hasattr(X, "__dask_graph__")


def dask_aware(method):
    """Let ``method(self, X)`` take a Dask collection (see the module docstring)."""

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        if is_dask_collection(X):
            if args or kwargs:
                raise TypeError(f"{method.__name__} on a Dask collection takes X only.")
            return map_partitions(self, method.__name__, X)
        return method(self, X, *args, **kwargs)

    return wrapper


def _run(estimator, name, part, empty=None):
    """``estimator.name`` on one partition (a pandas object, an array or a list of texts);
    ``empty`` for a partition without rows (as after a filter)."""
    if empty is not None and len(part) == 0:
        return empty
    return np.asarray(getattr(estimator, name)(part))


def _partitions(X):
    """The row partitions of ``X`` as delayed objects, and their lengths (NaN where unknown)."""
    import dask.array as da
    import dask.bag as db

    if isinstance(X, da.Array):
        if X.ndim > 1:
            X = X.rechunk({axis: -1 for axis in range(1, X.ndim)})  # whole rows in each block
        return list(X.to_delayed().ravel()), [float(n) for n in X.chunks[0]]
    if isinstance(X, db.Bag):
        import dask

        parts = [dask.delayed(list)(part) for part in X.to_delayed()]
        return parts, [np.nan] * len(parts)
    if hasattr(X, "to_delayed"):  # a Dask DataFrame or Series
        parts = X.to_delayed()
        return list(parts), [np.nan] * len(parts)
    raise TypeError(f"{type(X).__name__} is a Dask collection that sktransformer cannot split into rows; pass a "
                    "Dask DataFrame, Series, array or bag.")


def _head(part):
    """The first rows of a partition."""
    return part.iloc[:2] if hasattr(part, "iloc") else part[:2]


def map_partitions(estimator, name, X):
    """``estimator.name`` over the partitions of the Dask collection ``X``, as a lazy Dask array."""
    import dask
    import dask.array as da

    parts, lengths = _partitions(X)
    # the width and dtype of the output, from the first rows (computing partitions until one has rows)
    for part in parts:
        head = dask.delayed(_head)(part).compute()
        if len(head):
            break
    else:
        raise ValueError("X is empty: its partitions hold 0 rows, a minimum of 1 is required.")
    sample = _run(estimator, name, head)
    model = dask.delayed(estimator, name=f"sktransformer-{type(estimator).__name__}-{uuid.uuid4().hex}",
                         traverse=False)
    run = dask.delayed(_run)  # keys drawn at random: nothing to hash (an estimator may not hash deterministically)
    blocks = [da.from_delayed(run(model, name, part, sample[:0]), shape=(n,) + sample.shape[1:], dtype=sample.dtype)
              for part, n in zip(parts, lengths)]
    return da.concatenate(blocks, axis=0)
