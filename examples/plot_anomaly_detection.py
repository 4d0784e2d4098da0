"""
Anomaly detection with an attention autoencoder
===============================================

An :class:`~sktransformer.AttentionAutoencoder` learns to rebuild each column of a table from the
other columns. Rows whose columns do not fit together rebuild badly and score low. We build a
synthetic table with correlated columns, inject a few outliers that break the correlations (each
value alone looks ordinary), compare ROC-AUC with :class:`~sklearn.ensemble.IsolationForest`, and
plot which columns made the worst row an outlier. Runs offline on data built here.
"""

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
idx = rng.choice(n, n_outliers, replace=False)
for i in idx:  # swap two columns of the row: each value is ordinary, the pair is not
    a, b = rng.choice(8, 2, replace=False)
    X[i, [a, b]] = X[i, [b, a]]
    y[i] = 1

ae = AttentionAutoencoder(contamination=n_outliers / n, random_state=0).fit(X)
iforest = IsolationForest(random_state=0).fit(X)
print(f"ROC-AUC  AttentionAutoencoder: {roc_auc_score(y, -ae.score_samples(X)):.3f}   "
      f"IsolationForest: {roc_auc_score(y, -iforest.score_samples(X)):.3f}")
print(f"flagged {np.sum(ae.predict(X) == -1)} rows, {np.sum((ae.predict(X) == -1) & (y == 1))} true outliers")

worst = int(np.argmin(ae.score_samples(X)))
ax = plot_anomaly_contributions(ae, X, row=worst, top_k=8)
plt.tight_layout()
plt.show()
