"""The shared estimator base: it owns ``fit`` and the prediction loop of every estimator.

Every estimator inherits :class:`TransformerBase` and adds only what differs: its targets, head,
criterion and output post-processing (and, for the autoencoder and the embedder, its model). The
training budget of ``max_epochs="auto"`` and the default training callbacks come from one table,
:data:`TRAINING`, read by one function, :func:`training_budget`.
"""

import copy
import warnings
from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._backbone import BACKBONE_CONSTRAINTS, Backbone
from ._validation import (
    _is_pandas, check_column_dtypes, check_same_length, check_sequences, check_text, check_text_column,
    detect_input_mode, split_frame_columns,
)

#: Rows encoded and run through the model at a time by the prediction loop: memory stays flat in n.
CHUNK_SIZE = 4096

#: Token budget for text when ``max_length=None``.
DEFAULT_TEXT_MAX_LENGTH = 128

#: ``feature_tokens="auto"``: one token per column up to this many columns; a wider table's columns
#: share this many tokens, so its cost grows linearly with its width.
AUTO_FEATURE_TOKENS = 64
#: The parameters of the estimators that take tables: ``feature_tokens``, and the roles of a
#: DataFrame's columns (``"auto"``: ``_validation.split_frame_columns`` decides).
TABLE_CONSTRAINTS = {
    "feature_tokens": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"), None],
    "text_columns": [str, list, tuple, None],
    "categorical_columns": [str, list, tuple],
}

#: Learning rate of the wide part as a multiple of ``lr``: a linear model over sparse n-grams needs
#: larger steps than the transformer.
WIDE_LR_FACTOR = 20
#: Hash buckets of the wide part's subword pairs: this many per vocabulary entry, at most
#: ``WIDE_MAX_BUCKETS``, and at most ``WIDE_MAX_PAIR_WEIGHTS`` weights in all (a bucket holds one
#: weight per class or target), so that a text model with many classes stays small.
WIDE_BUCKETS_PER_TOKEN = 16
WIDE_MAX_BUCKETS = 2**18
WIDE_MAX_PAIR_WEIGHTS = 2**21

#: Gradient steps of the embedder's ``fine_tune="contrastive"`` with ``max_epochs="auto"``.
CONTRASTIVE_STEPS = 20

#: Fewest epochs ``max_epochs="auto"`` gives (``Budget.max_epochs`` may be lower).
MIN_AUTO_EPOCHS = 2
#: ``tol="auto"`` where the budget converges (``Budget.converge``): ``tol`` of scikit-learn's MLP.
AUTO_TOL = 1e-4
#: The default regularisers of tables learned from scratch (``sktransformer.callbacks``).
TABLE_INPUT_NOISE = 0.3
TABLE_WEIGHT_AVERAGE = 0.998


@dataclass(frozen=True)
class Budget:
    """How one kind of training runs by default.

    Attributes
    ----------
    steps : int
        Gradient steps that ``max_epochs="auto"`` aims for.
    max_epochs : int
        Most epochs ``max_epochs="auto"`` gives (``0``: the model is used as it is, never trained).
    converge : bool
        What ``tol="auto"`` gives: ``True``, the ``tol`` test at ``AUTO_TOL`` (training stops once the
        loss stops improving, as scikit-learn's MLP); ``False``, none (all ``max_epochs`` epochs).
    schedule : {"constant", "cosine"}
        ``"cosine"``: the learning rate falls from ``lr`` to 0 over the training steps (updated
        every batch), so the last updates are small.
    table_callbacks : bool
        Train with ``InputNoise`` and end with ``WeightAverage`` (see ``sktransformer.callbacks``).
    """

    steps: int
    max_epochs: int = 1000
    schedule: str = "constant"
    table_callbacks: bool = False
    converge: bool = False


#: Training budget by estimator (its ``_task``) and input: ``"text"``, ``"tabular"``, ``"mixed"``
#: (a DataFrame with text columns), ``"sequence"``, or ``"pretrained"`` (a pretrained backbone); ``"*"`` is any input the estimator has no row for.
#: Few passes over a large corpus, many over a small data set. Tables stop once the training loss
#: stops improving (``tol="auto"``), after at most 200 passes (``max_iter`` of scikit-learn's MLP);
#: regression targets carry noise that a transformer learns by heart within a few dozen passes over
#: a small table, hence the regressor's lower cap. Text keeps its whole budget, which its cosine
#: schedule spreads over, and so do sequences: learned from scratch, their loss can stay flat for
#: many short epochs before it falls (GunPoint's 50 series: 0.52 test accuracy when the ``tol`` test
#: stopped on that plateau, 0.94 after the whole budget).
TRAINING = {
    ("classifier", "text"): Budget(2000, schedule="cosine"),
    ("classifier", "mixed"): Budget(2000, schedule="cosine"),  # a DataFrame with text columns: as text
    ("classifier", "tabular"): Budget(3000, max_epochs=200, table_callbacks=True, converge=True),
    ("classifier", "*"): Budget(3000),
    # a pretrained backbone needs few passes: 20 at most (the regressor's cap), not a thousand over
    # a few dozen texts
    ("classifier", "pretrained"): Budget(3000, max_epochs=20),
    # few_shot: the backbone is tuned by the embedder's "contrastive" row, then the head is a
    # logistic regression on the tuned vectors; the net itself is set up, not trained
    ("classifier", "few-shot"): Budget(0, max_epochs=0),
    ("regressor", "text"): Budget(3000, max_epochs=20, schedule="cosine"),
    ("regressor", "mixed"): Budget(3000, max_epochs=20, schedule="cosine"),
    ("regressor", "tabular"): Budget(3000, max_epochs=20, table_callbacks=True, converge=True),
    ("regressor", "*"): Budget(3000, max_epochs=20),
    ("autoencoder", "*"): Budget(300),
    ("embedder", "text"): Budget(1000),  # masked-language modelling from scratch
    ("embedder", "pretrained"): Budget(0, max_epochs=0),  # used as it is
    ("fine-tune", "pretrained"): Budget(0, max_epochs=1),  # the embedder's fine_tune: one pass
    # the embedder's fine_tune="contrastive", on a few labelled texts per class: each step compares
    # every pair of a batch, so 20 steps see each pair of 16 texts 20 times (as good as 40 steps at
    # 8 texts per class on SST-2 and SMS spam, in half the time)
    ("embedder", "contrastive"): Budget(CONTRASTIVE_STEPS, max_epochs=CONTRASTIVE_STEPS),
}


def training_budget(task, kind, n_train, batch_size, max_epochs="auto"):
    """Epochs and :class:`Budget` of one fit: the one place ``max_epochs="auto"`` is resolved.

    ``"auto"`` gives the epochs closest to ``Budget.steps`` gradient steps over ``n_train`` rows,
    within ``[MIN_AUTO_EPOCHS, Budget.max_epochs]``; an integer ``max_epochs`` is kept, except
    for a model the table uses as it is (``Budget.max_epochs == 0``).
    """
    from ._net import steps_per_epoch

    budget = TRAINING.get((task, kind)) or TRAINING[(task, "*")]
    if budget.max_epochs == 0:
        return 0, budget
    if max_epochs != "auto":
        return int(max_epochs), budget
    per_epoch = steps_per_epoch(n_train, batch_size)
    return int(min(budget.max_epochs, max(MIN_AUTO_EPOCHS, round(budget.steps / per_epoch)))), budget


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


def store_params(estimator, params):
    """Store ``__init__``'s keyword arguments (``locals()``) as attributes of the same names.

    All an estimator's ``__init__`` does, as scikit-learn asks: no validation, no work.
    """
    for name, value in params.items():
        if name != "self":
            setattr(estimator, name, value)


class TransformerBase(BaseEstimator):
    """Shared machinery of the sktransformer estimators (not a public estimator).

    Subclasses set ``_task`` (their key in :data:`TRAINING`) and implement ``_prepare_targets``,
    ``_n_outputs``, ``_make_head`` and ``_criterion``; the autoencoder and the embedder also
    ``_make_module``.
    """

    #: This estimator's rows of :data:`TRAINING`.
    _task = None
    #: Input modes the estimator accepts (``"mixed"``: a DataFrame with text columns).
    _input_modes = ("text", "tabular", "mixed", "sequence")
    #: Fewest training rows ``fit`` accepts.
    _min_samples = 1

    #: Parameters every estimator declares (each adds its own).
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
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions({"adamw", "adam", "sgd"}), type],
        "device": [str],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"}), None],
        "callbacks": [list, None],
        "accelerator": [dict, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # ------------------------------------------------------------------ what each estimator adds
    def _prepare_targets(self, y, reset=True, classes=None):
        """Validate ``y`` and return what the net trains on; ``reset``: set the fitted target
        attributes (from ``classes``, the classifier's partial_fit argument, when given), else
        encode ``y`` with them."""
        raise NotImplementedError

    def _n_outputs(self):
        """Scores per row (classes, targets): the width of the head and of the wide part."""
        raise NotImplementedError

    def _make_head(self, width):
        """The head on the pooled (B, ``width``) vector."""
        raise NotImplementedError

    def _criterion(self, y_net):
        """``(criterion class, its keyword arguments)`` for the encoded targets ``y_net``."""
        raise NotImplementedError

    def _net_class(self):
        """The skorch net class and its extra keyword arguments."""
        from ._net import Net

        return Net, {}

    def _stratified_split(self):
        return False

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, *, backbone=None, wide=False, sample_weight=None, incremental=False, classes=None,
             kind=None):
        """The fit flow of every estimator (DESIGN.md steps 1-6).

        ``backbone``: a :class:`~sktransformer._backbone.Backbone` or None (learned from scratch);
        ``wide``: the ``wide`` parameter of the estimators that have one; ``sample_weight``: the
        rows' weights in the loss (``_net.WeightedLoss``). ``incremental``: the first call of
        ``partial_fit``, one epoch at the constant ``lr`` without the ``tol`` test (``classes``:
        every class later calls may bring). ``kind``: this fit's key in :data:`TRAINING` when not
        ``_training_kind``'s.
        """
        from ._net import (
            accelerated, bring_home, build_net, initialize_for_inference, resolve_device, seeded, steps_per_epoch,
        )

        # 1. parameters, X and y
        self._check_hyperparameters()
        device = resolve_device(self.device)
        X, y_net, sample_weight = self._check_fit_data(X, y, sample_weight, reset=True, classes=classes)
        if backbone is not None:
            backbone.check_input_mode(self.input_mode_)
        use_wide = backbone is None and self._uses_wide(wide)

        # 2. the encoder: a tokenizer trained here or the backbone's own, a feature scaler, a step padder
        self.__dict__.pop("backbone_info_", None)
        if backbone is not None:
            if backbone.info is not None:
                self.backbone_info_ = backbone.info
            mixed = self.input_mode_ == "mixed"
            self.encoder_ = backbone.make_encoder(self.max_length, n_texts=len(self.text_columns_) if mixed else 1)
            if self.input_mode_ == "mixed":  # the backbone reads the text columns, the rest is a table
                self.encoder_ = self._mixed_encoder(self.encoder_).fit(X)
        else:
            self.encoder_ = self._make_encoder().fit(X)
        if self.input_mode_ == "sequence" and self.max_length is None:
            self.encoder_.max_length = self.encoder_.max_steps_  # positions sized to what fit saw
        self.__dict__.pop("date_features_", None)
        if self.input_mode_ in ("tabular", "mixed"):
            self.date_features_ = dict(getattr(self._table_encoder(), "date_features_", None) or {})

        # 3. the training budget
        early = self.early_stopping
        n_train = self._check_validation_split(len(X), y_net) if early else len(X)
        kind = kind or self._training_kind(backbone is not None)
        max_epochs, budget = training_budget(self._task, kind, n_train, self.batch_size, self.max_epochs)
        if incremental:  # one epoch per call, a constant rate, no convergence test (MLP's partial_fit)
            max_epochs, budget = 1, replace(budget, schedule="constant", converge=False)
        self.n_truncated_ = 0
        if max_epochs:
            inputs = self._training_inputs(X, sample_weight)

        # 4. the module and the skorch net, seeded from random_state
        seed = self._seed()
        net_class, net_kwargs = self._net_class()
        criterion, criterion_kwargs = self._criterion(y_net)
        net_kwargs.update({f"criterion__{k}": v for k, v in criterion_kwargs.items()})
        if sample_weight is not None:
            net_kwargs["criterion__reduction"] = "none"  # WeightedLoss averages the rows' losses
        if max_epochs or backbone is None:
            net_kwargs.update(self._param_groups(backbone, use_wide))
        accelerate = bool(max_epochs) and self.accelerator is not None
        if accelerate:  # the accelerator chooses the device; the net is turned back into a plain one after
            net_class, accelerator_kwargs = accelerated(net_class, self.accelerator)
            net_kwargs.update(accelerator_kwargs)
            device = str(accelerator_kwargs["accelerator"].device)
        n_steps = max_epochs * steps_per_epoch(n_train, self.batch_size)
        with seeded(seed, device):
            self.net_ = build_net(
                net_class, self._make_module(backbone, use_wide), criterion,
                optimizer=self.optimizer, lr=self.lr, weight_decay=self.weight_decay,
                max_epochs=max_epochs, batch_size=self.batch_size, device=device,
                callbacks=self._training_callbacks(budget, n_steps, early, None if incremental else self._resolve_tol(budget)),
                train_split=self._train_split(seed),
                verbose=self.verbose, seed=seed, **net_kwargs,
            )
            # 5. train (a model the budget uses as it is is only set up)
            if max_epochs:
                self.net_.fit(inputs, y_net)
            else:
                initialize_for_inference(self.net_)
        if accelerate:
            bring_home(self.net_)
        self.history_ = self.net_.history
        return self

    def _params_for(self, Estimator):
        """This estimator's parameters that ``Estimator`` also takes: the settings an inner fit
        (the embedder's ``fine_tune=True``, the classifier's ``few_shot``) shares with this one."""
        theirs = Estimator().get_params(deep=False)
        return {k: v for k, v in self.get_params(deep=False).items() if k in theirs}

    def _training_kind(self, pretrained):
        """This fit's key in :data:`TRAINING`: ``"pretrained"`` with a backbone, else the input mode."""
        return "pretrained" if pretrained else self.input_mode_

    def _train_split(self, seed):
        """skorch's ``train_split``: early stopping's held-out rows (stratified for a classifier), or None."""
        if not self.early_stopping:
            return None
        from skorch.dataset import ValidSplit

        return ValidSplit(self.validation_fraction, stratified=self._stratified_split(), random_state=seed)

    def _param_groups(self, backbone, wide):
        """The optimizer's parameter groups (skorch ``optimizer__param_groups``), as a dict of
        net keyword arguments: the backbone's own learning rate, or the wide part's."""
        if backbone is not None:
            return {"optimizer__param_groups": backbone.param_groups(
                self.lr, "embedding.text.backbone" if self.input_mode_ == "mixed" else "backbone")}
        if wide:
            # skorch puts pattern groups first and the rest last; the transformer's group stays first
            # (its learning rate is the one callbacks and history_'s event_lr report): every parameter
            # not under "wide." (no other child of TransformerModel starts with a "w").
            return {"optimizer__param_groups": [
                ("[!w]*", {}), ("wide.*", {"lr": self.lr * WIDE_LR_FACTOR, "weight_decay": 0.0}),
            ]}
        return {}

    def _fit_more(self, X, y, *, epochs, sample_weight=None):
        """More training of the fitted model on ``(X, y)``: ``warm_start`` and ``partial_fit``.

        The encoder (tokenizer, scalers), the targets' encoding, the module, the optimizer's state
        and the callbacks are those of the first fit; ``epochs`` more epochs run through skorch's
        ``partial_fit``. ``"auto"`` is resolved for the new rows.
        """
        from ._net import seeded

        self._check_hyperparameters()
        X, y_net, sample_weight = self._check_fit_data(X, y, sample_weight, reset=False)
        if epochs == "auto":
            kind = self._training_kind(hasattr(self, "backbone_info_"))
            epochs = training_budget(self._task, kind, len(X), self.batch_size)[0]
        inputs = self._training_inputs(X, sample_weight)
        if not hasattr(self.net_, "optimizer_"):  # a model read by sktransformer.load: a new optimizer
            self.net_._initialize_optimizer()
        # seeded from random_state and the epochs run so far: the same calls give the same model,
        # whatever drew from torch's generator before
        with seeded(self._seed() + len(self.net_.history), self.net_.device):
            self.net_.partial_fit(inputs, y_net, epochs=int(epochs))
        self.history_ = self.net_.history
        return self

    def _seed(self):
        """The torch seed ``random_state`` gives (the same on every call for an int)."""
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _check_fit_data(self, X, y, sample_weight, reset, classes=None):
        """Validated ``X``, ``y`` encoded for the net and the rows' weights (``reset``: a new
        model, whose input mode and target attributes are set here)."""
        X = self._check_X(X, reset=reset)
        if y is not None:
            check_same_length(len(X), y)
        sample_weight = self._check_sample_weight(sample_weight, X)
        return X, self._prepare_targets(y, reset=reset, classes=classes), sample_weight

    def _training_inputs(self, X, sample_weight):
        """The encoded training rows, with their weights under ``_net.SAMPLE_WEIGHT``."""
        from ._net import SAMPLE_WEIGHT

        inputs, self.n_truncated_ = self._encode(X)
        return inputs if sample_weight is None else {**inputs, SAMPLE_WEIGHT: sample_weight}

    def _check_sample_weight(self, sample_weight, X):
        """``sample_weight`` as float32 (n,), or None; finite, >= 0 and not all 0."""
        if sample_weight is None:
            return None
        from sklearn.utils.validation import check_array

        n = len(X)
        if isinstance(sample_weight, Real):
            sample_weight = np.full(n, float(sample_weight))
        try:
            weight = check_array(sample_weight, ensure_2d=False, dtype=np.float64, ensure_all_finite=False,
                                 input_name="sample_weight")
        except (ValueError, TypeError) as err:
            raise type(err)(f"sample_weight must hold numbers: {err}") from None
        if weight.shape != (n,):
            raise ValueError(f"sample_weight has shape {weight.shape}; it needs one weight per row of X, ({n},).")
        for bad, what in ((~np.isfinite(weight), "NaN or infinite"), (weight < 0, "negative")):
            if bad.any():
                raise ValueError(f"sample_weight is {what} at rows {np.flatnonzero(bad)[:5].tolist()}; weights "
                                 "must be finite and >= 0.")
        if not weight.any():
            raise ValueError("sample_weight is zero for every row: nothing would be learned; give some rows a weight above 0.")
        weight = weight / weight.max()  # the loss is a weighted mean: only the ratios matter
        return weight.astype(np.float32)

    def _check_validation_split(self, n, y_net):
        """Size early stopping's held-out split before any model work; return the training rows.

        As scikit-learn's shuffle splits: ``ceil(n * validation_fraction)`` rows are held out. A
        stratified split (the classifier's) needs every class in both parts.
        """
        n_valid = int(np.ceil(n * self.validation_fraction))
        n_fit = n - n_valid
        need = 1
        if self._stratified_split():
            counts = np.bincount(y_net)
            need = len(counts)
            if counts.min() < 2:
                raise ValueError(
                    f"early_stopping=True holds out rows of every class, but class "
                    f"{self.classes_[counts.argmin()].tolist()!r} has {counts.min()} row; set "
                    "early_stopping=False or give each class at least 2 rows."
                )
        if n_valid < need or n_fit < need:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {n} rows holds out {n_valid} for early "
                f"stopping and trains on {n_fit}; each part needs at least {need} (every class, for a "
                "classifier). Choose another validation_fraction, or set early_stopping=False."
            )
        return n_fit

    def _check_hyperparameters(self):
        import torch
        from skorch.callbacks import Callback

        self._validate_params()
        if self.accelerator is not None:
            if self.device != "auto":
                raise ValueError(f"device={self.device!r} and accelerator={self.accelerator!r} both choose the "
                                 "device; leave device='auto' (the accelerator places the model), or set accelerator=None.")
            try:
                import accelerate  # noqa: F401
            except ImportError:
                raise ImportError("accelerator= needs the accelerate package: pip install "
                                  "'sktransformer[accelerate]'.") from None
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}.")
        if isinstance(self.optimizer, type) and not issubclass(self.optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer={self.optimizer!r} is not a torch optimizer; pass 'adamw', 'adam', 'sgd' or a "
                "torch.optim.Optimizer subclass such as torch.optim.AdamW."
            )
        if isinstance(self.optimizer, type) and self.weight_decay:
            import inspect

            if "weight_decay" not in inspect.signature(self.optimizer).parameters:
                raise ValueError(
                    f"optimizer={self.optimizer.__name__} takes no weight decay, but weight_decay="
                    f"{self.weight_decay}; set weight_decay=0 with this optimizer."
                )
        for i, cb in enumerate(self.callbacks or []):
            named = isinstance(cb, tuple) and len(cb) == 2 and isinstance(cb[0], str)
            if not isinstance(cb[1] if named else cb, Callback):
                raise TypeError(
                    f"callbacks[{i}] is {cb!r}; each item must be a skorch callback (an instance, such as "
                    "skorch.callbacks.EarlyStopping()) or a (name, callback) pair."
                )

    def _divergence_hint(self):
        """What to change when the training loss turns NaN or infinite."""
        return f"Lower lr (now {self.lr}) or check the scale of the inputs."

    def _uses_wide(self, wide):
        """``wide`` resolved for ``input_mode_``: ``"auto"`` adds the wide part to text only."""
        if wide is True and self.input_mode_ == "sequence":
            raise ValueError(
                "wide=True needs text or a table; sequences have no wide part (use wide='auto' or False)."
            )
        return self.input_mode_ in ("text", "mixed") if wide == "auto" else bool(wide)

    def _resolve_tol(self, budget):
        """``tol``, with ``"auto"`` resolved by the budget (:data:`AUTO_TOL` or None)."""
        if self.tol != "auto":
            return self.tol
        return AUTO_TOL if budget.converge else None

    def _training_callbacks(self, budget, n_steps, early, tol):
        """The net's ``(name, callback)`` list: the user's ``callbacks`` (copied), the budget's
        defaults (one of the same class among the user's replaces it), early stopping or the
        ``tol`` convergence test (both skorch's ``EarlyStopping``, with ``n_iter_no_change`` as the
        patience, as scikit-learn's MLP), and a progress bar when ``verbose``."""
        import torch
        from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar

        from ._net import FiniteLoss, silent
        from .callbacks import InputNoise, WeightAverage

        defaults = []
        if budget.schedule == "cosine" and n_steps:
            defaults.append(LRScheduler(policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                                        T_max=int(n_steps), step_every="batch"))
        if budget.table_callbacks:
            defaults.append(InputNoise(TABLE_INPUT_NOISE))
            if not early:  # early stopping chooses the final weights (the best epoch's)
                defaults.append(WeightAverage(TABLE_WEIGHT_AVERAGE))
        user = [copy.deepcopy(cb) for cb in (self.callbacks or [])]  # the user's objects stay untouched
        user_classes = {type(cb[1] if isinstance(cb, tuple) else cb) for cb in user}
        if early and WeightAverage in user_classes:
            raise ValueError(
                "callbacks has a WeightAverage and early_stopping=True: both choose the final weights (an "
                "average, or the best epoch's); use one."
            )
        callbacks = user + [(type(cb).__name__, cb) for cb in defaults if type(cb) not in user_classes]
        sink = print if self.verbose else silent
        callbacks.append(("finite_loss", FiniteLoss(self._divergence_hint())))
        if early or tol is not None:
            callbacks.append(("early_stopping" if early else "converged", EarlyStopping(
                monitor="valid_loss" if early else "train_loss", patience=self.n_iter_no_change,
                threshold=tol or 0.0, threshold_mode="abs", load_best=early, sink=sink)))
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    # ------------------------------------------------------------------ input handling
    def _check_X(self, X, reset):
        """Validate raw ``X``; detect (fit) or check (predict) its input mode; return clean X."""
        from ._dask import is_dask_collection

        if is_dask_collection(X):  # the prediction methods map over its partitions before this
            raise TypeError(
                f"X is a Dask collection ({type(X).__name__}); fit takes data in memory: call .compute() on it (or "
                "on a sample of it), or fit on each worker through joblib.parallel_backend('dask') (see the "
                "user guide's 'Scaling out')."
            )
        mode = detect_input_mode(X)
        if mode not in self._input_modes:
            raise TypeError(
                f"{type(self).__name__} takes {' or '.join(self._input_modes)} input, but X looks like "
                f"{mode} input ({type(X).__name__})."
            )
        if mode == "tabular" and not reset and self.input_mode_ == "mixed":
            mode = "mixed"  # a DataFrame, checked again below
        if reset:
            for attr in ("n_features_in_", "feature_names_in_", "text_columns_", "categorical_columns_"):
                self.__dict__.pop(attr, None)
            self.input_mode_ = mode
        elif mode != self.input_mode_:
            raise ValueError(
                f"X looks like {mode} input, but this {type(self).__name__} was fitted on "
                f"{self.input_mode_} input; pass the same kind of data as in fit."
            )
        if mode == "text":
            X = check_text(X)
        elif mode == "sequence":
            X = check_sequences(X, n_features=None if reset else self.n_features_in_)
            if reset:
                self.n_features_in_ = X.shape[2] if isinstance(X, np.ndarray) else X[0].shape[1]
        elif _is_pandas(X, "DataFrame"):
            validate_data(self, X, reset=reset, skip_check_array=True)
            X = self._check_frame(X, reset)
        else:
            if reset and (self.text_columns not in ("auto", None) or self.categorical_columns != "auto"):
                raise ValueError(
                    "text_columns and categorical_columns name columns of a DataFrame, but X is a "
                    f"{type(X).__name__}; pass a DataFrame, or leave both at 'auto'."
                )
            X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan")
            if reset:
                self.text_columns_, self.categorical_columns_ = [], []  # every column of an array is numeric
        if reset and len(X) < self._min_samples:
            raise ValueError(
                f"{type(self).__name__} needs at least {self._min_samples} samples to fit; got "
                f"{len(X)} sample{'s' if len(X) != 1 else ''}."
            )
        return X

    def _check_frame(self, X, reset):
        if X.shape[0] == 0:
            raise ValueError("X is empty: found 0 samples, a minimum of 1 is required.")
        if X.shape[1] == 0:
            raise ValueError("X has 0 features, a minimum of 1 is required.")
        check_column_dtypes(X)
        if reset:
            self.text_columns_, self.categorical_columns_ = split_frame_columns(
                X, self.text_columns, self.categorical_columns)
            if self.text_columns_:
                if "mixed" not in self._input_modes:
                    raise ValueError(
                        f"Columns {self.text_columns_} hold free text, which {type(self).__name__} does not "
                        "take beside table columns; set text_columns=None to take them as categories."
                    )
                self.input_mode_ = "mixed"
        else:
            for column in self.text_columns_:
                if column in X.columns:
                    check_text_column(X[column], column)
        numeric = X.drop(columns=self.text_columns_ + self.categorical_columns_).select_dtypes(include=["number", "bool"])
        if numeric.shape[1]:  # missing values (NaN, pd.NA) get a token of their own; infinity has no meaning
            values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(values).any():
                bad = numeric.columns[np.isinf(values).any(axis=0)].tolist()
                raise ValueError(
                    f"Input X contains infinity in numeric columns {bad}; replace it with a large finite value, or "
                    "with NaN to mark it missing."
                )
        return X

    def _make_encoder(self):
        from .encoding import SequenceEncoder, TabularEncoder, TextEncoder

        if self.input_mode_ in ("text", "mixed"):
            max_length = DEFAULT_TEXT_MAX_LENGTH if self.max_length is None else self.max_length
            text = TextEncoder(max_length=max_length, vocab_size=self.vocab_size, algorithm=self.tokenizer)
            return text if self.input_mode_ == "text" else self._mixed_encoder(text)
        if self.input_mode_ == "sequence":
            return SequenceEncoder(max_length=self.max_length)
        return TabularEncoder(categorical=self.__dict__.get("categorical_columns_"))

    def _mixed_encoder(self, text_encoder):
        """The encoder of a DataFrame with text columns, around ``text_encoder`` (not fitted)."""
        from .encoding import MixedEncoder

        return MixedEncoder(self.text_columns_, text_encoder, categorical=self.categorical_columns_)

    def _encode(self, X):
        """Encoder output for validated ``X``; warns when rows were cut at ``max_length``."""
        inputs = self.encoder_.transform(X)
        n_cut = getattr(self.encoder_, "n_truncated_", 0)  # tables have no length to cut
        if n_cut:
            unit = "steps" if self.input_mode_ == "sequence" else "tokens"
            unit += " (in one of their text columns)" if self.input_mode_ == "mixed" else ""
            warnings.warn(
                f"{n_cut} of {len(X)} inputs were longer than max_length="
                f"{self.encoder_.max_length} {unit} and were truncated; raise max_length to keep them whole.",
                UserWarning,
                stacklevel=4,
            )
        return inputs, n_cut

    # ------------------------------------------------------------------ model
    def _make_module(self, backbone, wide):
        """The torch model: a pretrained backbone or a transformer learned from scratch, pooling and
        ``_make_head``'s head (plus the wide part when ``wide``)."""
        from .nn import TransformerModel
        from .nn.backbones import BackboneModel

        if backbone is not None and self.input_mode_ != "mixed":
            module = backbone.make_module()
            return BackboneModel(module, pooling=self.pooling, head=self._make_head(module.hidden_size),
                                 normalize=self._normalize_pooled)
        # a mixed DataFrame with a backbone: the backbone's token vectors of the text columns join
        # the feature tokens in an encoder learned here (a fusion encoder)
        return TransformerModel(
            embedding=self._make_embedding(backbone=backbone),
            d_model=self.d_model, n_heads=self.n_heads, n_layers=self.n_layers,
            dim_feedforward=self.dim_feedforward, dropout=self.dropout,
            norm_first=self.norm_first, pooling=self.pooling, head=self._make_head(self.d_model),
            first_norm=self.input_mode_ != "tabular",  # FT-Transformer's choice (see nn.Encoder)
            wide=self._make_wide() if wide else None,
        )

    #: Whether a backbone's pooled vector is L2-normalised before the head (the classifier's few-shot path).
    _normalize_pooled = False

    def _make_embedding(self, add_cls=None, backbone=None):
        """The input module for ``input_mode_`` (a CLS token when ``pooling="cls"``); for a mixed
        DataFrame with a ``backbone``, its token vectors are the text tokens."""
        from .nn import FeatureTokenizer, MixedEmbedding, StepProjection, TokenEmbedding
        from .nn.backbones import BackboneTokens

        enc = self.encoder_
        add_cls = self.pooling == "cls" if add_cls is None else add_cls

        def tokens(max_length, cls):
            return TokenEmbedding(vocab_size=enc.vocab_size_, d_model=self.d_model, max_length=max_length,
                                  positional=self.positional, pad_id=enc.pad_id_, add_cls=cls, dropout=self.dropout)

        def features(cls):
            return FeatureTokenizer(n_numeric=enc.n_numeric_, cat_cardinalities=enc.cat_cardinalities_,
                                    d_model=self.d_model, add_cls=cls, n_tokens=self._n_feature_tokens(),
                                    missing=self._numeric_missing())

        if self.input_mode_ == "mixed":
            text = BackboneTokens(backbone.make_module(), self.d_model) if backbone else tokens(enc.max_tokens_, False)
            return MixedEmbedding(text, len(enc.text_columns_), self.d_model,
                                  features=features(False) if enc.n_features_ else None, add_cls=add_cls)
        if self.input_mode_ == "text":
            return tokens(enc.max_length, add_cls)
        if self.input_mode_ == "sequence":
            return StepProjection(
                n_features=enc.n_features_, d_model=self.d_model, max_length=enc.max_length,
                positional=self.positional, add_cls=add_cls, dropout=self.dropout,
            )
        return features(add_cls)

    def _table_encoder(self):
        """The TabularEncoder of a table, or of a mixed DataFrame's other columns (None without them)."""
        return getattr(self.encoder_, "table_", self.encoder_)

    def _numeric_missing(self):
        """Which numeric columns had holes in the training table (a list of bool): the model learns
        a missing token for them (a model fitted without any keeps its earlier layout)."""
        table = self._table_encoder()
        return [bool(v) for v in getattr(table, "numeric_missing_", ())] or False

    def _n_feature_tokens(self):
        """Tokens of a table row (``feature_tokens`` resolved for the fitted columns)."""
        n, tokens = self.encoder_.n_features_, self.feature_tokens
        if tokens == "auto":
            tokens = AUTO_FEATURE_TOKENS
        return n if tokens is None else min(n, int(tokens))

    def _column_tokens(self):
        """The token of each table column, columns in token order (``nn.column_tokens``)."""
        from .nn import column_tokens

        return column_tokens(self.encoder_.n_features_, self._n_feature_tokens())

    def _token_columns(self):
        """The columns of each token of a table row, as lists of names (token order)."""
        names = np.asarray(self.encoder_.feature_names_, dtype=object)
        token = self._column_tokens().numpy()
        return [names[token == t].tolist() for t in range(int(token[-1]) + 1)]

    def _make_wide(self):
        """The wide part of the model: ``nn.NgramLinear`` for text, ``nn.ColumnLinear`` for tables."""
        from .nn import ColumnLinear, NgramLinear

        from .nn import MixedLinear

        enc, n_outputs = self.encoder_, self._n_outputs()
        ngrams = columns = None
        if self.input_mode_ in ("text", "mixed"):
            n_buckets = min(WIDE_MAX_BUCKETS, WIDE_BUCKETS_PER_TOKEN * enc.vocab_size_,
                            max(1, WIDE_MAX_PAIR_WEIGHTS // n_outputs))
            ngrams = NgramLinear(enc.vocab_size_, n_outputs, n_buckets=n_buckets, pad_id=enc.pad_id_)
        if self.input_mode_ != "text" and enc.n_features_:
            columns = ColumnLinear(enc.n_numeric_, enc.cat_cardinalities_, n_outputs, missing=self._numeric_missing())
        return MixedLinear(ngrams, columns) if self.input_mode_ == "mixed" else ngrams or columns

    # ------------------------------------------------------------------ saving
    def save(self, path, *, backbone="auto"):
        """Save the fitted model in sktransformer's safe format; :func:`sktransformer.load` reads it.

        One zip file: a JSON manifest (the class, ``get_params()``, the fitted attributes, the
        versions and the sha256 of every other member), the weights in safetensors, the
        tokenizers in their own JSON format and numeric arrays in safetensors. Loading it runs no
        pickle, so a file from someone else cannot run code; a damaged or edited member is
        refused. See :ref:`persistence`.

        Parameters
        ----------
        path : str or path
            The file to write (``.skt`` by convention); an existing file is replaced.
        backbone : {"auto", "embed", "reference"}, default="auto"
            How a pretrained backbone's weights are kept. ``"embed"``: in the file, which then
            loads anywhere. ``"reference"``: by the sha256 of its model folder's files, for a
            backbone that training left as it was (frozen, or an embedder used as it is); the
            folder must be there, unchanged, at load time (the default model is found through its
            installed package wherever that is). ``"auto"``: ``"reference"`` for the default model
            left as it was, ``"embed"`` otherwise.

        Returns
        -------
        path : str
            The file written.
        """
        from ._persistence import save

        return save(self, path, backbone=backbone)

    def _module_to_load(self, backbone, wide):
        """The untrained module a saved model's weights go into (:func:`sktransformer.load`)."""
        return self._make_module(backbone, wide)

    # ------------------------------------------------------------------ the prediction loop
    def _predict_chunks(self, X, method=None, run=None):
        """The one prediction loop: yield ``(outputs, inputs)`` for each chunk of ``X``.

        ``X`` is validated, then encoded ``CHUNK_SIZE`` rows at a time (memory flat in n); the
        rows of a chunk run batch by batch in the order of :func:`prediction_rows`. ``method``
        names the module's method to call (a tuple of names gives one output per name, from the
        same batches); ``None`` is ``forward``, with each batch cut to its longest row. ``run``
        replaces the module: a function of a batch of NumPy arrays (the embedder's ONNX session).
        ``outputs`` is a NumPy array, or a tuple of them, in the chunk's row order; ``inputs`` the
        chunk's encoded arrays.
        """
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        for start in range(0, len(X), CHUNK_SIZE):
            chunk = X.iloc[start:start + CHUNK_SIZE] if _is_pandas(X, "DataFrame") else X[start:start + CHUNK_SIZE]
            inputs, _ = self._encode(chunk)
            yield self._run_rows(inputs, method, run), inputs

    def _predict(self, X):
        """``forward``'s output for all of ``X`` (n, n_outputs), float32."""
        return np.concatenate([out for out, _ in self._predict_chunks(X)], axis=0)

    def _run_rows(self, inputs, method=None, run=None):
        """Run one encoded chunk batch by batch (see :meth:`_predict_chunks`)."""
        from ._net import trim_padding

        names = method if isinstance(method, tuple) else (method,)
        run = run or self._module_runner(names)
        mask = inputs.get("attention_mask")
        n = len(next(iter(inputs.values())))
        batch_size = int(self.net_.batch_size)
        rows = prediction_rows(n, mask, batch_size)
        parts = []
        for start in range(0, len(rows), batch_size):
            batch = {k: v[rows[start:start + batch_size]] for k, v in inputs.items()}
            if method is None:
                batch = trim_padding(batch)
            out = run(batch)
            parts.append(out if isinstance(out, tuple) else (out,))
        outputs = []
        for part in zip(*parts):
            ran = np.concatenate(part, axis=0)[:n]
            out = np.empty_like(ran)
            out[rows[:n]] = ran
            outputs.append(out)
        return tuple(outputs) if isinstance(method, tuple) else outputs[0]

    def _module_runner(self, names):
        """A function of a NumPy batch: the fitted module's ``names`` methods, on its device."""
        import torch
        from skorch.utils import to_tensor

        module = self.net_.module_.eval()
        methods = [module if name is None else getattr(module, name) for name in names]

        def run(batch):
            with torch.inference_mode():
                inputs = to_tensor(batch, device=self.net_.device)
                outs = tuple(fn(**inputs).float().cpu().numpy() for fn in methods)
            return outs if len(outs) > 1 else outs[0]

        return run

    def __dask_tokenize__(self):
        from ._dask import token

        return token(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        modes = self._input_modes
        tags.input_tags.string = "text" in modes  # a list of str
        tags.input_tags.two_d_array = tags.input_tags.categorical = "tabular" in modes  # DataFrame categories
        tags.input_tags.string = tags.input_tags.string or "mixed" in modes  # DataFrame text columns
        tags.input_tags.three_d_array = "sequence" in modes  # (n, steps, features)
        tags.input_tags.allow_nan = "tabular" in modes  # a missing number is a token of its own
        tags.non_deterministic = False
        return tags



class SupervisedTransformer(TransformerBase):
    """The classifier's and the regressor's common ground: ``fit(X, y)`` with a pretrained
    ``backbone`` and the ``wide`` part (not a public estimator)."""

    _parameter_constraints = {
        **TransformerBase._parameter_constraints,
        **BACKBONE_CONSTRAINTS,
        **TABLE_CONSTRAINTS,
        "wide": [StrOptions({"auto"}), "boolean"],
        "warm_start": ["boolean"],
    }

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` (text, table or sequences) and ``y``.

        Parameters
        ----------
        X : list of str, array-like of shape (n_samples, n_features), DataFrame, \
array of shape (n_samples, n_steps, n_features) or list of 2-D arrays
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Class labels (classifier) or targets (regressor; several columns for several targets).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the loss: each batch's loss is the weighted mean of its rows'
            losses, so only the ratios of the weights matter; a row of weight 0 is not learned
            from. ``None``: every row weighs the same.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self.warm_start and hasattr(self, "net_"):
            return self._fit_more(X, self._require_y(y), epochs=self.max_epochs, sample_weight=sample_weight)
        return self._fit_new(X, y, sample_weight)

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``; the first call sets the model up as ``fit`` does."""
        if self.early_stopping:
            raise ValueError(
                "partial_fit does not hold out a validation split: set early_stopping=False, or call fit."
            )
        if hasattr(self, "net_"):
            return self._fit_more(X, self._require_y(y), epochs=1, sample_weight=sample_weight)
        return self._fit_new(X, y, sample_weight, incremental=True, classes=classes)

    def _fit_new(self, X, y, sample_weight, **kwargs):
        """A model set up from scratch by ``_fit``, with this estimator's backbone and wide part."""
        backbone = Backbone.from_params(self.backbone, self.freeze_backbone, self.backbone_lr)
        return self._fit(X, self._require_y(y), backbone=backbone, wide=self.wide, sample_weight=sample_weight,
                         **kwargs)

    def _require_y(self, y):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        return y
