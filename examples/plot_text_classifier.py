"""
Training a text classifier from scratch
=======================================

:class:`~sktransformer.TransformerClassifier` takes a plain list of strings. In ``fit`` it trains
a subword (WordPiece) tokenizer on the texts, builds a small transformer encoder sized to that
vocabulary, and trains it with a classification head; there is no pretrained model involved.

We train one on synthetic product reviews from :func:`~sktransformer.datasets.make_reviews`, in
which a review can be negative through a negation ("the battery is not great"), so counting
positive and negative words is not enough. With ``early_stopping=True`` (as in scikit-learn's
``MLPClassifier``), part of the training set is held out, training stops once the validation loss
stops improving, and the best weights are restored. The per-epoch record in ``history_`` gives the learning curve.
"""

# %%
# Data
# ----
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from sktransformer import TransformerClassifier
from sktransformer.datasets import make_reviews

texts, y = make_reviews(1500, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(texts, y, test_size=0.25, random_state=0)
for text, label in zip(X_train[:4], y_train[:4]):
    print(f"{label}  {text}")

# %%
# Training
# --------
# A two-layer encoder with 64-wide tokens and four heads (the defaults) is plenty for this data.
# ``max_epochs`` is an upper bound: with ``early_stopping=True``, ``n_iter_no_change=3`` and
# ``validation_fraction=0.1``, training stops three epochs after the best validation loss.
clf = TransformerClassifier(max_epochs=20, early_stopping=True, n_iter_no_change=3, validation_fraction=0.1,
                            random_state=0)
start = time.perf_counter()
clf.fit(X_train, y_train)
print(f"trained {len(clf.history_)} epochs in {time.perf_counter() - start:.0f} s, "
      f"vocabulary of {clf.encoder_.vocab_size_} subwords")

y_pred = clf.predict(X_test)
print(f"test accuracy: {accuracy_score(y_test, y_pred):.3f} "
      f"(labels carry 5% noise, so about 0.95 is the ceiling)")

# %%
# The model reads word order: the same words with and without a negation get opposite labels.
new = ["The screen is great, highly recommended.", "The screen is not great.",
       "Honestly, this chair feels flimsy.", "This chair is not flimsy, five stars!"]
for text, label, p in zip(new, clf.predict(new), clf.predict_proba(new)[:, 1]):
    print(f"{label}  (P(positive) = {p:.2f})  {text}")

# %%
# Learning curve
# --------------
# ``history_`` is skorch's :class:`~skorch.history.History`: one dict per epoch, which can be
# sliced by key. ``train_loss`` is the mean cross-entropy over the training batches of an epoch
# (with dropout on); ``valid_loss`` and ``valid_acc`` are measured on the held-out 10% after each
# epoch. The weights kept are those of the epoch with the lowest validation loss.
epochs = np.array(clf.history_[:, "epoch"])
train_loss = np.array(clf.history_[:, "train_loss"])
valid_loss = np.array(clf.history_[:, "valid_loss"])
valid_acc = np.array(clf.history_[:, "valid_acc"])
best = epochs[np.argmin(valid_loss)]

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
ax_loss.plot(epochs, train_loss, "o-", label="train loss")
ax_loss.plot(epochs, valid_loss, "s-", label="validation loss")
ax_loss.axvline(best, color="grey", linestyle="--", label=f"best epoch ({best}), restored")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("cross-entropy")
ax_loss.set_title("Loss")
ax_loss.legend()

ax_acc.plot(epochs, valid_acc, "o-", color="tab:green")
ax_acc.axvline(best, color="grey", linestyle="--")
ax_acc.set_xlabel("epoch")
ax_acc.set_ylabel("accuracy")
ax_acc.set_title("Validation accuracy")
for ax in (ax_loss, ax_acc):
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
plt.show()
