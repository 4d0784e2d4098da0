"""
Free text beside categories and numbers: one model for a mixed DataFrame
========================================================================

Reviews rarely come alone: a shop knows the department of the item, its price and the buyer's
age. :class:`~sktransformer.TransformerClassifier` takes such a DataFrame as it is: it finds the
free-text columns, turns each into subword tokens, each other column into a feature token, and
one encoder attends over all of them. Here whether an item was sent back depends on the review
*and* the department together ("runs small" matters for shoes, not for a top). We compare the one
model with the usual scikit-learn pipeline (TF-IDF of the text beside one-hot categories and
scaled numbers, then a logistic regression) and look at what the model attends to. Runs offline
on data built here, in about a minute and a half on 2 CPU cores.
"""

# %%
# The data
# --------
# :func:`~sktransformer.datasets.make_product_reviews` builds the table: a ``review`` (free text),
# a ``title`` of a few words that repeat, a ``department``, a ``price`` and the buyer's ``age``.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktransformer import TransformerClassifier
from sktransformer.datasets import make_product_reviews
from sktransformer.inspection import attention_weights

X, y = make_product_reviews(8000, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
print(X.head(3).to_string())

# %%
# One model over every column
# ---------------------------
# The columns' roles are decided in ``fit`` and stated: ``review`` is free text (many distinct
# values of several words); ``title`` repeats a few combinations, so it is a category.
clf = TransformerClassifier(random_state=0).fit(X_train, y_train)
print("text columns:", clf.text_columns_, " categories:", clf.categorical_columns_)
auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])

# %%
# The scikit-learn pipeline
# -------------------------
# TF-IDF of the review, one-hot categories and scaled numbers side by side: each part adds its
# own score, so the model cannot say that "runs small" counts for shoes only.
pipeline = make_pipeline(
    ColumnTransformer([
        ("review", TfidfVectorizer(ngram_range=(1, 2)), "review"),
        ("categories", OneHotEncoder(handle_unknown="ignore"), ["title", "department"]),
        ("numbers", StandardScaler(), ["price", "age"]),
    ]),
    LogisticRegression(C=4, max_iter=1000),
).fit(X_train, y_train)
auc_pipeline = roc_auc_score(y_test, pipeline.predict_proba(X_test)[:, 1])
print(f"ROC-AUC: one transformer {auc:.3f}, TF-IDF + one-hot + logistic regression {auc_pipeline:.3f}")

# %%
# What the model looks at
# -----------------------
# The attention of a returned pair of shoes: the tokens are the feature tokens (labelled with
# their columns), then ``[review]`` and the review's subwords. We average the heads of the last
# layer: each row is a token, each column a token it attends to. Attention shows where the model
# looks, not why it decides; read it as a hint.
row = int(np.flatnonzero((X_test["department"] == "shoes").to_numpy() & (y_test == 1))[0])
att = attention_weights(clf, X_test.iloc[[row]])
tokens = att.tokens[0]
weights = att.weights[0, -1].mean(axis=0)[: len(tokens), : len(tokens)]  # (T, T)
fig, ax = plt.subplots(figsize=(7, 6))
ax.imshow(weights, cmap="viridis")
ax.set_xticks(range(len(tokens)), tokens, rotation=90)
ax.set_yticks(range(len(tokens)), tokens)
ax.set_title(f"Last layer, heads averaged: {X_test['review'].iloc[row]!r}", fontsize=9)
fig.tight_layout()
plt.show()
