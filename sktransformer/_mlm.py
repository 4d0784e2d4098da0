"""The skorch net that trains :class:`TransformerEmbedder` from scratch (imported only when it trains)."""

from skorch import NeuralNet


class MLMNet(NeuralNet):
    """A NeuralNet whose ``max_epochs=None`` means about 1,000 gradient steps (2 to 100 epochs)."""

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        if epochs is None and self.max_epochs is None:
            n = len(next(iter(X.values()))) if isinstance(X, dict) else len(X)
            steps = max(1, -(-n // int(self.batch_size)))
            epochs = int(min(100, max(2, round(1000 / steps))))
        return super().fit_loop(X, y, epochs=epochs, **fit_params)
