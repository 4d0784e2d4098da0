"""
Saving a model and loading it in another process
================================================

A fitted sktransformer estimator pickles like any scikit-learn estimator: ``joblib.dump`` writes
the trained weights, the fitted tokenizer or feature encoder and every fitted attribute into one
file, and ``joblib.load`` gives back an estimator that predicts exactly as before. A model
trained on a GPU loads on a machine without one and runs there on the CPU.

To show that nothing is left behind in memory, we train a text classifier, save it to a
temporary folder and load it in a *fresh* Python process with the GPU hidden, then compare that
process's predictions with the original model's.
"""

# %%
# Train and save
# --------------
import os
import subprocess
import sys
import tempfile
import textwrap

import joblib
import matplotlib.pyplot as plt
import numpy as np

from sktransformer import TransformerClassifier
from sktransformer.datasets import make_reviews

texts, y = make_reviews(1000, random_state=0)
clf = TransformerClassifier(max_epochs=8, random_state=0).fit(texts, y)

new_reviews = [
    "The battery is not great, avoid it.",
    "Honestly, the camera is superb!",
    "This chair feels really sturdy, five stars.",
    "The delivery turned out slow...",
    "So far, the app is not disappointing.",
]
proba_here = clf.predict_proba(new_reviews)

folder = tempfile.mkdtemp()
model_path = os.path.join(folder, "review_model.joblib")
joblib.dump(clf, model_path)
print(f"saved to {model_path} ({os.path.getsize(model_path) / 1e6:.2f} MB)")

# %%
# Load in a fresh process
# -----------------------
# The child process starts from nothing: it imports joblib, loads the file and writes its
# predictions next to it. ``CUDA_VISIBLE_DEVICES=""`` hides any GPU, as on a CPU-only server. The
# child never imports :mod:`sktransformer` itself; unpickling does.
child = textwrap.dedent("""
    import sys, joblib, numpy as np
    model_path, texts = sys.argv[1], sys.argv[2:]
    model = joblib.load(model_path)
    np.save(model_path + ".proba.npy", model.predict_proba(texts))
    print(type(model).__name__, "loaded; predictions:", model.predict(texts).tolist())
""")
env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
run = subprocess.run([sys.executable, "-c", child, model_path, *new_reviews],
                     env=env, capture_output=True, text=True, check=True)
print("child process:", run.stdout.strip())
proba_there = np.load(model_path + ".proba.npy")

# %%
# Compare
# -------
# The loaded model gives bit-for-bit the same probabilities.
print(f"identical predictions: {np.array_equal(proba_here, proba_there)}")
print(f"max |difference|: {np.abs(proba_here - proba_there).max():.1e}")
for text, p_here, p_there in zip(new_reviews, proba_here[:, 1], proba_there[:, 1]):
    print(f"P(positive) here {p_here:.4f}, after loading {p_there:.4f}   {text}")

# %%
# Side by side, per review:
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
rows = np.arange(len(new_reviews))
ax.barh(rows - 0.2, proba_here[:, 1], height=0.4, label="original model")
ax.barh(rows + 0.2, proba_there[:, 1], height=0.4, label="loaded in a new process")
ax.set_yticks(rows, new_reviews)
ax.invert_yaxis()
ax.set_xlim(0, 1)
ax.axvline(0.5, color="grey", linestyle=":")
ax.set_xlabel("P(positive)")
fig.legend(loc="outside lower center", ncol=2)
ax.set_title("Predictions before and after joblib.dump / joblib.load")
plt.show()

# %%
# Clean up the temporary folder.
import shutil

shutil.rmtree(folder)

# %%
# .. note::
#    A pickle is only as portable as the code that reads it: load it with the same versions of
#    sktransformer, scikit-learn, skorch and PyTorch it was saved with, and only load files you
#    trust, since unpickling can run arbitrary code. ``sklearn.__version__`` and
#    ``sktransformer.__version__`` are worth saving next to the file.
