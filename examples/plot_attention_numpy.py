"""
Self-attention from scratch in NumPy
====================================

Every model in sktransformer is built on one operation, scaled dot-product self-attention:

.. math::

    \\operatorname{Attention}(Q, K, V) = \\operatorname{softmax}\\left(\\frac{QK^\\top}{\\sqrt{d}}\\right) V

Each token is projected into a query, a key and a value. A token's output is a weighted mean of
all the values, weighted by how well its query matches each key. *Multi-head* attention does this
``H`` times in parallel on slices of width ``d = d_model / H`` and mixes the heads back together
with an output projection.

Here we write multi-head self-attention in a dozen lines of NumPy, copy the same weights into
:class:`sktransformer.nn.MultiHeadSelfAttention` (the PyTorch layer the estimators use), and check
that both give the same outputs and the same attention weights, padding mask included.
"""

# %%
# Attention in NumPy
# ------------------
# The input ``x`` has shape ``(B, T, C)``: a batch of ``B`` sequences of ``T`` tokens, each a
# vector of ``C = d_model`` numbers. A boolean ``mask`` of shape ``(B, T)`` says which tokens are
# real (``True``) and which are padding; padding keys get a score of minus infinity, so no token
# attends to them.
import matplotlib.pyplot as plt
import numpy as np
import torch

from sktransformer.nn import MultiHeadSelfAttention


def softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)  # subtract the max: no overflow in exp
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def multi_head_attention(x, W_qkv, b_qkv, W_out, b_out, n_heads, mask=None):
    """Multi-head self-attention; returns the output (B, T, C) and the weights (B, H, T, T)."""
    B, T, C = x.shape
    D = C // n_heads
    qkv = x @ W_qkv.T + b_qkv                                   # (B, T, 3C)
    q, k, v = np.split(qkv, 3, axis=-1)                         # 3 x (B, T, C)
    q, k, v = (a.reshape(B, T, n_heads, D).transpose(0, 2, 1, 3) for a in (q, k, v))  # (B, H, T, D)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(D)           # (B, H, T, T)
    if mask is not None:
        scores = np.where(mask[:, None, None, :], scores, -np.inf)  # hide padding keys
    weights = softmax(scores)                                   # (B, H, T, T), rows sum to 1
    heads = weights @ v                                         # (B, H, T, D)
    concat = heads.transpose(0, 2, 1, 3).reshape(B, T, C)       # (B, T, C)
    return concat @ W_out.T + b_out, weights


# %%
# The same layer in PyTorch
# -------------------------
# :class:`~sktransformer.nn.MultiHeadSelfAttention` keeps the query, key and value projections in
# one linear layer ``qkv`` (rows ordered q, k, v, as in :class:`torch.nn.MultiheadAttention`) and
# the output projection in ``out_proj``. We give it random weights, then read them back as NumPy
# arrays for our version.
d_model, n_heads = 16, 4
torch.manual_seed(0)
layer = MultiHeadSelfAttention(d_model, n_heads).eval()
with torch.no_grad():
    for p in layer.parameters():
        p.normal_(std=0.3)  # larger than the default init, so the attention is not flat

W_qkv = layer.qkv.weight.detach().double().numpy()   # (3C, C)
b_qkv = layer.qkv.bias.detach().double().numpy()     # (3C,)
W_out = layer.out_proj.weight.detach().double().numpy()  # (C, C)
b_out = layer.out_proj.bias.detach().double().numpy()    # (C,)

# %%
# Two "sentences" of random token vectors: the first has 7 real tokens, the second only 5 followed
# by 2 padding tokens.
tokens = ["the", "battery", "is", "not", "great", "at", "all"]
rng = np.random.RandomState(0)
x = rng.normal(size=(2, len(tokens), d_model))
mask = np.array([[True] * 7, [True] * 5 + [False] * 2])

out_np, weights_np = multi_head_attention(x, W_qkv, b_qkv, W_out, b_out, n_heads, mask)
with torch.no_grad():
    out_t, weights_t = layer(torch.tensor(x, dtype=torch.float32), attention_mask=torch.tensor(mask),
                             need_weights=True)
    out_fast, _ = layer(torch.tensor(x, dtype=torch.float32), attention_mask=torch.tensor(mask))

print(f"output shape {out_np.shape}, weights shape {weights_np.shape}")
print(f"max |output  NumPy - PyTorch|             : {np.abs(out_np - out_t.numpy()).max():.2e}")
print(f"max |weights NumPy - PyTorch|             : {np.abs(weights_np - weights_t.numpy()).max():.2e}")
print(f"max |output  NumPy - PyTorch fast path|   : {np.abs(out_np - out_fast.numpy()).max():.2e}")
print(f"weight on padding keys (2nd sentence)     : {weights_np[1, :, :, 5:].max():.1f}")

# %%
# The differences are at the level of float32 rounding (about ``1e-7``): the two are the same
# computation. ``need_weights=True`` takes an explicit path that materialises the ``(T, T)``
# weights; the default path calls :func:`torch.nn.functional.scaled_dot_product_attention`, a fused
# kernel that never builds them, and gives the same output.
#
# Looking at the weights
# ----------------------
# Each head has its own ``(T, T)`` matrix: row ``i`` is how token ``i`` (the query) spreads its
# attention over the tokens (the keys). Every row sums to 1. The weights are random here, so the
# patterns mean nothing yet; in a trained model (see
# :ref:`sphx_glr_auto_examples_plot_attention_maps.py`) heads learn to look at the words that
# matter.
fig, axes = plt.subplots(1, n_heads, figsize=(13, 4.4), layout="constrained")
for h, ax in enumerate(axes):
    im = ax.imshow(weights_np[0, h], vmin=0, vmax=1, cmap="viridis")
    ax.set_title(f"head {h}")
    ax.set_xticks(range(len(tokens)), tokens, rotation=60, ha="right")
    ax.set_yticks(range(len(tokens)), tokens if h == 0 else [])
    ax.set_xlabel("key")
axes[0].set_ylabel("query")
fig.colorbar(im, ax=axes, shrink=0.8, label="attention weight")
fig.suptitle("Attention weights of a random 4-head layer (NumPy = PyTorch)")
plt.show()

# %%
# The padded sentence: the two padding keys (last two columns) get exactly zero weight from every
# query. The padding *queries* (last two rows) still produce an output, which the pooling steps of
# the models ignore.
fig, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
im = ax.imshow(weights_np[1].mean(axis=0), vmin=0, vmax=1, cmap="viridis")
labels = ["tok0", "tok1", "tok2", "tok3", "tok4", "[PAD]", "[PAD]"]
ax.set_xticks(range(7), labels, rotation=60, ha="right")
ax.set_yticks(range(7), labels)
ax.set_xlabel("key")
ax.set_ylabel("query")
ax.set_title("Sentence 2, mean over heads")
fig.colorbar(im, ax=ax, label="attention weight")
plt.show()
