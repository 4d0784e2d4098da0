"""TransformerRegressor: a transformer encoder with a regression head, trained by skorch."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_array

from ._base import SupervisedTransformer, store_params
from ._dask import dask_aware
from ._docs import fill_doc


@fill_doc
class TransformerRegressor(RegressorMixin, SupervisedTransformer):
    """Transformer regressor for text, tables and sequences.

    The same model as :class:`TransformerClassifier` with a linear regression head and a
    mean-squared-error loss. Targets are standardised for training and mapped back at predict
    time; several targets at once (``y`` of shape ``(n_samples, n_targets)``) are supported.
    ``max_epochs="auto"`` gives at most 20 passes: noisy targets are learned by heart within a
    few dozen passes over a small table (for more, set an integer, best with early stopping).

    Parameters
    ----------
    {{backbone freeze_backbone backbone_lr d_model n_heads n_layers dim_feedforward dropout norm_first}}
    {{positional max_length vocab_size tokenizer pooling feature_tokens text_columns categorical_columns wide max_epochs batch_size lr weight_decay}}
    {{optimizer device early_stopping validation_fraction n_iter_no_change tol warm_start}}
    {{callbacks accelerator verbose random_state}}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    {{input_mode_ n_features_in_ feature_names_in_ text_columns_ categorical_columns_ date_features_ encoder_ backbone_info_ net_ history_ n_truncated_}}

    See Also
    --------
    TransformerClassifier : The same model with a classification head.
    sklearn.neural_network.MLPRegressor : A multi-layer perceptron regressor.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransformer import TransformerRegressor
    >>> X = np.random.RandomState(0).normal(size=(200, 3))
    >>> Y = np.column_stack([X[:, 0] - 2 * X[:, 1], X[:, 2]])  # two targets
    >>> reg = TransformerRegressor(d_model=16, n_heads=2, max_epochs=30, random_state=0).fit(X, Y)
    >>> reg.n_outputs_, reg.predict(X[:2]).shape
    (2, (2, 2))
    >>> bool(reg.score(X, Y) > 0.8)
    True
    """

    _task = "regressor"

    def __init__(self, *, backbone=None, freeze_backbone="none", backbone_lr=None, d_model=64, n_heads=4,
                 n_layers=2, dim_feedforward=128, dropout=0.1, norm_first=True, positional="learned", max_length=None,
                 vocab_size=16000, tokenizer="bpe", pooling="mean", feature_tokens="auto", text_columns="auto",
                 categorical_columns="auto", wide="auto", max_epochs="auto", batch_size=64,
                 lr=1e-3, weight_decay=0.01, optimizer="adamw", device="auto", early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol="auto", warm_start=False, callbacks=None, accelerator=None, verbose=0,
                 random_state=None):
        store_params(self, locals())

    # ------------------------------------------------------------------ targets, head, criterion
    def _prepare_targets(self, y, reset=True, classes=None):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got {y.ndim} dimensions.")
        y2 = y.reshape(len(y), -1)
        if reset:
            self._y_ndim = y.ndim
            self.n_outputs_ = y2.shape[1]
            self.y_mean_ = y2.mean(axis=0)
            scale = y2.std(axis=0)
            self.y_scale_ = np.where(scale > 0, scale, 1.0)
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y2.shape[1]} targets, but this model was set up with {self.n_outputs_}.")
        y_net = ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32)
        if not (np.isfinite(self.y_scale_).all() and np.isfinite(y_net).all()):
            raise ValueError(
                "y is too large to standardise (its variance overflows float64); divide it by a "
                "constant (or take its logarithm) before fit."
            )
        return y_net

    def _n_outputs(self):
        return self.n_outputs_

    def _make_head(self, width):
        from .nn import RegressionHead

        return RegressionHead(width, self._n_outputs(), dropout=self.dropout)

    def _criterion(self, y_net):
        import torch

        return torch.nn.MSELoss, {}

    def _net_class(self):
        from ._net import RegressorNet

        return RegressorNet, {}

    def partial_fit(self, X, y, sample_weight=None):
        """One more epoch of training on ``(X, y)``, as ``MLPRegressor.partial_fit``.

        The first call sets the model up from this ``X`` and ``y`` (the tokenizer or the scalers,
        and the targets' scale, are learned from them); later calls train the same model one
        epoch more on their rows, at the constant rate ``lr``.

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight=sample_weight)

    # ------------------------------------------------------------------ outputs
    @dask_aware
    def predict(self, X):
        """Predicted targets for ``X``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            The shape follows the ``y`` given to ``fit``.
        """
        out = self._predict(X).astype(np.float64) * self.y_scale_ + self.y_mean_
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
