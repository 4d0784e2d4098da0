"""
Anomaly detection with an attention autoencoder
===============================================

An :class:`~sktransformer.AttentionAutoencoder` learns to rebuild each column of a table from the
other columns. Rows whose columns do not fit together rebuild badly and score low. We build a
synthetic table with correlated columns, inject a few outliers that break the correlations (each
value alone looks ordinary), compare ROC-AUC with :class:`~sklearn.ensemble.IsolationForest`, and
plot which columns made the worst row an outlier. Runs offline on data built here.
"""

# %%
# A table with hidden structure
# -----------------------------
# Eight columns driven by two latent factors, plus a little noise. In 30 of the 1,000 rows we swap
# the values of two columns: each value is still an ordinary value of the column it lands in (all
# columns have a similar spread), but the pair no longer agrees with the other six columns.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

from sktransformer import AttentionAutoencoder
from sktransformer.inspection import plot_anomaly_contributions

rng = np.random.RandomState(0)
n, n_outliers = 1000, 30
latent = rng.normal(size=(n, 2))
mixing = rng.normal(size=(2, 8))
X = latent @ mixing + 0.1 * rng.normal(size=(n, 8))  # 8 columns driven by 2 factors
y = np.zeros(n, dtype=int)
swapped = {}
for i in rng.choice(n, n_outliers, replace=False):  # swap two columns of the row
    a, b = rng.choice(8, 2, replace=False)
    X[i, [a, b]] = X[i, [b, a]]
    y[i] = 1
    swapped[int(i)] = (int(a), int(b))

# %%
# Fit and score
# -------------
# ``contamination`` is the share of outliers we expect; it sets the threshold ``offset_`` that
# ``predict`` uses (+1 inlier, -1 outlier). ``score_samples`` is higher for more normal rows, as in
# scikit-learn's detectors, so ``-score_samples`` ranks rows from most to least anomalous.
ae = AttentionAutoencoder(contamination=n_outliers / n, random_state=0).fit(X)
iforest = IsolationForest(random_state=0).fit(X)
scores = ae.score_samples(X)
print(f"ROC-AUC  AttentionAutoencoder: {roc_auc_score(y, -scores):.3f}   "
      f"IsolationForest: {roc_auc_score(y, -iforest.score_samples(X)):.3f}")
flagged = ae.predict(X) == -1
print(f"flagged {flagged.sum()} rows, {np.sum(flagged & (y == 1))} of them injected outliers")

# %%
# IsolationForest looks for values in sparse regions of the space; a swapped row has none, so it
# does little better than chance. The autoencoder checks whether the columns agree with each
# other, which is what the swap breaks. Swapping two columns that happen to be strongly correlated
# changes little, though, so many injected rows stay hidden among the normal ones: at this
# threshold fewer than half of them are caught, while the most broken rows score far above it.
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
bins = np.linspace(-scores.max(), -scores.min(), 40)
ax.hist(-scores[y == 0], bins=bins, alpha=0.7, label="normal rows")
ax.hist(-scores[y == 1], bins=bins, alpha=0.7, label="injected outliers")
ax.axvline(-ae.offset_, color="black", linestyle="--", label="threshold (contamination=0.03)")
ax.set_yscale("log")
ax.set_xlabel("anomaly score (-score_samples)")
ax.set_ylabel("rows")
ax.legend()
ax.set_title("AttentionAutoencoder anomaly scores")
plt.show()

# %%
# Why is a row an outlier?
# ------------------------
# :func:`~sktransformer.inspection.plot_anomaly_contributions` splits a row's score over its
# columns: each column gets a share in proportion to how much the score falls when that column
# alone is set to the value the model rebuilt for it from the others. For the worst row, the
# largest contributions should point at the columns that were swapped.
worst = int(np.argmin(scores))
if worst in swapped:
    print(f"row {worst} is an injected outlier: columns x{swapped[worst][0]} and x{swapped[worst][1]} "
          "were swapped")
else:
    print(f"row {worst} is not one of the injected outliers")
ax = plot_anomaly_contributions(ae, X, row=worst, top_k=8)
ax.figure.tight_layout()
plt.show()
