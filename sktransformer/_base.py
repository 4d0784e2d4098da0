"""The shared estimator base: parameters, input-mode detection, encoders, building the skorch net.

Every estimator (classifier, regressor, ...) inherits :class:`TransformerBase` and adds only what
differs: its targets, head, criterion and output post-processing.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import (
    _is_pandas,
    check_same_length,
    check_sequences,
    check_text,
    detect_input_mode,
)

#: Rows encoded and run through the model at a time by predict/transform: memory stays flat in n.
CHUNK_SIZE = 4096

#: Token budget for text when ``max_length=None``.
DEFAULT_TEXT_MAX_LENGTH = 128

#: Learning rate of the wide part (``wide=True``) as a multiple of ``lr``: a linear model over
#: sparse n-grams needs larger steps than the transformer (SST-2 dev accuracy, seed 0, 1 thread, a
#: first version with 2**20 buckets: 20x gave 0.826, 5x and 10x 0.818, 100x 0.810).
WIDE_LR_FACTOR = 20
#: Input modes that ``wide="auto"`` gives a wide part.
WIDE_AUTO_MODES = ("text",)
#: Hash buckets of the wide part's subword pairs: this many per vocabulary entry (SST-2's 16,000
#: subwords form 75,000 distinct pairs), at most ``WIDE_MAX_BUCKETS``, and at most
#: ``WIDE_MAX_PAIR_WEIGHTS`` weights in all (a bucket holds one weight per class or target), so
#: that a text model with many classes stays small.
WIDE_BUCKETS_PER_TOKEN = 16
WIDE_MAX_BUCKETS = 2**18
WIDE_MAX_PAIR_WEIGHTS = 2**21

#: Weight-average decay that ``ema_decay="auto"`` gives a table (``_net.WeightAverage``). With the
#: noise of ``input_noise`` (5-fold accuracy, seed 0): digits 0.971 -> 0.978, ionosphere 0.912 ->
#: 0.932, pima 0.712 -> 0.741, wine 0.983 -> 0.961 (see the training guide). Alone, each lowered
#: digits (the noise to 0.968, the average to 0.970). It binds only after 4,490 steps: before
#: that, the warm-up of ``_net.WeightAverage`` is the smaller decay (3,000 steps by default).
TABLE_EMA_DECAY = 0.998


def prediction_rows(n, mask, batch_size):
    """Order in which prediction runs the rows of a chunk: longest first, so each batch carries
    little padding, then copies of the last row up to a multiple of ``batch_size``.

    ``mask`` is the (n, T) token mask, or ``None`` for rows of one length (kept in their order).
    ``rows[:n]`` is a permutation of the chunk; the copies after it are run and dropped. BLAS picks
    its float32 kernels by matrix shape: a row run alone, or in a short last batch, gets outputs
    that differ in the last bits from the same row run in a full batch. With every batch full, a
    row's outputs do not depend on how many rows are predicted with it (scikit-learn's
    ``check_methods_subset_invariance``). Text and ragged sequences still pad each batch to its own
    longest row, so there the padded length can change those last bits.
    """
    order = np.arange(n) if mask is None else np.argsort(-mask.sum(axis=1), kind="stable")
    return np.concatenate([order, np.full(-len(order) % batch_size, order[-1])])


class TransformerBase(BaseEstimator):
    """Shared machinery of the sktransformer estimators (not a public estimator)."""

    #: Gradient steps that ``max_epochs="auto"`` aims for (see ``_net.auto_epochs``).
    _auto_steps = 3000
    #: Most epochs ``max_epochs="auto"`` may give (``None``: ``_net.MAX_AUTO_EPOCHS``).
    _auto_max_epochs = None

    _parameter_constraints = {
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 0, None, closed="left")],
        "dim_feedforward": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "norm_first": ["boolean"],
        "positional": [StrOptions({"learned", "sinusoidal"})],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "vocab_size": [Interval(Integral, 16, None, closed="left")],
        "tokenizer": [StrOptions({"wordpiece", "bpe"})],
        "pooling": [StrOptions({"mean", "max", "cls"})],
        "wide": [StrOptions({"auto"}), "boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"auto", "constant", "cosine"})],
        "optimizer": [StrOptions({"adamw", "adam", "sgd"}), type],
        "device": [str],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "input_noise": [Interval(Real, 0, None, closed="left")],
        "input_clip": [Interval(Real, 0, None, closed="neither"), None],
        "ema_decay": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="neither"), None],
        "callbacks": [list, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # ------------------------------------------------------------------ hooks for subclasses
    def _prepare_targets(self, y):
        """Validate ``y`` and return what the net trains on (set fitted target attributes)."""
        raise NotImplementedError

    def _n_outputs(self):
        raise NotImplementedError

    def _make_head(self):
        raise NotImplementedError

    def _criterion(self, y_net):
        """Return ``(criterion_class, kwargs)`` for the encoded targets ``y_net``."""
        raise NotImplementedError

    def _is_stratified(self):
        return False

    def _head_width(self):
        """Width of the pooled vector the head reads (a pretrained backbone's hidden size)."""
        return self.d_model

    def _extra_net_kwargs(self):
        """More skorch net arguments (e.g. optimizer param groups for a pretrained backbone)."""
        if not self._uses_wide():
            return {}
        # skorch puts pattern groups first and the rest last; the transformer's group stays first
        # (its learning rate is the one callbacks and ``history_``'s ``event_lr`` report): every
        # parameter not under ``wide.`` (no other child of TransformerModel starts with a "w").
        wide = {"lr": self.lr * WIDE_LR_FACTOR, "weight_decay": 0.0}
        return {"optimizer__param_groups": [("[!w]*", {}), ("wide.*", wide)]}

    def _net_class(self):
        """The skorch net class and its extra keyword arguments."""
        from skorch import NeuralNet

        return NeuralNet, {}

    # ------------------------------------------------------------------ input handling
    def _check_X(self, X, reset):
        """Validate raw ``X``; detect (fit) or check (predict) its input mode; return clean X."""
        mode = detect_input_mode(X)
        if reset:
            for attr in ("n_features_in_", "feature_names_in_"):
                if hasattr(self, attr):
                    delattr(self, attr)
            self.input_mode_ = mode
        elif mode != self.input_mode_:
            raise ValueError(
                f"X looks like {mode} input, but this {type(self).__name__} was fitted on "
                f"{self.input_mode_} input; pass the same kind of data as in fit."
            )
        if mode == "text":
            return check_text(X)
        if mode == "sequence":
            seqs = check_sequences(X, n_features=None if reset else self.n_features_in_)
            if reset:
                self.n_features_in_ = seqs.shape[2] if isinstance(seqs, np.ndarray) else seqs[0].shape[1]
            return seqs
        if _is_pandas(X, "DataFrame"):
            validate_data(self, X, reset=reset, skip_check_array=True)
            return self._check_frame(X)
        return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])

    def _check_frame(self, X):
        if X.shape[0] == 0:
            raise ValueError("X is empty: found 0 samples, a minimum of 1 is required.")
        if X.shape[1] == 0:
            raise ValueError("X has 0 features, a minimum of 1 is required.")
        numeric = X.select_dtypes(include=["number", "bool"])
        if numeric.shape[1]:
            values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
            if not np.isfinite(values).all():
                bad = numeric.columns[~np.isfinite(values).all(axis=0)].tolist()
                raise ValueError(f"Input X contains NaN or infinity in numeric columns {bad}.")
        return X

    def _make_encoder(self):
        from .encoding import SequenceEncoder, TabularEncoder, TextEncoder

        if self.input_mode_ == "text":
            return TextEncoder(
                max_length=self._text_max_length(),
                vocab_size=self.vocab_size,
                algorithm=self.tokenizer,
            )
        if self.input_mode_ == "sequence":
            return SequenceEncoder(max_length=self.max_length)
        return TabularEncoder()

    def _text_max_length(self):
        return DEFAULT_TEXT_MAX_LENGTH if self.max_length is None else self.max_length

    def _encode(self, X):
        """Encoder output for validated ``X``; warns when rows were cut at ``max_length``."""
        inputs = self.encoder_.transform(X)
        n_cut = getattr(self.encoder_, "n_truncated_", 0)
        if n_cut:
            unit = "tokens" if self.input_mode_ == "text" else "steps"
            warnings.warn(
                f"{n_cut} of {len(X)} inputs were longer than max_length="
                f"{self.encoder_.max_length} {unit} and were truncated; raise max_length to keep them whole.",
                UserWarning,
                stacklevel=3,
            )
        return inputs, n_cut

    # ------------------------------------------------------------------ model
    def _make_embedding(self):
        from .nn import FeatureTokenizer, StepProjection, TokenEmbedding

        enc = self.encoder_
        add_cls = self.pooling == "cls"
        if self.input_mode_ == "text":
            return TokenEmbedding(
                vocab_size=enc.vocab_size_, d_model=self.d_model, max_length=enc.max_length,
                positional=self.positional, pad_id=enc.pad_id_, add_cls=add_cls, dropout=self.dropout,
            )
        if self.input_mode_ == "sequence":
            return StepProjection(
                n_features=enc.n_features_, d_model=self.d_model, max_length=enc.max_length,
                positional=self.positional, add_cls=add_cls, dropout=self.dropout,
            )
        return FeatureTokenizer(
            n_numeric=enc.n_numeric_, cat_cardinalities=enc.cat_cardinalities_,
            d_model=self.d_model, add_cls=add_cls,
            noise_std=getattr(self, "input_noise", 0.0),  # the autoencoder has neither
            clip=getattr(self, "input_clip", None),
        )

    def _make_module(self):
        from .nn import TransformerModel

        return TransformerModel(
            embedding=self._make_embedding(),
            d_model=self.d_model, n_heads=self.n_heads, n_layers=self.n_layers,
            dim_feedforward=self.dim_feedforward, dropout=self.dropout,
            norm_first=self.norm_first, pooling=self.pooling, head=self._make_head(),
            first_norm=self.input_mode_ != "tabular",  # FT-Transformer's choice (see nn.Encoder)
            wide=self._make_wide(),
        )

    def _uses_wide(self):
        """Whether the model gets a wide part: ``wide`` resolved for ``input_mode_`` (estimators
        without the parameter, the embedder and the autoencoder, never do)."""
        wide = getattr(self, "wide", False)
        if wide == "auto":
            return self.input_mode_ in WIDE_AUTO_MODES
        return wide

    def _make_wide(self):
        """The wide part of the model (``nn.NgramLinear`` / ``nn.ColumnLinear``), or None."""
        if not self._uses_wide():
            return None
        from .nn import ColumnLinear, NgramLinear

        enc, n_outputs = self.encoder_, self._n_outputs()
        if self.input_mode_ == "text":
            n_buckets = min(WIDE_MAX_BUCKETS, WIDE_BUCKETS_PER_TOKEN * enc.vocab_size_,
                            max(1, WIDE_MAX_PAIR_WEIGHTS // n_outputs))
            return NgramLinear(enc.vocab_size_, n_outputs, n_buckets=n_buckets, pad_id=enc.pad_id_)
        return ColumnLinear(enc.n_numeric_, enc.cat_cardinalities_, n_outputs)

    def _lr_schedule(self):
        """``lr_schedule`` with ``"auto"`` resolved: cosine for text, constant for other inputs."""
        schedule = getattr(self, "lr_schedule", "constant")  # the embedder has no lr_schedule
        if schedule == "auto":
            return "cosine" if self.input_mode_ == "text" else "constant"
        return schedule

    def _ema_decay(self):
        """``ema_decay`` with ``"auto"`` resolved: ``TABLE_EMA_DECAY`` for a table trained without
        early stopping, else None (estimators without the parameter never average)."""
        decay = getattr(self, "ema_decay", None)
        if decay == "auto":
            tables = self.input_mode_ == "tabular"
            return TABLE_EMA_DECAY if tables and self.n_iter_no_change is None else None
        return decay

    def _resolve_max_epochs(self, n_train):
        """``max_epochs`` for ``n_train`` training rows, ``"auto"`` resolved (see ``_net.auto_epochs``)."""
        from ._net import auto_epochs

        if self.max_epochs != "auto":
            return self.max_epochs
        return auto_epochs(n_train, self.batch_size, target_steps=self._auto_target_steps(),
                           max_epochs=self._auto_max_epochs)

    def _auto_target_steps(self):
        """Gradient steps ``max_epochs="auto"`` aims for (``input_mode_`` is set)."""
        return self._auto_steps

    def _check_hyperparameters(self):
        self._validate_params()
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}."
            )
        if getattr(self, "ema_decay", None) not in ("auto", None) and self.n_iter_no_change is not None:
            raise ValueError(
                f"ema_decay={self.ema_decay} and n_iter_no_change={self.n_iter_no_change} both choose "
                "the final weights (an average, or the best epoch's); set one of them, or "
                "ema_decay='auto' (no average with early stopping)."
            )

    # ------------------------------------------------------------------ fit / forward
    def _fit(self, X, y):
        """Steps 1-6 of DESIGN.md's fit flow, shared by every estimator."""
        import torch
        from skorch.dataset import ValidSplit

        from ._net import build_net, resolve_device, steps_per_epoch

        self._check_hyperparameters()
        device = resolve_device(self.device)
        X = self._check_X(X, reset=True)
        if self.input_mode_ == "sequence" and self._uses_wide():
            raise ValueError(
                "wide=True needs text or a table; sequences have no wide part (use wide='auto' or False)."
            )
        if y is not None:
            check_same_length(len(X), y)
        y_net = self._prepare_targets(y)

        self.encoder_ = self._make_encoder()
        self.encoder_.fit(X)
        if self.input_mode_ == "sequence" and self.max_length is None:
            self.encoder_.max_length = self.encoder_.max_steps_  # positions sized to what fit saw
        inputs, self.n_truncated_ = self._encode(X)

        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        early = self.n_iter_no_change is not None
        train_split = (
            ValidSplit(self.validation_fraction, stratified=self._is_stratified(), random_state=seed)
            if early else None
        )
        criterion, criterion_kwargs = self._criterion(y_net)
        n_train = len(X) if not early else int(len(X) * (1 - self.validation_fraction))
        max_epochs = self._resolve_max_epochs(n_train)
        schedule_steps = None
        if self._lr_schedule() == "cosine":
            schedule_steps = max_epochs * steps_per_epoch(n_train, self.batch_size)
        with torch.random.fork_rng(devices=[] if device == "cpu" else None):
            torch.manual_seed(seed)
            net_class, net_kwargs = self._net_class()
            net_kwargs = {**net_kwargs, **self._extra_net_kwargs()}
            self.net_ = build_net(
                net_class, self._make_module(), criterion, criterion_kwargs=criterion_kwargs,
                optimizer=self.optimizer, lr=self.lr, weight_decay=self.weight_decay,
                max_epochs=max_epochs, batch_size=self.batch_size, device=device,
                callbacks=self.callbacks, train_split=train_split,
                early_stopping_patience=self.n_iter_no_change if early else None,
                verbose=self.verbose, seed=seed, lr_schedule_steps=schedule_steps,
                tol=None if early else getattr(self, "tol", None),  # the autoencoder has no tol
                ema_decay=self._ema_decay(),
                **net_kwargs,
            )
            self.net_.fit(inputs, y_net)
        self.history_ = self.net_.history
        return self

    def _forward(self, X):
        """Model outputs for raw ``X`` as a float32 NumPy array, encoded and run chunk by chunk."""
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        n = len(X)
        outputs = []
        for start in range(0, n, CHUNK_SIZE):
            chunk = X.iloc[start:start + CHUNK_SIZE] if _is_pandas(X, "DataFrame") else X[start:start + CHUNK_SIZE]
            inputs, _ = self._encode(chunk)
            outputs.append(self._forward_inputs(inputs))
        return np.concatenate(outputs, axis=0)

    def _forward_inputs(self, inputs):
        """Run the net on an encoded chunk, in the row order of :func:`prediction_rows` (full batches,
        little padding), and return the outputs in the chunk's own order."""
        import torch

        mask = inputs.get("attention_mask")
        n = len(next(iter(inputs.values())))
        rows = prediction_rows(n, mask, self.net_.batch_size)
        batched = {k: v[rows] for k, v in inputs.items()}
        with torch.inference_mode():
            ran = np.concatenate(
                [b.numpy() for b in self.net_.forward_iter(batched, training=False, device="cpu")],
                axis=0,
            )
        out = np.empty_like(ran[:n])
        out[rows[:n]] = ran[:n]
        return out.astype(np.float32, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags
