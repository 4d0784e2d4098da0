import pytest
import torch
from torch import nn

from sktransformer.nn import (
    ClassificationHead,
    FeatureTokenizer,
    RegressionHead,
    StepProjection,
    TokenEmbedding,
    TransformerModel,
)

C, H, L, FF = 16, 2, 2, 32


def make_model(kind, pooling="mean", causal=False, n_outputs=2, head="clf", dropout=0.0):
    add_cls = pooling == "cls"
    if kind == "text":
        emb = TokenEmbedding(12, C, max_length=10, add_cls=add_cls)
    elif kind == "table":
        emb = FeatureTokenizer(2, [3, 4], C, add_cls=add_cls)
    else:
        emb = StepProjection(3, C, max_length=10, add_cls=add_cls)
    head_mod = {
        "clf": ClassificationHead(C, n_outputs),
        "reg": RegressionHead(C, n_outputs),
        None: None,
    }[head]
    return TransformerModel(
        emb, C, H, L, FF, dropout=dropout, pooling=pooling, head=head_mod, causal=causal
    )


def make_inputs(kind, B=4, T=6):
    if kind == "text":
        ids = torch.randint(1, 12, (B, T))
        ids[1, 4:] = 0
        return {"input_ids": ids}
    if kind == "table":
        return {"x_num": torch.randn(B, 2), "x_cat": torch.randint(0, 3, (B, 2))}
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 3:] = False
    return {"x_seq": torch.randn(B, T, 3), "attention_mask": mask}


def test_heads():
    pooled = torch.randn(5, C)
    assert ClassificationHead(C, 3)(pooled).shape == (5, 3)
    assert RegressionHead(C, 1, dropout=0.2)(pooled).shape == (5, 1)


@pytest.mark.parametrize("kind", ["text", "table", "seq"])
@pytest.mark.parametrize("pooling", ["mean", "max", "cls"])
def test_output_shape(kind, pooling):
    torch.manual_seed(0)
    model = make_model(kind, pooling, n_outputs=3).eval()
    inputs = make_inputs(kind)
    out = model(**inputs)
    assert out.shape == (4, 3)
    assert torch.isfinite(out).all()
    feats = model.forward_features(**inputs)
    assert set(feats) == {"token_embeddings", "attention_mask", "sentence_embedding"}
    assert feats["sentence_embedding"].shape == (4, C)
    assert feats["token_embeddings"].shape[:2] == feats["attention_mask"].shape


def test_no_head_returns_pooled():
    model = make_model("table", head=None).eval()
    inputs = make_inputs("table")
    torch.testing.assert_close(
        model(**inputs), model.forward_features(**inputs)["sentence_embedding"]
    )


@pytest.mark.parametrize("kind", ["text", "seq"])
@pytest.mark.parametrize("pooling", ["mean", "max", "cls"])
@pytest.mark.parametrize("causal", [False, True])
def test_padding_invariance(kind, pooling, causal):
    torch.manual_seed(0)
    model = make_model(kind, pooling, causal=causal).eval()
    inputs = make_inputs(kind, T=5)
    out = model(**inputs)
    if kind == "text":
        padded = {"input_ids": torch.cat([inputs["input_ids"], torch.zeros(4, 3, dtype=torch.long)], 1)}
    else:
        padded = {
            "x_seq": torch.cat([inputs["x_seq"], 50 * torch.randn(4, 3, 3)], 1),
            "attention_mask": torch.cat([inputs["attention_mask"], torch.zeros(4, 3, dtype=torch.bool)], 1),
        }
    torch.testing.assert_close(model(**padded), out, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["text", "table", "seq"])
def test_need_weights(kind):
    model = make_model(kind).eval()
    inputs = make_inputs(kind)
    feats = model.forward_features(need_weights=True, **inputs)
    T = feats["token_embeddings"].shape[1]
    assert len(feats["attentions"]) == L
    for w in feats["attentions"]:
        assert w.shape == (4, H, T, T)
        torch.testing.assert_close(w.sum(-1), torch.ones(4, H, T))
    plain = model.forward_features(**inputs)
    torch.testing.assert_close(
        feats["sentence_embedding"], plain["sentence_embedding"], atol=1e-5, rtol=1e-5
    )


def test_init_weights_encoder_only():
    torch.manual_seed(0)
    model = make_model("table")
    lin = model.encoder.layers[0].attn.qkv
    assert lin.weight.std().item() == pytest.approx(0.02, rel=0.2)
    assert torch.all(lin.bias == 0)
    # the FeatureTokenizer keeps its own uniform(-1/sqrt(C), 1/sqrt(C)) init
    bound = 1 / C**0.5
    assert model.embedding.num_weight.abs().max().item() <= bound
    assert model.embedding.num_weight.abs().max().item() > 0.1


def _overfit(model, inputs, y, loss_fn, steps=60):
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(**inputs), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("kind", ["text", "table", "seq"])
def test_overfits_trivial_task(kind):
    torch.manual_seed(0)
    model = make_model(kind, pooling="mean", dropout=0.0)
    B = 16
    inputs = make_inputs(kind, B=B)
    # label = sign of one feature that the input carries directly
    if kind == "text":
        ids = torch.randint(1, 12, (B, 6))
        y = (ids[:, 0] > 6).long()
        inputs = {"input_ids": ids}
    elif kind == "table":
        y = (inputs["x_num"][:, 0] > 0).long()
    else:
        y = (inputs["x_seq"][:, 0, 0] > 0).long()
    losses = _overfit(model, inputs, y, nn.CrossEntropyLoss())
    assert losses[-1] < 0.2 * losses[0]


def test_regression_overfits():
    torch.manual_seed(0)
    model = make_model("table", head="reg", n_outputs=1)
    inputs = make_inputs("table", B=16)
    y = (2 * inputs["x_num"][:, :1] - 1).float()
    losses = _overfit(model, inputs, y, nn.MSELoss(), steps=80)
    assert losses[-1] < 0.1 * losses[0]


@pytest.mark.parametrize("kind", ["text", "table", "seq"])
def test_pickle_and_state_dict_round_trip(kind):
    import copy
    import io
    import pickle

    torch.manual_seed(0)
    model = make_model(kind).eval()
    inputs = make_inputs(kind)
    expected = model(**inputs)
    clone = pickle.loads(pickle.dumps(model))
    torch.testing.assert_close(clone(**inputs), expected)
    fresh = copy.deepcopy(model)
    for p in fresh.parameters():
        torch.nn.init.zeros_(p)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    fresh.load_state_dict(torch.load(buf))
    torch.testing.assert_close(fresh(**inputs), expected)
