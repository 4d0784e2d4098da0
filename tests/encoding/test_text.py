import pickle

import numpy as np
import pytest

from sktransformer.encoding import TextEncoder

CORPUS = [
    "the movie was great and the acting was great",
    "the movie was terrible , the plot was terrible",
    "a great film with a great cast",
    "the film is boring and the movie is long",
    "an unforgettable movie , great music",
    "terrible acting in a boring film",
] * 5


@pytest.fixture(scope="module", params=["wordpiece", "bpe"])
def encoder(request):
    return TextEncoder(max_length=16, vocab_size=300, algorithm=request.param, min_frequency=1).fit(CORPUS)


def test_special_tokens_and_vocabulary(encoder):
    tok = encoder.tokenizer_
    assert (encoder.pad_id_, encoder.unk_id_) == (0, 1)
    assert tok.id_to_token(encoder.cls_id_) == "[CLS]"
    assert tok.id_to_token(encoder.mask_id_) == "[MASK]"
    assert encoder.vocab_size_ == tok.get_vocab_size() <= 300
    # a frequent word is one learned token, not [UNK]
    out = encoder.transform(["movie"])
    assert out["input_ids"].tolist() == [[tok.token_to_id("movie")]]
    assert out["input_ids"][0, 0] > 4
    assert encoder.tokens(["Great MOVIE"]) == [["great", "movie"]]  # lowercased


def test_shapes_dtypes_and_dynamic_length(encoder):
    texts = ["great movie", "the movie was great and the acting was great", "film"]
    out = encoder.transform(texts)
    ids, mask = out["input_ids"], out["attention_mask"]
    assert ids.dtype == np.int64 and mask.dtype == np.bool_
    assert ids.shape == mask.shape == (3, 9)  # the longest text has 9 word tokens
    assert mask.sum(axis=1).tolist() == [2, 9, 1]
    assert (ids[~mask] == encoder.pad_id_).all()
    assert (ids[mask] != encoder.pad_id_).all()
    assert encoder.n_truncated_ == 0
    assert encoder.transform(["film", "great"])["input_ids"].shape == (2, 1)


def test_truncation_counts_and_cuts(encoder):
    long_text = " ".join(["great movie"] * 20)  # 40 tokens
    out = encoder.transform([long_text, "film", long_text + " film"])
    assert out["input_ids"].shape == (3, 16)
    assert out["attention_mask"].sum(axis=1).tolist() == [16, 1, 16]
    assert encoder.n_truncated_ == 2
    exactly = " ".join(["great movie"] * 8)  # exactly max_length tokens: not truncated
    out = encoder.transform([exactly])
    assert out["input_ids"].shape == (1, 16) and encoder.n_truncated_ == 0
    # the kept tokens are the first ones
    assert encoder.tokens([long_text])[0] == ["great", "movie"] * 8


def test_empty_text_gives_one_unk(encoder):
    out = encoder.transform(["", "   ", "great film"])
    assert out["input_ids"][:2, 0].tolist() == [encoder.unk_id_] * 2
    assert out["attention_mask"].sum(axis=1).tolist() == [1, 1, 2]
    out = encoder.transform([""])
    assert out["input_ids"].tolist() == [[encoder.unk_id_]]
    assert out["attention_mask"].tolist() == [[True]]
    assert encoder.tokens(["", "film"]) == [["[UNK]"], ["film"]]


def test_special_token_text_is_plain_text(encoder):
    ids = encoder.transform(["great [PAD] [MASK] film"])["input_ids"][0]
    assert encoder.pad_id_ not in ids.tolist() and encoder.mask_id_ not in ids.tolist()


def test_tokens_match_ids(encoder):
    texts = ["The acting was unforgettable!", "boring", "zzz qqq"]
    out = encoder.transform(texts)
    tokens = encoder.tokens(texts)
    vocab = encoder.tokenizer_.get_vocab()
    for row, mask, toks in zip(out["input_ids"], out["attention_mask"], tokens):
        assert [vocab[t] for t in toks] == row[mask].tolist()


def test_pickle_round_trip(encoder):
    texts = CORPUS[:6] + ["", "unseen words here", "great [PAD]"]
    before = encoder.transform(texts)
    clone = pickle.loads(pickle.dumps(encoder))
    after = clone.transform(texts)
    np.testing.assert_array_equal(before["input_ids"], after["input_ids"])
    np.testing.assert_array_equal(before["attention_mask"], after["attention_mask"])
    assert clone.tokens(texts) == encoder.tokens(texts)


def test_accepts_arrays_and_series_without_mutating():
    pd = pytest.importorskip("pandas")
    series = pd.Series(CORPUS)
    copy = series.copy()
    enc = TextEncoder(max_length=8, min_frequency=1).fit(series)
    a = enc.transform(series)["input_ids"]
    b = enc.transform(np.array(CORPUS, dtype=object))["input_ids"]
    np.testing.assert_array_equal(a, b)
    pd.testing.assert_series_equal(series, copy)


def test_lowercase_false_keeps_case():
    enc = TextEncoder(lowercase=False, min_frequency=1).fit(["Great film", "great Film"] * 3)
    assert enc.tokens(["Great great"]) == [["Great", "great"]]


def test_bad_parameters_and_input():
    with pytest.raises(ValueError, match="algorithm"):
        TextEncoder(algorithm="unigram").fit(CORPUS)
    with pytest.raises(ValueError, match="max_length"):
        TextEncoder(max_length=0).fit(CORPUS)
    with pytest.raises(TypeError, match="single str"):
        TextEncoder().fit("just one string")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        TextEncoder().fit(["ok", None])
    with pytest.raises(RuntimeError, match="not fitted"):
        TextEncoder().transform(["a"])


@pytest.mark.parametrize("algorithm", ["wordpiece", "bpe"])
def test_training_is_deterministic(algorithm):
    """Two fits on the same texts give the same vocabulary and ids (tokenizers' own
    WordPieceTrainer does not: its ids follow hash-map order)."""
    from sktransformer.datasets import make_reviews

    texts = make_reviews(400, random_state=0)[0]
    a = TextEncoder(algorithm=algorithm, vocab_size=300).fit(texts)
    b = TextEncoder(algorithm=algorithm, vocab_size=300).fit(texts)
    assert a.tokenizer_.get_vocab() == b.tokenizer_.get_vocab()
    np.testing.assert_array_equal(a.transform(texts)["input_ids"], b.transform(texts)["input_ids"])
