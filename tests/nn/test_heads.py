import pytest
import torch

from sktransformer.nn import (
    ClassificationHead,
    RegressionHead,
    SequenceReconstructionHead,
    TableReconstructionHead,
    TextReconstructionHead,
)

C = 16


def test_heads():
    pooled = torch.randn(5, C)
    assert ClassificationHead(C, 3)(pooled).shape == (5, 3)
    assert RegressionHead(C, 1, dropout=0.2)(pooled).shape == (5, 1)
    head = ClassificationHead(C, 3).eval()
    torch.testing.assert_close(head(pooled), pooled @ head.linear.weight.T + head.linear.bias)


def test_reconstruction_head_is_gone():
    import sktransformer.nn as nn_pkg
    from sktransformer.nn import heads

    assert not hasattr(nn_pkg, "ReconstructionHead") and not hasattr(heads, "ReconstructionHead")


# ---------------------------------------------------------------------------- table
def _table():
    torch.manual_seed(0)
    head = TableReconstructionHead(C, 2, [3, 4])
    h = torch.randn(5, 4, C)  # 2 numeric tokens, then 2 categorical
    targets = {"x_num": torch.randn(5, 2), "x_cat": torch.tensor([[0, 3], [2, 1], [1, 0], [0, 2], [2, 3]])}
    return head, h, targets


def test_table_head_predict():
    head, h, _ = _table()
    rec = head.predict(h)
    assert rec.shape == (5, 4) and rec.dtype == h.dtype
    # numeric column j: its own linear map of token j
    torch.testing.assert_close(rec[:, 1], h[:, 1] @ head.num_weight[1] + head.num_bias[1])
    # categorical column j: the most likely category of token n_numeric + j
    assert torch.equal(rec[:, 3], head.cat_linears[1](h[:, 3]).argmax(-1).float())
    assert set(rec[:, 2].tolist()) <= {0.0, 1.0, 2.0}


def test_table_head_errors():
    head, h, targets = _table()
    rec = head.predict(h)
    err = head.errors(h, targets)
    assert err.shape == (5, 4)
    torch.testing.assert_close(err[:, :2], (rec[:, :2] - targets["x_num"]) ** 2)
    logits = head.cat_linears[0](h[:, 2])  # (5, 3)
    torch.testing.assert_close(err[:, 2], -logits.log_softmax(-1)[torch.arange(5), targets["x_cat"][:, 0]])
    select = torch.rand(5, 4) < 0.5
    torch.testing.assert_close(head.errors(h, targets, select), err * select)


def test_table_head_replace_copies_one_column():
    head, h, targets = _table()
    rec = head.predict(h)
    for t, key, col in [(1, "x_num", 1), (3, "x_cat", 1)]:
        fixed = head.replace(targets, rec, t)
        assert fixed[key].dtype == targets[key].dtype
        assert torch.equal(fixed[key][:, col], rec[:, t].to(targets[key].dtype))
        other = [k for k in range(fixed[key].shape[1]) if k != col]
        assert torch.equal(fixed[key][:, other], targets[key][:, other])
        assert not torch.equal(fixed[key], targets[key])  # the inputs are left as they were
    fixed = head.replace(targets, rec, 0)
    assert fixed["x_cat"] is targets["x_cat"]  # the untouched key is shared, not copied


def test_table_head_needs_a_column():
    with pytest.raises(ValueError, match="at least one column"):
        TableReconstructionHead(C, 0, [])
    head = TableReconstructionHead(C, 0, [2])  # categorical only
    h = torch.randn(3, 1, C)
    assert head.predict(h).shape == (3, 1)
    assert head.errors(h, {"x_cat": torch.tensor([[0], [1], [1]])}).shape == (3, 1)


# ---------------------------------------------------------------------------- sequence
def test_sequence_head():
    torch.manual_seed(0)
    head = SequenceReconstructionHead(C, n_features=3)
    h, x_seq = torch.randn(2, 5, C), torch.randn(2, 5, 3)
    rec = head.predict(h)
    assert rec.shape == (2, 5, 3)
    torch.testing.assert_close(rec, h @ head.linear.weight.T + head.linear.bias)
    err = head.errors(h, {"x_seq": x_seq})
    torch.testing.assert_close(err, ((rec - x_seq) ** 2).mean(-1))
    select = torch.tensor([[1, 0, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=torch.bool)
    torch.testing.assert_close(head.errors(h, {"x_seq": x_seq}, select), err * select)
    fixed = head.replace({"x_seq": x_seq}, rec, 2)
    torch.testing.assert_close(fixed["x_seq"][:, 2], rec[:, 2])
    assert torch.equal(fixed["x_seq"][:, [0, 1, 3, 4]], x_seq[:, [0, 1, 3, 4]])


# ---------------------------------------------------------------------------- text
def test_text_head():
    torch.manual_seed(0)
    head = TextReconstructionHead(C, vocab_size=11)
    h = torch.randn(2, 4, C)
    ids = torch.tensor([[3, 4, 5, 0], [7, 8, 0, 0]])
    logits = head.linear(h)  # (2, 4, 11)
    rec = head.predict(h)
    assert rec.shape == (2, 4) and torch.equal(rec, logits.argmax(-1))
    nll = -logits.log_softmax(-1).gather(-1, ids[..., None])[..., 0]  # (2, 4)
    torch.testing.assert_close(head.errors(h, {"input_ids": ids}), nll)  # every token scored
    select = ids != 0
    err = head.errors(h, {"input_ids": ids}, select)
    torch.testing.assert_close(err, nll * select)
    assert torch.all(err[~select] == 0)
    fixed = head.replace({"input_ids": ids, "attention_mask": select}, rec, 1)
    assert torch.equal(fixed["input_ids"][:, 1], rec[:, 1]) and fixed["input_ids"].dtype == ids.dtype
    assert torch.equal(fixed["input_ids"][:, [0, 2, 3]], ids[:, [0, 2, 3]])


# ---------------------------------------------------------------------------- one interface
@pytest.mark.parametrize("kind", ["table", "sequence", "text"])
def test_setting_a_token_to_its_reconstruction_lowers_its_error(kind):
    """predict -> replace -> errors: the token then holds what the head expects, the lowest error."""
    torch.manual_seed(0)
    h = torch.randn(3, 4, C)
    if kind == "table":
        head, t = TableReconstructionHead(C, 2, [5, 5]), 3
        inputs = {"x_num": torch.randn(3, 2), "x_cat": torch.randint(0, 5, (3, 2))}
    elif kind == "sequence":
        head, t = SequenceReconstructionHead(C, 2), 1
        inputs = {"x_seq": torch.randn(3, 4, 2)}
    else:
        head, t = TextReconstructionHead(C, 9), 2
        inputs = {"input_ids": torch.randint(1, 9, (3, 4))}
    before = head.errors(h, inputs)
    after = head.errors(h, head.replace(inputs, head.predict(h), t))
    assert torch.all(after[:, t] <= before[:, t] + 1e-6)
    others = [k for k in range(4) if k != t]
    torch.testing.assert_close(after[:, others], before[:, others])
    if kind == "sequence":
        torch.testing.assert_close(after[:, t], torch.zeros(3))
    if kind != "sequence":
        logits = (head.cat_linears[1] if kind == "table" else head.linear)(h[:, t])
        torch.testing.assert_close(after[:, t], -logits.log_softmax(-1).max(-1).values)


def test_grouped_table_head_reads_each_column_off_its_token():
    from sktransformer.nn import column_tokens

    torch.manual_seed(0)
    token = column_tokens(9, 4)  # numeric columns 0-6, categorical 7-8
    head = TableReconstructionHead(C, 7, [3, 2], token_of_column=token)
    h = torch.randn(5, 4, C)
    expected = (h[:, token[:7]] * head.num_weight).sum(-1) + head.num_bias  # (5, 7)
    rec = head.predict(h)
    torch.testing.assert_close(rec[:, :7], expected)
    torch.testing.assert_close(rec[:, 7], head.cat_linears[0](h[:, token[7]]).argmax(-1).float())
    torch.testing.assert_close(rec[:, 8], head.cat_linears[1](h[:, token[8]]).argmax(-1).float())
