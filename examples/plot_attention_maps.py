"""
Looking at attention maps
=========================

Every encoder layer of a transformer computes, for each head, a matrix of attention weights: how
much each token (the *query*) takes from every other token (the *keys*) when it updates itself.
:func:`sktransformer.inspection.attention_weights` returns these matrices for any fitted
sktransformer model, and :func:`sktransformer.inspection.plot_attention` draws them.

We look at two models trained from scratch: a text classifier reading product reviews, and a
classifier reading a table, where each column is a token and a ``[CLS]`` token gathers the row
for the prediction. On the table we compare what the ``[CLS]`` token attends to with permutation
importance, a direct measure of which columns the predictions depend on.
"""

# %%
# A text classifier
# -----------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split

from sktransformer import TransformerClassifier
from sktransformer.datasets import make_customers, make_reviews
from sktransformer.inspection import attention_weights, plot_attention

texts, y = make_reviews(1500, random_state=0)
text_clf = TransformerClassifier(max_epochs=10, random_state=0).fit(texts, y)

sentence = "Honestly, the battery is not great, avoid it."
att = attention_weights(text_clf, [sentence])
print(f"P(positive) = {text_clf.predict_proba([sentence])[0, 1]:.2f} for {sentence!r}")
print("tokens:", att.tokens[0])
print("weights:", att.weights.shape, "(rows, layers, heads, queries, keys)")

# %%
# Every layer and head
# --------------------
# One panel per layer (rows) and head (columns). Row ``i`` of a panel is where token ``i`` looks;
# each row sums to 1. Here the heads of the first layer send most tokens to a few words that
# decide the label, such as "avoid" and "not"; in the second layer one head spreads its attention
# almost evenly while the others gather on "battery" and "great". Heads of the same layer look at
# different things: that is what having several heads is for.
fig = plot_attention(text_clf, [sentence])
fig.suptitle(f"{sentence!r}")
plt.show()

# %%
# ``heads="mean"`` averages the heads of each layer, and ``layers=`` picks layers. The average
# is smoother; a single head is easier to read.
fig = plot_attention(text_clf, [sentence], heads="mean")
plt.show()

# %%
# A table: what does the ``[CLS]`` token read?
# --------------------------------------------
# With ``pooling="cls"`` the model prepends a learned ``[CLS]`` token to the column tokens and
# classifies from its final vector alone, so the first row of each attention matrix says which
# columns the prediction is gathered from. In :func:`~sktransformer.datasets.make_customers`
# churn depends on the plan together with the number of support calls, on tenure, on the region
# and slightly on the monthly spend; age plays no part.
X, y = make_customers(2000, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
tab_clf = TransformerClassifier(pooling="cls", max_epochs=15, random_state=0).fit(X_train, y_train)
print(f"test accuracy: {tab_clf.score(X_test, y_test):.3f}")

tab_att = attention_weights(tab_clf, X_test)
tokens = tab_att.tokens[0]                                   # ['[CLS]', column names...]
cls_row = tab_att.weights[:, :, :, 0, :]                     # (n_rows, n_layers, n_heads, T)
cls_to_columns = cls_row.mean(axis=(0, 2))[:, 1:]            # mean over rows and heads, columns only
columns = tokens[1:]
for layer, weights in enumerate(cls_to_columns):
    print(f"layer {layer}: " + ", ".join(f"{c} {w:.2f}" for c, w in zip(columns, weights)))

# %%
# Permutation importance shuffles one column at a time in the test set and measures how much the
# ROC AUC drops: the columns the model really depends on.
importance = permutation_importance(tab_clf, X_test, y_test, scoring="roc_auc", n_repeats=5,
                                    random_state=0)
for c, m in zip(X_test.columns, importance.importances_mean):
    print(f"{c:14s} AUC drop {m:.3f}")

# %%
# Side by side. In the first layer the ``[CLS]`` token reads mostly ``plan`` and
# ``support_calls``, the two columns whose combination drives churn. In the second layer it turns
# to ``tenure_months``, ``support_calls`` and ``region`` and hardly looks at ``plan`` any more:
# what it needed from ``plan`` it took in the first layer. ``age`` gets little attention, but not
# the least; permutation importance shows that the predictions do not depend on it at all.
#
# Attention is not importance. A column can matter through what another token took from it (every
# column token attends to the others too), and a small weight on a large value vector can still
# move the output. Permutation importance answers "what does the prediction depend on";
# attention shows *how* the model routes information between tokens.
n_layers = cls_to_columns.shape[0]
fig, (ax_att, ax_imp) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained", sharey=True)
pos = np.arange(len(columns))
height = 0.8 / n_layers
for layer in range(n_layers):
    ax_att.barh(pos + (layer - (n_layers - 1) / 2) * height, cls_to_columns[layer], height=height,
                label=f"layer {layer}")
ax_att.set_yticks(pos, columns)
ax_att.invert_yaxis()
ax_att.set_xlabel("mean attention of [CLS] (over rows and heads)")
ax_att.set_title("What [CLS] attends to")
ax_att.legend(loc="lower right")

order = [list(X_test.columns).index(c) for c in columns]  # same order as the tokens
ax_imp.barh(pos, importance.importances_mean[order], xerr=importance.importances_std[order],
            color="tab:green", capsize=3)
ax_imp.set_xlabel("drop in ROC AUC when the column is shuffled")
ax_imp.set_title("Permutation importance")
for ax in (ax_att, ax_imp):
    ax.grid(axis="x", alpha=0.3)
plt.show()
