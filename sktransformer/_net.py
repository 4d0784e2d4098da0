"""skorch plumbing shared by the estimators: batch collation and the net factory.

The estimators wrap a plain :class:`skorch.NeuralNet`; what differs between them (criterion,
head) is passed in. Nothing here knows about text, tables or sequences.
"""

import copy

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.dataset import Dataset
from torch.utils.data import default_collate

# Keys whose second dimension is the (padded) token / step axis, trimmed per batch.
_PADDED_KEYS = ("input_ids", "attention_mask", "x_seq", "token_type_ids")


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


def trim_collate(batch):
    """Collate a list of ``(X_dict, y)`` samples and cut padding columns that no sample uses.

    ``batch`` may also be a batch :class:`BatchDataset` already collated. The encoders pad every row
    of a chunk to the chunk's longest row; a batch then only needs its own longest row (SST-2
    sentences average 9 tokens, far below a fixed pad length), which makes attention cheaper
    without changing any real token's output.
    """
    Xb, yb = batch if isinstance(batch, _Batch) else default_collate(batch)
    if isinstance(Xb, dict) and "attention_mask" in Xb:
        mask = Xb["attention_mask"]
        length = int(mask.sum(dim=1).max())  # rows are right-padded
        if length < mask.shape[1]:
            Xb = {
                k: (v[:, :length] if k in _PADDED_KEYS and v.dim() >= 2 else v)
                for k, v in Xb.items()
            }
    return Xb, yb


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
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or 'cuda:<index>'."
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}, but this machine has no CUDA device; use 'auto' or 'cpu'.")
    return device


def build_net(
    net_class,
    module,
    criterion,
    *,
    criterion_kwargs=None,
    optimizer,
    lr,
    weight_decay,
    max_epochs,
    batch_size,
    device,
    callbacks,
    train_split,
    early_stopping_patience,
    verbose,
    seed,
    lr_schedule_steps=None,
    tol=None,
    ema_decay=None,
    **net_kwargs,
):
    """Build the skorch net (``net_class``: ``NeuralNet`` or a subclass) that trains ``module``.

    ``seed`` drives the data loader's shuffling (a seeded ``torch.Generator``) so that the same
    ``random_state`` gives the same model. ``lr_schedule_steps``: when set, the learning rate
    follows a cosine from ``lr`` down to 0 over that many gradient steps (updated every batch).
    ``tol``: when set, :class:`ConvergenceStop` ends training once the training loss has converged.
    ``ema_decay``: when set, :class:`WeightAverage` ends training with the moving average of the
    weights.
    """
    from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar

    opt = _OPTIMIZERS[optimizer] if isinstance(optimizer, str) else optimizer
    kwargs = {f"criterion__{k}": v for k, v in (criterion_kwargs or {}).items()}
    if weight_decay:
        kwargs["optimizer__weight_decay"] = weight_decay
    if opt is torch.optim.SGD:
        kwargs["optimizer__momentum"] = 0.9
    if isinstance(optimizer, str) and opt is not torch.optim.SGD and _fused_supported(device):
        kwargs["optimizer__fused"] = True  # named optimizers only: a user's class gets its own defaults
    if not verbose:
        kwargs["callbacks__print_log"] = None  # it formats a table every epoch even when silent

    cbs = [copy.deepcopy(cb) for cb in (callbacks or [])]  # the user's objects stay untouched
    if early_stopping_patience is not None:
        cbs.append(
            ("early_stopping",
             EarlyStopping(monitor="valid_loss", patience=early_stopping_patience,
                           load_best=True, sink=print if verbose else _silent))
        )
    if tol is not None:
        cbs.append(("converged", ConvergenceStop(tol, sink=print if verbose else _silent)))
    if ema_decay is not None:
        cbs.append(("weight_average", WeightAverage(ema_decay)))
    if lr_schedule_steps:
        cbs.append(
            ("lr_schedule",
             LRScheduler(policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                         T_max=int(lr_schedule_steps), step_every="batch"))
        )
    if verbose:
        cbs.append(("progress_bar", ProgressBar()))

    generator = torch.Generator().manual_seed(seed)
    return net_class(
        module=module,
        criterion=criterion,
        optimizer=opt,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=train_split,
        callbacks=cbs or None,
        device=device,
        verbose=verbose,
        dataset=BatchDataset,
        iterator_train__shuffle=True,
        iterator_train__generator=generator,
        iterator_train__collate_fn=trim_collate,
        iterator_valid__collate_fn=trim_collate,
        **kwargs,
        **net_kwargs,
    )


def _silent(*args, **kwargs):
    pass


#: Epochs in each window of :class:`ConvergenceStop` (``n_iter_no_change=10`` in scikit-learn's MLP).
CONVERGENCE_PATIENCE = 10


class ConvergenceStop(Callback):
    """Stop training once the training loss has converged.

    The loss of one epoch is noisy (dropout, small batches, a few steps an epoch), so the test
    compares windows: training stops when the mean loss of the last ``patience`` epochs is not at
    least ``tol`` below the mean of the ``patience`` epochs before them. The test starts only once
    the loss has fallen below ``start_fraction`` of the first epoch's loss: a model still on its
    first plateau (the loss flat near chance level, as a sequence model on GunPoint for dozens of
    epochs) has not converged, it has not started.

    Parameters
    ----------
    tol : float
    patience : int, default=CONVERGENCE_PATIENCE
    start_fraction : float, default=0.5
    sink : callable, default=print
        Receives the stopping message.
    """

    def __init__(self, tol, patience=CONVERGENCE_PATIENCE, start_fraction=0.5, sink=print):
        self.tol = tol
        self.patience = patience
        self.start_fraction = start_fraction
        self.sink = sink

    def on_epoch_end(self, net, **kwargs):
        losses = np.asarray(net.history[:, "train_loss"], dtype=float)
        w = self.patience
        if len(losses) < 2 * w or losses.min() > self.start_fraction * losses[0]:
            return
        if losses[-w:].mean() > losses[-2 * w:-w].mean() - self.tol:
            self.sink(f"Stopping: the mean training loss of the last {w} epochs is not {self.tol} "
                      f"below that of the {w} before.")
            raise KeyboardInterrupt  # skorch's way to end fit_loop (as its EarlyStopping does)


class WeightAverage(Callback):
    """Train on, but end with an exponential moving average of the weights.

    After every training step the average moves towards the current weights:
    ``avg = d * avg + (1 - d) * w``, with ``d = min(decay, (1 + t) / (10 + t))`` at step ``t``, so a
    short run is not pulled back towards the initial weights (the warm-up of TensorFlow's
    ``ExponentialMovingAverage``). When training ends the module's parameters are replaced by the
    average. The last steps of a constant learning rate are noisy moves around a good point; their
    average lies closer to it. Buffers (fixed positions, offsets) are left as they are.

    Parameters
    ----------
    decay : float in (0, 1)
    """

    def __init__(self, decay):
        self.decay = decay

    def on_train_begin(self, net, **kwargs):
        self.steps_ = 0
        self.average_ = [p.detach().clone() for p in net.module_.parameters()]

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        self.steps_ += 1
        decay = min(self.decay, (1 + self.steps_) / (10 + self.steps_))
        with torch.no_grad():
            for avg, p in zip(self.average_, net.module_.parameters()):
                avg.lerp_(p.detach(), 1 - decay)

    def on_train_end(self, net, **kwargs):
        with torch.no_grad():
            for avg, p in zip(self.average_, net.module_.parameters()):
                p.copy_(avg)
        self.average_ = None  # the copy is not pickled with the net


# ---------------------------------------------------------------------- masked reconstruction (autoencoder)
class MaskedReconstructionLoss(torch.nn.Module):
    """Mean of the per-token errors over the hidden tokens.

    The autoencoder module returns ``(errors (B, T), hidden (B, T) bool)`` in training; the target
    ``y`` is skorch's placeholder for unsupervised data and is ignored.
    """

    def forward(self, y_pred, y_true=None):
        errors, hidden = y_pred
        hidden = hidden.to(errors.dtype)
        return (errors * hidden).sum() / hidden.sum().clamp_min(1.0)


#: The most epochs ``max_epochs="auto"`` gives. Small data sets need their steps too: on GunPoint (50
#: series, batch 16: 4 steps an epoch) 60 epochs gave 0.667 test accuracy and 300 gave 0.940.
MAX_AUTO_EPOCHS = 1000


def steps_per_epoch(n_samples, batch_size):
    """Gradient steps in one pass over ``n_samples`` rows (the last batch may be short)."""
    return max(1, -(-int(n_samples) // int(batch_size)))


def auto_epochs(n_samples, batch_size, target_steps=300, min_epochs=2, max_epochs=None):
    """Epochs that give about ``target_steps`` gradient steps, within ``[min_epochs, max_epochs]``.

    ``max_epochs=None`` means :data:`MAX_AUTO_EPOCHS`.
    """
    max_epochs = MAX_AUTO_EPOCHS if max_epochs is None else max_epochs
    steps = steps_per_epoch(n_samples, batch_size)
    return int(min(max_epochs, max(min_epochs, round(target_steps / steps))))
