"""skorch plumbing shared by the estimators: batch collation and the net factory.

The estimators wrap a plain :class:`skorch.NeuralNet`; what differs between them (criterion,
head) is passed in. Nothing here knows about text, tables or sequences.
"""

import copy

import torch
from torch.utils.data import default_collate

# Keys whose second dimension is the (padded) token / step axis, trimmed per batch.
_PADDED_KEYS = ("input_ids", "attention_mask", "x_seq", "token_type_ids")


def trim_collate(batch):
    """Collate a list of ``(X_dict, y)`` samples and cut padding columns that no sample uses.

    The encoders pad every row of a chunk to the chunk's longest row; a batch then only needs its
    own longest row (SST-2 sentences average 9 tokens, far below a fixed pad length), which makes
    attention cheaper without changing any real token's output.
    """
    Xb, yb = default_collate(batch)
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


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when a CUDA device is available, else ``"cpu"``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
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
    **net_kwargs,
):
    """Build the skorch net (``net_class``: ``NeuralNet`` or a subclass) that trains ``module``.

    ``seed`` drives the data loader's shuffling (a seeded ``torch.Generator``) so that the same
    ``random_state`` gives the same model.
    """
    from skorch.callbacks import EarlyStopping, ProgressBar

    opt = _OPTIMIZERS[optimizer] if isinstance(optimizer, str) else optimizer
    kwargs = {f"criterion__{k}": v for k, v in (criterion_kwargs or {}).items()}
    if weight_decay:
        kwargs["optimizer__weight_decay"] = weight_decay
    if opt is torch.optim.SGD:
        kwargs["optimizer__momentum"] = 0.9

    cbs = [copy.deepcopy(cb) for cb in (callbacks or [])]  # the user's objects stay untouched
    if early_stopping_patience is not None:
        cbs.append(
            ("early_stopping",
             EarlyStopping(monitor="valid_loss", patience=early_stopping_patience,
                           load_best=True, sink=print if verbose else _silent))
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
        iterator_train__shuffle=True,
        iterator_train__generator=generator,
        iterator_train__collate_fn=trim_collate,
        iterator_valid__collate_fn=trim_collate,
        **kwargs,
        **net_kwargs,
    )


def _silent(*args, **kwargs):
    pass
