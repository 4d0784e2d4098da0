"""A fitted model with a pretrained backbone is self-contained: it loads offline with its folder gone."""

import os
import pickle
import shutil
import subprocess
import sys
import textwrap

import joblib
import numpy as np

from sktransformer import TransformerClassifier, TransformerEmbedder


def _run_fresh(model_path, X_path, method):
    code = textwrap.dedent(f"""
        import joblib, numpy as np, pickle, sys
        model = joblib.load({str(model_path)!r})
        with open({str(X_path)!r}, "rb") as f:
            X = pickle.load(f)
        np.save({str(model_path) + ".npy"!r}, getattr(model, {method!r})(X))
        print("transformers" in sys.modules)
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": os.devnull}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    return np.load(str(model_path) + ".npy")


def test_embedder_and_classifier_load_without_their_folder(tiny_bert, text_data, tmp_path):
    folder = str(tmp_path / "copy")
    shutil.copytree(tiny_bert, folder)  # a folder we may delete
    X, y = list(text_data[0][:60]), text_data[1][:60]
    emb = TransformerEmbedder(folder, cache=False).fit(X)
    clf = TransformerClassifier(backbone=folder, max_epochs=1, batch_size=16, random_state=0).fit(X, y)
    expected = {"emb": emb.transform(X), "clf": clf.predict_proba(X)}
    joblib.dump(emb, tmp_path / "emb.joblib")
    joblib.dump(clf, tmp_path / "clf.joblib")
    with open(tmp_path / "X.pkl", "wb") as f:
        pickle.dump(X, f)
    shutil.rmtree(folder)
    np.testing.assert_array_equal(_run_fresh(tmp_path / "emb.joblib", tmp_path / "X.pkl", "transform"),
                                  expected["emb"])
    np.testing.assert_array_equal(_run_fresh(tmp_path / "clf.joblib", tmp_path / "X.pkl", "predict_proba"),
                                  expected["clf"])
