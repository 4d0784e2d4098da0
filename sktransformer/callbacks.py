"""Public skorch callbacks: regularisers to pass through an estimator's ``callbacks=[...]``.

Tables learned from scratch (:class:`~sktransformer.TransformerClassifier`,
:class:`~sktransformer.TransformerRegressor`) train with ``InputNoise(0.3)`` and end with
``WeightAverage(0.998)`` by default (no weight average with early stopping). A callback of the same
class in ``callbacks`` replaces the default one: ``InputNoise(0)`` turns the noise off,
``WeightAverage(0)`` keeps the last weights.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from sktransformer import TransformerClassifier
>>> from sktransformer.callbacks import InputNoise, WeightAverage
>>> X, y = load_iris(return_X_y=True)
>>> clf = TransformerClassifier(d_model=16, n_heads=2, max_epochs=5, random_state=0,
...                             callbacks=[InputNoise(0.1), WeightAverage(0.99)]).fit(X, y)
>>> dict(clf.net_.callbacks_)["InputNoise"].std
0.1
"""

import torch
from skorch.callbacks import Callback

__all__ = ["InputNoise", "WeightAverage"]


class InputNoise(Callback):
    """Add Gaussian noise to the numeric table columns of every training batch.

    The estimators scale each numeric column to zero mean and unit variance, so ``std`` is in
    units of each column's standard deviation. The model sees every row slightly moved at every
    step, which makes it harder to learn the training rows one by one. Evaluation batches
    (prediction, early stopping's validation rows) are left as they are. The noise comes from
    torch's generator, which the estimator seeds from ``random_state``. Inputs without numeric
    table columns (text, sequences) are left as they are.

    Parameters
    ----------
    std : float, default=0.3
        Standard deviation of the noise; ``0`` adds none.
    key : str, default="x_num"
        The batch entry that receives the noise (the encoders' scaled numeric columns).
    """

    def __init__(self, std=0.3, key="x_num"):
        self.std = std
        self.key = key

    def initialize(self):
        if not self.std >= 0:
            raise ValueError(f"InputNoise: std must be >= 0, got {self.std!r}.")
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        X = batch[0]
        if training and self.std and isinstance(X, dict) and self.key in X:
            x = X[self.key]
            X[self.key] = x + self.std * torch.randn_like(x)  # (B, n_numeric)


class WeightAverage(Callback):
    """Train on, but end with an exponential moving average of the weights.

    After every training step the average moves towards the current weights: ``avg = d * avg +
    (1 - d) * w`` with ``d = min(decay, (1 + t) / (10 + t))`` at step ``t``, a warm-up (as in
    TensorFlow's ``ExponentialMovingAverage``) that keeps a short run from being pulled back to its
    first weights. When training ends the module's parameters take the average's values. The
    last steps at a constant learning rate are noisy moves around a good point; their average
    lies closer to it. Built on :class:`torch.optim.swa_utils.AveragedModel`; buffers are left
    as they are.

    Parameters
    ----------
    decay : float in [0, 1), default=0.998
        Weight of the average at each step once the warm-up has passed (after about
        ``9 * decay / (1 - decay)`` steps); ``0`` keeps the last weights.
    """

    def __init__(self, decay=0.998):
        self.decay = decay

    def initialize(self):
        if not 0 <= self.decay < 1:
            raise ValueError(f"WeightAverage: decay must be in [0, 1), got {self.decay!r}.")
        return self

    def on_train_begin(self, net, **kwargs):
        from torch.optim.swa_utils import AveragedModel

        self.average_ = AveragedModel(net.module_, multi_avg_fn=self._update, use_buffers=False)

    def _update(self, averaged, current, n_averaged):
        # AveragedModel copies the weights at its first update; this is every later one (step t).
        t = float(n_averaged) + 1
        decay = min(self.decay, (1 + t) / (10 + t))
        torch._foreach_lerp_(averaged, current, 1 - decay)

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.average_.update_parameters(net.module_)

    def on_train_end(self, net, **kwargs):
        with torch.no_grad():
            for avg, p in zip(self.average_.module.parameters(), net.module_.parameters()):
                p.copy_(avg)
        self.average_ = None  # the copy is not kept (nor pickled) with the net
