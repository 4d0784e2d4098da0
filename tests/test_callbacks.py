"""The public callbacks (sktransformer.callbacks) and the defaults the training table gives tables."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sktransformer import TransformerClassifier, TransformerRegressor
from sktransformer.callbacks import InputNoise, WeightAverage

SMALL = dict(d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, random_state=0)


def _table(n=40):
    X = np.random.RandomState(0).normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_weight_average_follows_the_warmed_up_moving_average():
    module = torch.nn.Linear(3, 2)
    net = SimpleNamespace(module_=module)
    cb = WeightAverage(0.9).initialize()
    cb.on_train_begin(net)
    expected = None
    for step in range(1, 31):
        with torch.no_grad():
            for p in module.parameters():
                p.add_(1.0)
        cb.on_batch_end(net, training=False)  # validation batches leave the average alone
        cb.on_batch_end(net, training=True)
        if expected is None:  # the first update copies the weights
            expected = [p.detach().clone() for p in module.parameters()]
        else:
            d = min(0.9, (1 + step) / (10 + step))
            expected = [d * e + (1 - d) * p.detach() for e, p in zip(expected, module.parameters())]
    last = [p.detach().clone() for p in module.parameters()]
    cb.on_train_end(net)
    for p, e, raw in zip(module.parameters(), expected, last):
        torch.testing.assert_close(p.detach(), e)
        assert (p < raw).all()  # the average lags behind weights that kept rising
    assert cb.average_ is None  # no second copy of the weights in a pickled net


def test_weight_average_zero_keeps_the_last_weights():
    module = torch.nn.Linear(2, 1)
    net = SimpleNamespace(module_=module)
    cb = WeightAverage(0.0).initialize()
    cb.on_train_begin(net)
    for _ in range(3):
        with torch.no_grad():
            module.weight.mul_(2.0)
        cb.on_batch_end(net, training=True)
    last = module.weight.detach().clone()
    cb.on_train_end(net)
    torch.testing.assert_close(module.weight.detach(), last)


def test_input_noise_moves_training_batches_only():
    torch.manual_seed(0)
    x = torch.zeros(64, 4)
    cb = InputNoise(0.5).initialize()
    train = ({"x_num": x.clone(), "x_cat": torch.zeros(64, 0)}, None)
    cb.on_batch_begin(None, batch=train, training=True)
    assert train[0]["x_num"].std().item() == pytest.approx(0.5, rel=0.15)
    valid = ({"x_num": x.clone()}, None)
    cb.on_batch_begin(None, batch=valid, training=False)
    assert torch.equal(valid[0]["x_num"], x)
    text = ({"input_ids": torch.ones(2, 3, dtype=torch.long)}, None)
    cb.on_batch_begin(None, batch=text, training=True)  # no numeric columns: left as it is
    assert torch.equal(text[0]["input_ids"], torch.ones(2, 3, dtype=torch.long))


@pytest.mark.parametrize("cb, match", [(InputNoise(-1), "std"), (WeightAverage(1.0), "decay")])
def test_bad_callback_settings_raise(cb, match):
    X, y = _table()
    with pytest.raises(ValueError, match=match):
        TransformerClassifier(max_epochs=1, callbacks=[cb], **SMALL).fit(X, y)


class _Snap(Callback):
    """Records the module's weights when training ends, before the weight average replaces them."""

    def on_train_end(self, net, **kwargs):
        self.raw_ = [p.detach().clone() for p in net.module_.parameters()]


@pytest.mark.parametrize("Estimator", [TransformerClassifier, TransformerRegressor])
def test_tables_train_with_noise_and_end_with_the_weight_average(Estimator):
    X, y = _table()
    est = Estimator(max_epochs=5, callbacks=[("snap", _Snap())], **SMALL).fit(X, y)
    callbacks = dict(est.net_.callbacks_)
    assert callbacks["InputNoise"].std == 0.3 and callbacks["WeightAverage"].decay == 0.998
    same = [torch.equal(p.detach(), raw) for p, raw in zip(est.net_.module_.parameters(), callbacks["snap"].raw_)]
    assert not all(same)  # the averaged weights replaced the last ones


def test_a_user_callback_of_the_same_class_replaces_the_default():
    X, y = _table()
    clf = TransformerClassifier(max_epochs=5, callbacks=[WeightAverage(0), InputNoise(0)], **SMALL).fit(X, y)
    callbacks = [cb for _, cb in clf.net_.callbacks_ if isinstance(cb, (InputNoise, WeightAverage))]
    assert sorted((type(cb).__name__, getattr(cb, "std", getattr(cb, "decay", None))) for cb in callbacks) == [
        ("InputNoise", 0), ("WeightAverage", 0)]
    # without noise and with the last weights kept, the model is the one trained with neither
    plain = TransformerClassifier(max_epochs=5, **SMALL)
    plain_params = dict(callbacks=[WeightAverage(0), InputNoise(0)])
    np.testing.assert_allclose(clf.predict_proba(X), plain.set_params(**plain_params).fit(X, y).predict_proba(X))


def test_no_default_regularisers_beside_early_stopping_or_outside_tables():
    X, y = _table()
    early = TransformerClassifier(max_epochs=2, early_stopping=True, **SMALL).fit(X, y)
    names = dict(early.net_.callbacks_)
    assert "WeightAverage" not in names and "InputNoise" in names
    texts = [f"word{i % 7} word{i % 3}" for i in range(40)]
    text = dict(TransformerClassifier(max_epochs=2, vocab_size=50, **SMALL).fit(texts, y).net_.callbacks_)
    assert "WeightAverage" not in text and "InputNoise" not in text
    with pytest.raises(ValueError, match="WeightAverage and early_stopping=True"):
        TransformerClassifier(max_epochs=2, early_stopping=True, callbacks=[WeightAverage(0.9)], **SMALL).fit(X, y)
