import pytest
import torch
from torch import nn

from sktransformer.nn import (
    ClassificationHead,
    FeatureTokenizer,
    MaskedLanguageModel,
    MaskedReconstructionLoss,
    MLMLoss,
    RegressionHead,
    SequenceReconstructionHead,
    StepProjection,
    TableReconstructionHead,
    TextReconstructionHead,
    TokenEmbedding,
    TransformerAutoencoder,
    TransformerModel,
)

C, H, L, FF = 16, 2, 2, 32


def make_model(kind, pooling="mean", n_outputs=2, head="clf", dropout=0.0):
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
        emb, C, H, L, FF, dropout=dropout, pooling=pooling, head=head_mod
    )


def make_inputs(kind, B=4, T=6):
    if kind == "text":
        ids = torch.randint(1, 12, (B, T))
        ids[1, 4:] = 0
        return {"input_ids": ids}
    if kind == "table":
        return {"x_num": torch.randn(B, 2), "x_cat": torch.randint(0, 3, (B, 2))}
    if kind == "grouped":
        return {"x_num": torch.randn(B, 5), "x_cat": torch.randint(0, 3, (B, 2))}
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 3:] = False
    return {"x_seq": torch.randn(B, T, 3), "attention_mask": mask}


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


def test_transformer_model_has_no_causal_flag():
    with pytest.raises(TypeError, match="causal"):
        TransformerModel(TokenEmbedding(12, C, 10), C, H, L, FF, causal=True)


def test_no_head_returns_pooled():
    model = make_model("table", head=None).eval()
    inputs = make_inputs("table")
    torch.testing.assert_close(
        model(**inputs), model.forward_features(**inputs)["sentence_embedding"]
    )


@pytest.mark.parametrize("kind", ["text", "seq"])
@pytest.mark.parametrize("pooling", ["mean", "max", "cls"])
def test_padding_invariance(kind, pooling):
    torch.manual_seed(0)
    model = make_model(kind, pooling).eval()
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


# ---------------------------------------------------------------------------- autoencoder
def make_autoencoder(kind, mask_ratio=0.25, seed=0):
    torch.manual_seed(seed)
    if kind == "table":
        emb, head, T = FeatureTokenizer(2, [3, 4], C, add_cls=False), TableReconstructionHead(C, 2, [3, 4]), 4
    elif kind == "grouped":  # 7 columns in 3 tokens: [0, 1, 2], [3, 4] (numeric), [5, 6] (categorical)
        emb = FeatureTokenizer(5, [3, 4], C, add_cls=False, n_tokens=3)
        head, T = TableReconstructionHead(C, 5, [3, 4], token_of_column=emb.token_of_column), 3
    elif kind == "text":
        emb, head, T = TokenEmbedding(12, C, max_length=10), TextReconstructionHead(C, 12), 10
    else:
        emb, head, T = StepProjection(3, C, max_length=10), SequenceReconstructionHead(C, 3), 10
    return TransformerAutoencoder(emb, C, H, L, FF, max_tokens=T, head=head, mask_ratio=mask_ratio)


@pytest.mark.parametrize("kind", ["text", "table", "seq"])
def test_autoencoder_readings(kind):
    model = make_autoencoder(kind).eval()
    inputs = make_inputs(kind)
    _, mask = model.embedding(**inputs)
    B, T = mask.shape
    errors = model.errors(**inputs)
    assert errors.shape == (B, T) and torch.isfinite(errors).all()
    assert torch.all(errors[~mask] == 0) and torch.all(errors[mask] > 0)
    assert torch.equal(model(**inputs), errors)  # evaluation forward = errors
    assert torch.equal(model.errors(**inputs), errors)  # deterministic
    rec = model.reconstruct(**inputs)
    assert rec.shape == ((B, T, 3) if kind == "seq" else (B, T))
    assert torch.all(rec[~mask] == 0)
    latent = model.latent(**inputs)
    assert latent.shape == (B, C)
    x, _ = model.embedding(**inputs)
    torch.testing.assert_close(latent, model.pooling(model.encoder(x, mask)[0], mask))
    assert not hasattr(model, "output")


def test_autoencoder_rebuilds_each_token_without_seeing_it():
    model = make_autoencoder("table").eval()
    inputs = make_inputs("table")
    rec, errors = model.reconstruct(**inputs), model.errors(**inputs)
    # numeric errors are the squared distance to the reconstruction
    torch.testing.assert_close(errors[:, :2], (rec[:, :2] - inputs["x_num"]) ** 2)
    # token t is hidden while it is rebuilt: its own value does not move its reconstruction
    moved = dict(inputs, x_num=inputs["x_num"].clone())
    moved["x_num"][:, 0] += 100.0
    torch.testing.assert_close(model.reconstruct(**moved)[:, 0], rec[:, 0])
    assert not torch.allclose(model.errors(**moved)[:, 0], errors[:, 0])
    # each token is rebuilt with its own group hidden (token t in group t % n_groups)
    assert model.n_groups == 4
    x, mask = model.embedding(**inputs)
    for t in range(4):
        hide = torch.zeros_like(mask)
        hide[:, t] = True
        h = model._encode(x, mask, hide)
        torch.testing.assert_close(errors[:, t], model.head.errors(h, inputs, hide)[:, t])


def test_autoencoder_repairs():
    model = make_autoencoder("table", mask_ratio=0.5).eval()
    inputs = make_inputs("table")
    T = 4
    repairs = model.repairs(**inputs)
    assert repairs.shape == (4, T, T + C)
    rec = model.reconstruct(**inputs)
    for t in range(T):
        fixed = model.head.replace(inputs, rec, t)
        torch.testing.assert_close(repairs[:, t, :T], model.errors(**fixed))
        torch.testing.assert_close(repairs[:, t, T:], model.latent(**fixed))
    # a numeric column set to its reconstruction has no error left
    torch.testing.assert_close(repairs[:, 0, 0], torch.zeros(4))
    torch.testing.assert_close(repairs[:, 1, 1], torch.zeros(4))
    # a category set to its most likely value cannot score worse than the one it replaced
    errors = model.errors(**inputs)
    assert torch.all(repairs[:, 2, 2] <= errors[:, 2] + 1e-6)


@pytest.mark.parametrize("kind", ["text", "seq"])
def test_autoencoder_padding_invariance(kind):
    model = make_autoencoder(kind).eval()
    inputs = make_inputs(kind, T=5)
    if kind == "text":
        padded = {"input_ids": torch.cat([inputs["input_ids"], torch.zeros(4, 3, dtype=torch.long)], 1)}
    else:
        padded = {
            "x_seq": torch.cat([inputs["x_seq"], 50 * torch.randn(4, 3, 3)], 1),
            "attention_mask": torch.cat([inputs["attention_mask"], torch.zeros(4, 3, dtype=torch.bool)], 1),
        }
    torch.testing.assert_close(model.errors(**padded)[:, :5], model.errors(**inputs), atol=1e-5, rtol=1e-5)
    assert torch.all(model.errors(**padded)[:, 5:] == 0)
    torch.testing.assert_close(model.latent(**padded), model.latent(**inputs), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["text", "table", "seq"])
def test_autoencoder_training_forward(kind):
    model = make_autoencoder(kind, mask_ratio=0.3).train()
    inputs = make_inputs(kind, B=64)
    _, mask = model.embedding(**inputs)
    torch.manual_seed(1)
    errors, hide = model(**inputs)
    assert errors.shape == hide.shape == mask.shape and hide.dtype == torch.bool
    assert not torch.any(hide & ~mask)  # padding is never hidden
    assert hide.any(dim=1).all()  # at least one hidden token per row
    assert 0.2 < hide.sum().item() / mask.sum().item() < 0.45
    assert torch.all(errors[~hide] == 0) and torch.all(errors[hide] > 0)
    torch.manual_seed(1)
    errors2, hide2 = model(**inputs)
    assert torch.equal(hide, hide2) and torch.equal(errors, errors2)


def test_grouped_table_autoencoder_scores_every_column_with_its_token_hidden():
    model = make_autoencoder("grouped", mask_ratio=0.5).eval()  # 3 tokens in 2 evaluation groups
    inputs = make_inputs("grouped")
    errors, rec = model.errors(**inputs), model.reconstruct(**inputs)
    assert errors.shape == rec.shape == (4, 7) and torch.all(errors > 0)
    torch.testing.assert_close(errors[:, :5], (rec[:, :5] - inputs["x_num"]) ** 2)
    # a column is rebuilt with its whole token hidden: neither it nor its token's other columns
    # move its reconstruction, while a column of another token does
    moved = dict(inputs, x_num=inputs["x_num"].clone())
    moved["x_num"][:, 1] += 100.0  # token 0
    torch.testing.assert_close(model.reconstruct(**moved)[:, :3], rec[:, :3])
    assert not torch.allclose(model.reconstruct(**moved)[:, 3:5], rec[:, 3:5])
    repairs = model.repairs(**inputs)  # one repair per token, all of its columns at once
    assert repairs.shape == (4, 3, 7 + C)
    torch.testing.assert_close(repairs[:, 1, 3:5], torch.zeros(4, 2))  # token 1's numeric cells, rebuilt
    for t in range(3):
        fixed = model.head.replace(inputs, rec, t)
        torch.testing.assert_close(repairs[:, t, :7], model.errors(**fixed))
    assert torch.equal(fixed["x_num"], inputs["x_num"])  # token 2 holds the categorical columns
    assert torch.equal(fixed["x_cat"], rec[:, 5:].long())
    model.train()
    torch.manual_seed(0)
    errors, hidden = model(**make_inputs("grouped", B=64))
    assert errors.shape == hidden.shape == (64, 7)
    # the columns of a token are hidden together, and only hidden columns are scored
    assert torch.equal(hidden[:, 0], hidden[:, 2]) and torch.equal(hidden[:, 5], hidden[:, 6])
    assert torch.all(errors[~hidden] == 0) and torch.all(errors[hidden] > 0)


def test_autoencoder_learns_a_redundant_table():
    # column 1 is minus column 0: a hidden one is predictable from the other
    torch.manual_seed(0)
    model = make_autoencoder("table", mask_ratio=0.5)
    z = torch.randn(32, 1)
    inputs = {"x_num": torch.cat([z, -z], 1), "x_cat": torch.randint(0, 3, (32, 2))}
    before = model.eval().errors(**inputs)[:, :2].mean().item()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    loss_fn = MaskedReconstructionLoss()
    for _ in range(40):
        opt.zero_grad()
        loss = loss_fn(model(**inputs))
        loss.backward()
        opt.step()
    after = model.eval().errors(**inputs)[:, :2].mean().item()
    assert after < 0.25 * before


# ---------------------------------------------------------------------------- masked language model
def make_mlm(add_cls=False, mask_prob=0.15):
    torch.manual_seed(0)
    encoder = TransformerModel(TokenEmbedding(12, C, max_length=10, add_cls=add_cls), C, H, L, FF,
                               pooling="cls" if add_cls else "mean")
    return MaskedLanguageModel(encoder, C, vocab_size=12, mask_id=1, mask_prob=mask_prob)


@pytest.mark.parametrize("add_cls", [False, True])
def test_mlm_training_forward(add_cls):
    mlm = make_mlm(add_cls, mask_prob=0.25).train()
    ids = torch.randint(2, 12, (128, 8))
    ids[:, 6:] = 0
    mask = ids != 0
    torch.manual_seed(1)
    logits, targets = mlm(ids, mask)
    n_real = int(mask.sum())
    assert logits.shape == (targets.shape[0], 12)
    assert torch.all(targets >= 2)  # real tokens only: never padding
    assert 128 <= targets.shape[0] and 0.2 < targets.shape[0] / n_real < 0.4
    loss = MLMLoss()((logits, targets))
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits, targets))
    loss.backward()
    assert mlm.lm_head[0].weight.grad.abs().sum() > 0


def test_mlm_hides_one_token_per_row_at_least_and_shows_the_mask_id():
    mlm = make_mlm(mask_prob=0.0).train()
    seen = []
    mlm.encoder.embedding.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(kwargs["input_ids"]), with_kwargs=True
    )
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 10, 11]])
    _, targets = mlm(ids, ids != 0)
    assert targets.shape == (2,)  # one per row even at mask_prob 0
    corrupted = seen[-1]
    assert (corrupted == 1).sum(dim=1).tolist() == [1, 1]
    assert torch.equal(corrupted[corrupted != 1], ids[corrupted != 1])
    assert torch.equal(targets, ids[corrupted == 1])


def test_mlm_evaluation_returns_the_sentence_embedding():
    mlm = make_mlm(add_cls=True).eval()
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 10, 11]])
    out = mlm(ids, ids != 0)
    expected = mlm.encoder.forward_features(input_ids=ids, attention_mask=ids != 0)["sentence_embedding"]
    assert out.shape == (2, C)
    torch.testing.assert_close(out, expected)
