"""skorch plumbing shared by the estimators: the dataset, batch collation and the net factory.

The estimators wrap a plain :class:`skorch.NeuralNet`; what differs between them (criterion,
head) is passed in. Nothing here knows about text, tables or sequences.
"""

import contextlib
import copy
import functools

import numpy as np
import torch
from skorch import NeuralNet, NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import Callback
from skorch.dataset import Dataset
from torch.utils.data import default_collate

# Keys whose second dimension is the (padded) token / step axis, trimmed per batch.
_PADDED_KEYS = ("input_ids", "attention_mask", "field_ids", "x_seq", "token_type_ids")


class _Batch(tuple):
    """An already collated ``(X_dict, y)`` batch, as :meth:`BatchDataset.__getitems__` returns it."""


class BatchDataset(Dataset):
    """skorch's :class:`~skorch.dataset.Dataset` that also hands out a whole batch at once.

    PyTorch's ``DataLoader`` asks ``__getitems__`` for all the indices of a batch in one call when a
    dataset has it. For a dict of NumPy arrays (what the encoders return) one fancy-indexing per key
    replaces ``batch_size`` calls of ``__getitem__`` plus ``default_collate``; the tensors are the same
    (same values, dtypes and shapes), so training is unchanged, only faster. Other inputs fall back to
    the per-sample path.
    """

    def _batchable(self):
        arrays = list(self.X.values()) if isinstance(self.X, dict) else []
        if self.y is not None:
            arrays.append(self.y)
        return bool(arrays) and isinstance(self.X, dict) and all(
            isinstance(a, np.ndarray) and a.dtype != object for a in arrays
        )

    def __getitems__(self, indices):
        if not self._batchable():
            return [self[i] for i in indices]
        idx = np.asarray(indices, dtype=np.int64)
        Xb = {k: torch.as_tensor(v[idx]) for k, v in self.X.items()}
        # skorch's Dataset stands a dummy tensor([0.]) in for a missing y; collated: (n, 1) zeros
        yb = torch.zeros(len(idx), 1) if self.y is None else torch.as_tensor(self.y[idx])
        return _Batch((Xb, yb))


def trim_padding(X):
    """Cut the padding columns that no row of the batch ``X`` uses.

    ``X`` is a dict of arrays or tensors. The encoders pad every row of a chunk to the chunk's
    longest row; a batch only needs its own longest row (SST-2 sentences average 9 tokens, far
    below a fixed pad length), which makes attention cheaper without changing any real token's
    output. Rows are right-padded.
    """
    mask = X.get("attention_mask") if isinstance(X, dict) else None
    if mask is None:
        return X
    length = int(mask.sum(1).max())
    if length == mask.shape[1]:
        return X
    return {k: (v[:, :length] if k in _PADDED_KEYS and v.ndim >= 2 else v) for k, v in X.items()}


def trim_collate(batch):
    """Collate a list of ``(X_dict, y)`` samples (or take a batch :class:`BatchDataset` already
    collated) and cut the padding no sample uses (:func:`trim_padding`)."""
    Xb, yb = batch if isinstance(batch, _Batch) else default_collate(batch)
    return trim_padding(Xb), yb


_OPTIMIZERS = {
    "adamw": torch.optim.AdamW,
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
}


def _fused_supported(device):
    """Whether ``torch.optim.Adam(W)(..., fused=True)`` runs on ``device``: CUDA, and the CPU from
    torch 2.4 on. The fused kernel updates every parameter in one pass instead of a loop of small
    tensor operations per parameter: about 12-15% less time per training step on the CPU here."""
    kind = torch.device(device).type
    if kind == "cuda":
        return True
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    return kind == "cpu" and (major, minor) >= (2, 4)


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when a CUDA device is available, else ``"cpu"``.

    Any other value must name a torch device; ``ValueError`` (naming ``device``) when it does not, or
    when it asks for CUDA on a machine without it, so ``fit`` fails before any model work.
    """
    if device == "auto":
        return (_dask_worker_gpu() or "cuda") if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or 'cuda:<index>'."
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}, but this machine has no CUDA device; use 'auto' or 'cpu'.")
    return device


def _dask_worker_gpu():
    """``"cuda:<k>"`` for code running in a Dask worker on a machine whose GPUs it all sees: the
    workers of a machine share its GPUs in turn (``LocalCluster`` names them 0, 1, 2, ...: worker
    ``i`` takes GPU ``i % n_gpus``; a worker with another name takes one by its address). None
    outside a worker or with one visible GPU (as dask-cuda gives each of its workers)."""
    import sys
    import zlib

    distributed = sys.modules.get("distributed")  # imported by any Dask worker process
    n_gpus = torch.cuda.device_count()
    if distributed is None or n_gpus < 2:
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:  # not in a worker
        return None
    name = str(worker.name)
    index = int(name) if name.isdigit() else zlib.crc32(str(worker.address).encode())
    return f"cuda:{index % n_gpus}"


def build_net(net_class, module, criterion, *, optimizer, lr, weight_decay, max_epochs, batch_size,
              device, callbacks, train_split, verbose, seed, **net_kwargs):
    """Build the skorch net (``net_class``: ``NeuralNet`` or a subclass) that trains ``module``.

    ``callbacks`` is the full list of ``(name, callback)`` pairs (the base assembles it).
    ``seed`` drives the data loader's shuffling (a seeded ``torch.Generator``) so that the same
    ``random_state`` gives the same model. Named optimizers get torch's fused kernel where it runs.
    """
    opt = _OPTIMIZERS[optimizer] if isinstance(optimizer, str) else optimizer
    kwargs = {}
    if weight_decay:
        kwargs["optimizer__weight_decay"] = weight_decay
    if opt is torch.optim.SGD:
        kwargs["optimizer__momentum"] = 0.9
    accelerated = "accelerator" in net_kwargs
    if isinstance(optimizer, str) and opt is not torch.optim.SGD and not accelerated and _fused_supported(device):
        kwargs["optimizer__fused"] = True  # named optimizers only: a user's class gets its own defaults
    if accelerated:  # the accelerator places the model; its own print would be kept (and pickled) by the net
        device = None
        kwargs["callbacks__print_log__sink"] = print if verbose else silent
    elif not verbose:
        kwargs["callbacks__print_log"] = None  # it formats a table every epoch even when silent

    generator = torch.Generator().manual_seed(seed)
    return net_class(
        module=module, criterion=criterion, optimizer=opt, lr=lr, max_epochs=max_epochs, batch_size=batch_size,
        train_split=train_split, callbacks=callbacks or None, device=device, verbose=verbose,
        dataset=BatchDataset, iterator_train__shuffle=True, iterator_train__generator=generator,
        iterator_train__collate_fn=trim_collate, iterator_valid__collate_fn=trim_collate, **kwargs, **net_kwargs,
    )


class _SameAsModule:
    """Stands in a pickle for a net's ``module`` argument that is its fitted ``module_``."""


class SlimPickle:
    """Pickle what a fitted net needs to predict and to train on, not its training state.

    * The module once: skorch pickles ``module_`` apart from the rest of the net (so that a CUDA
      net loads on a CPU), and the ``module`` argument with it, although the estimators pass an
      instance and the two are one object.
    * The optimizer without its per-weight state (Adam's two moments: twice the weights' size);
      ``warm_start`` and ``partial_fit`` after loading train on with fresh moments.
    * An ``LRScheduler`` callback without its scheduler, which holds the optimizer (and so every
      weight) a second time; skorch builds a new one when training begins.

    Put this class before skorch's net class in the bases.
    """

    def __getstate__(self):
        import collections

        optimizers = {k: v for k, v in self.__dict__.items()
                      if k.startswith("optimizer_") and isinstance(v, torch.optim.Optimizer)}
        for name, optimizer in optimizers.items():  # skorch pickles them inside its own state
            stateless = copy.copy(optimizer)
            stateless.state = collections.defaultdict(dict)
            self.__dict__[name] = stateless
        try:
            state = super().__getstate__()
        finally:
            self.__dict__.update(optimizers)
        if state.get("module") is not None and state.get("module") is self.__dict__.get("module_"):
            state["module"] = _SameAsModule
        copies = {}  # one copy per callback: ``callbacks`` and ``callbacks_`` share their objects
        for key in ("callbacks", "callbacks_"):
            if isinstance(state.get(key), list):
                state[key] = [_without_scheduler(item, copies) for item in state[key]]
        return state

    def __setstate__(self, state):
        same = state.get("module") is _SameAsModule
        super().__setstate__(state)
        if same:
            self.module = self.module_


def _without_scheduler(item, copies):
    """``item`` (a callback or a ``(name, callback)`` pair) with an ``LRScheduler`` copied
    without its scheduler; ``copies`` maps callbacks already copied to their copy."""
    if isinstance(item, tuple) and len(item) == 2:
        return item[0], _without_scheduler(item[1], copies)
    if getattr(item, "lr_scheduler_", None) is None:
        return item
    if id(item) not in copies:
        copies[id(item)] = copy.copy(item)
        copies[id(item)].lr_scheduler_ = None
    return copies[id(item)]


#: The key of ``X`` that carries the rows' weights to the loss (never to the module).
SAMPLE_WEIGHT = "sample_weight"


class WeightedLoss:
    """Sample weights, the way skorch's documentation advises: they travel in the ``X`` dict under
    :data:`SAMPLE_WEIGHT`, the module never sees them, and a batch's loss is the weighted mean of
    its rows' losses, ``sum(w * loss) / sum(w)`` (the criterion is built with ``reduction="none"``
    for it). Without weights the net is skorch's. Put this class before skorch's net class in the
    bases."""

    def infer(self, x, **fit_params):
        if isinstance(x, dict) and SAMPLE_WEIGHT in x:
            x = {k: v for k, v in x.items() if k != SAMPLE_WEIGHT}
        return super().infer(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        weight = X.get(SAMPLE_WEIGHT) if isinstance(X, dict) else None
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if weight is None:
            return loss
        weight = torch.as_tensor(weight, device=loss.device).to(loss.dtype)
        loss = loss.reshape(len(weight), -1).mean(dim=1)  # one loss per row (a mean over targets)
        return (weight * loss).sum() / weight.sum().clamp_min(torch.finfo(loss.dtype).tiny)


class Net(SlimPickle, WeightedLoss, NeuralNet):
    """skorch's ``NeuralNet`` that pickles slim (:class:`SlimPickle`) and takes sample weights."""


class ClassifierNet(SlimPickle, WeightedLoss, NeuralNetClassifier):
    """skorch's ``NeuralNetClassifier`` that pickles slim (:class:`SlimPickle`) and takes sample weights."""


class RegressorNet(SlimPickle, WeightedLoss, NeuralNetRegressor):
    """skorch's ``NeuralNetRegressor`` that pickles slim (:class:`SlimPickle`) and takes sample weights."""


def accelerated(net_class, options):
    """``net_class`` with skorch's ``AccelerateMixin``, and the net keyword arguments that give it
    an ``accelerate.Accelerator(**options)``; ``ImportError`` naming the extra when accelerate is
    missing, ``TypeError`` naming the bad option."""
    try:
        from accelerate import Accelerator
    except ImportError:
        raise ImportError("accelerator= needs the accelerate package: pip install 'sktransformer[accelerate]'.") from None
    try:
        accelerator = Accelerator(**options)
    except TypeError as err:
        raise TypeError(f"accelerator={options!r} is not a set of accelerate.Accelerator arguments: {err}") from None
    except ValueError as err:  # accelerate keeps one state (mixed precision, processes) per process
        raise ValueError(f"accelerator={options!r}: {err}") from None
    return _accelerated_classes()[net_class], {"accelerator": accelerator}


def bring_home(net):
    """Turn an accelerated net, after training, into the plain net it is built on: the module and
    criterion unwrapped (by skorch, at the end of training), the optimizer unwrapped, on the
    accelerator's device, without the accelerator (which does not pickle)."""
    accelerator = net.accelerator
    net._unwrap_accelerator()
    optimizer = net.__dict__.get("optimizer_")
    if optimizer is not None and hasattr(optimizer, "optimizer"):
        net.__dict__["optimizer_"] = optimizer.optimizer  # accelerate's wrapper -> the torch optimizer
    for key in ("accelerator", "unwrap_after_train", "_wrapped_with_accelerator"):
        net.__dict__.pop(key, None)
    net.__class__ = {v: k for k, v in _accelerated_classes().items()}[type(net)]
    net.device = str(accelerator.device)
    return net


def initialize_for_inference(net):
    """Initialise ``net`` to predict only (a model used as it is, never trained).

    skorch's ``initialize`` without its optimizer step, so that a module with no trainable weight
    is fine; the module still goes to ``net.device`` as in ``initialize``.
    """
    net._initialize_virtual_params()
    net._initialize_callbacks()
    net._initialize_module()
    net._initialize_criterion()
    net._initialize_history()
    net.initialized_ = True
    return net


class FiniteLoss(Callback):
    """Stop training with a ``ValueError`` as soon as a batch's loss is not finite.

    A NaN or infinite loss (a learning rate far too large, weights that make the loss unbounded)
    would otherwise train on and leave a model whose every output is NaN: ``predict`` would return
    one class for every row. ``hint`` tells the user what to change.
    """

    def __init__(self, hint):
        self.hint = hint

    def on_batch_end(self, net, batch=None, training=False, loss=None, **kwargs):
        if loss is not None and not torch.isfinite(loss).all():
            raise ValueError(
                f"The {'training' if training else 'validation'} loss became {float(loss)} in epoch "
                f"{len(net.history)}: training diverged. {self.hint}"
            )


@contextlib.contextmanager
def seeded(seed, device):
    """Run the block with torch's global generator (which dropout and noise draw from) seeded at
    ``seed``, and give the caller's generator state back afterwards."""
    with torch.random.fork_rng(devices=[] if torch.device(device).type == "cpu" else None):
        torch.manual_seed(seed)
        yield


def silent(*args, **kwargs):
    """A ``sink`` for skorch callbacks that prints nothing."""


def steps_per_epoch(n_samples, batch_size):
    """Gradient steps in one pass over ``n_samples`` rows (the last batch may be short)."""
    return max(1, -(-int(n_samples) // int(batch_size)))


@functools.lru_cache(maxsize=None)
def _accelerated_classes():
    """The accelerated class of each net class, made on first use (``skorch.hf`` is slow to
    import); a net is turned back into its plain class after training (:func:`bring_home`), so
    these classes never reach a pickle."""
    from skorch.hf import AccelerateMixin

    class AcceleratedNet(AccelerateMixin, Net):
        """:class:`Net` trained through accelerate (see :func:`accelerated`)."""

    class AcceleratedClassifierNet(AccelerateMixin, ClassifierNet):
        """:class:`ClassifierNet` trained through accelerate (see :func:`accelerated`)."""

    class AcceleratedRegressorNet(AccelerateMixin, RegressorNet):
        """:class:`RegressorNet` trained through accelerate (see :func:`accelerated`)."""

    return {Net: AcceleratedNet, ClassifierNet: AcceleratedClassifierNet, RegressorNet: AcceleratedRegressorNet}

