"""Text -> subword ids: a tokenizer trained in ``fit`` with Hugging Face ``tokenizers``."""

from itertools import chain

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4, in this order
_ALGORITHMS = ("wordpiece", "bpe")


def _as_text_list(texts, name="texts"):
    """Return ``texts`` as a new list of ``str`` (the caller's object is never touched)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"{name} must be a sequence of strings (list, 1-D array, Series), got a single {type(texts).__name__}."
        )
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{i}] must be str, got {type(text).__name__}.")
    return texts


def right_pad(values, lengths, fill):
    """Rows laid end to end in ``values`` (an iterable of ints), ``lengths[i]`` in row ``i``, as a
    right-padded int64 array (n, L) filled with ``fill``, and its mask (n, L) bool; ``L`` is the
    longest row, at least 1."""
    n = len(lengths)
    width = max(int(lengths.max()) if n else 0, 1)
    mask = np.arange(width) < lengths[:, None]  # (n, L), right padding
    out = np.full((n, width), fill, dtype=np.int64)
    out[mask] = np.fromiter(values, dtype=np.int64, count=int(lengths.sum()))
    return out, mask


def _wordpiece_vocab(bpe_tokenizer, texts, vocab_size):
    """A WordPiece vocabulary read off a trained BPE tokenizer, the same on every run.

    Each word of ``texts`` is split by the BPE model; a piece that starts a word is kept as is,
    a piece inside a word gets the ``##`` continuation prefix. Every character of the alphabet is
    kept in both forms (so no word falls back to ``[UNK]``), then the most frequent pieces fill
    the vocabulary, ties broken by the piece itself.
    """
    from collections import Counter

    counts = Counter()
    for encoding in bpe_tokenizer.encode_batch(texts):
        previous = None
        for token, word in zip(encoding.tokens, encoding.word_ids):
            counts[token if word != previous else "##" + token] += 1
            previous = word
    alphabet = sorted(t for t in bpe_tokenizer.get_vocab() if len(t) == 1)
    vocab = list(SPECIAL_TOKENS) + alphabet + ["##" + c for c in alphabet]
    seen = set(vocab)
    for token, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if token not in seen:
            vocab.append(token)
            seen.add(token)
    return {token: i for i, token in enumerate(vocab)}


def _tokenizer_as_json(state):
    """An encoder's state with its tokenizer as the tokenizers library's JSON (what a Tokenizer
    pickles as, and what libraries that refuse opaque objects, such as skops, can store)."""
    state = dict(state)
    if isinstance(state.get("tokenizer_"), Tokenizer):
        state["tokenizer_"] = state["tokenizer_"].to_str()
    return state


def _tokenizer_from_json(state):
    state = dict(state)
    if isinstance(state.get("tokenizer_"), str):
        state["tokenizer_"] = Tokenizer.from_str(state["tokenizer_"])
    return state


class TextEncoder:
    """Encode raw strings as padded subword ids and a padding mask.

    ``fit`` trains a WordPiece or BPE tokenizer on the texts (in memory, offline). ``transform`` returns
    ``{"input_ids", "attention_mask"}``, padded to the longest text of the call (at most ``max_length``).
    No special tokens are added around the text: the model adds its own ``[CLS]``.

    Parameters
    ----------
    max_length : int, default=128
        Maximum number of tokens per text; longer texts keep their first ``max_length`` tokens.
    vocab_size : int, default=8000
        Target vocabulary size of the trained tokenizer (special tokens included). The learned
        vocabulary may be smaller on small corpora; see ``vocab_size_``.
    algorithm : {"wordpiece", "bpe"}, default="wordpiece"
        Subword model to train.
    lowercase : bool, default=True
        Normalize with NFD, lowercasing and accent stripping. When False, only NFC normalization.
    min_frequency : int, default=2
        Minimum pair frequency for a merge to be learned.

    Attributes
    ----------
    tokenizer_ : tokenizers.Tokenizer
        The trained tokenizer (truncation at ``max_length`` configured; padding is done in NumPy).
    vocab_size_ : int
        Actual vocabulary size, special tokens included.
    pad_id_, unk_id_, cls_id_, sep_id_, mask_id_ : int
        Ids of ``[PAD]`` (always 0), ``[UNK]`` (1), ``[CLS]``, ``[SEP]`` and ``[MASK]``.
    n_truncated_ : int
        Number of texts in the last ``transform`` call longer than ``max_length`` tokens.

    Examples
    --------
    >>> enc = TextEncoder(max_length=8, min_frequency=1).fit(["a good film", "a bad film"])
    >>> out = enc.transform(["a good film", ""])
    >>> out["input_ids"].shape, out["attention_mask"].tolist()
    ((2, 3), [[True, True, True], [True, False, False]])
    >>> enc.tokens(["a good film"])
    [['a', 'good', 'film']]
    """

    def __init__(self, max_length=128, vocab_size=8000, algorithm="wordpiece", lowercase=True, min_frequency=2):
        self.max_length = max_length
        self.vocab_size = vocab_size
        self.algorithm = algorithm
        self.lowercase = lowercase
        self.min_frequency = min_frequency

    def _check_params(self):
        if self.algorithm not in _ALGORITHMS:
            raise ValueError(f"algorithm must be one of {_ALGORITHMS}, got {self.algorithm!r}.")
        for name in ("max_length", "vocab_size", "min_frequency"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if self.vocab_size < len(SPECIAL_TOKENS):
            raise ValueError(f"vocab_size must be at least {len(SPECIAL_TOKENS)}, got {self.vocab_size}.")

    def _build(self):
        """An untrained tokenizer and its trainer."""
        common = dict(
            vocab_size=int(self.vocab_size),
            min_frequency=int(self.min_frequency),
            special_tokens=SPECIAL_TOKENS,
            show_progress=False,
        )
        # Both algorithms start from a BPE trainer without a continuation prefix: its merges, and so
        # the vocabulary, are the same on every run (tokenizers' WordPieceTrainer assigns ids and
        # breaks ties in hash-map order, which changes from process to process).
        tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
        trainer = trainers.BpeTrainer(**common)
        if self.lowercase:
            tokenizer.normalizer = normalizers.Sequence(
                [normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()]
            )
        else:
            tokenizer.normalizer = normalizers.NFC()
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()  # whitespace + each punctuation char
        return tokenizer, trainer

    def fit(self, texts):
        """Train the subword tokenizer on ``texts``.

        Parameters
        ----------
        texts : sequence of str
            Training texts.

        Returns
        -------
        self : TextEncoder
        """
        self._check_params()
        texts = _as_text_list(texts)
        tokenizer, trainer = self._build()
        tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
        if tokenizer.get_vocab_size() <= len(SPECIAL_TOKENS):
            raise ValueError(
                "empty vocabulary: the training texts hold no token (every text is empty or white space); "
                "pass texts with words in them."
            )
        if self.algorithm == "wordpiece":
            tokenizer.model = models.WordPiece(
                vocab=_wordpiece_vocab(tokenizer, texts, int(self.vocab_size)), unk_token="[UNK]"
            )
        ids = {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}
        if ids["[PAD]"] != 0 or ids["[UNK]"] != 1:  # the trainer puts special tokens first, in order
            raise RuntimeError(f"unexpected special token ids {ids}.")
        # Text that happens to contain "[PAD]" or "[MASK]" is split like any other text, never read as
        # a special token. Truncation keeps the cut-off part in ``Encoding.overflowing``: that counts
        # truncated texts without a second tokenization pass.
        tokenizer.encode_special_tokens = True
        tokenizer.enable_truncation(max_length=int(self.max_length), stride=0)
        self.tokenizer_ = tokenizer
        self.vocab_size_ = tokenizer.get_vocab_size()
        self.pad_id_ = ids["[PAD]"]
        self.unk_id_ = ids["[UNK]"]
        self.cls_id_ = ids["[CLS]"]
        self.sep_id_ = ids["[SEP]"]
        self.mask_id_ = ids["[MASK]"]
        return self

    def __getstate__(self):
        return _tokenizer_as_json(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(_tokenizer_from_json(state))
        if "tokenizer_" in state:  # this flag is not part of the tokenizer's JSON
            self.tokenizer_.encode_special_tokens = True

    def _check_fitted(self):
        if not hasattr(self, "tokenizer_"):
            raise RuntimeError("This TextEncoder is not fitted yet; call fit(texts) first.")

    def _encode(self, texts):
        """Encode a batch: ids (n, L) int64, mask (n, L) bool, and the Encoding objects."""
        encodings = self._encodings(texts)
        ids = [e.ids for e in encodings]  # ragged, each at most max_length long
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        input_ids, attention_mask = right_pad(chain.from_iterable(ids), lengths, self.pad_id_)
        empty = ~attention_mask[:, 0]  # right padding: a row with no real token starts with padding
        input_ids[empty, 0] = self.unk_id_
        attention_mask[empty, 0] = True
        return input_ids, attention_mask, encodings

    def encode_ragged(self, texts):
        """Subword ids per text (a list of lists, each at most ``max_length`` long, no special
        tokens) and which texts were cut at ``max_length`` (a bool array)."""
        encodings = self._encodings(texts)
        return [e.ids for e in encodings], np.array([bool(e.overflowing) for e in encodings], dtype=bool)

    def _encodings(self, texts):
        """The tokenizer's encodings of ``texts``, without special tokens (the model adds its own
        [CLS]) and without offsets."""
        self._check_fitted()
        encode = getattr(self.tokenizer_, "encode_batch_fast", self.tokenizer_.encode_batch)
        return encode(_as_text_list(texts), add_special_tokens=False)

    def transform(self, texts):
        """Encode ``texts`` as padded subword ids.

        Parameters
        ----------
        texts : sequence of str
            Texts to encode.

        Returns
        -------
        batch : dict
            ``"input_ids"``: int64 array (n, L); ``"attention_mask"``: bool array (n, L), True on real
            tokens. ``L = min(max_length, longest tokenized text)``, at least 1. An empty text gets a
            single ``[UNK]`` token, so no row is all padding.
        """
        input_ids, attention_mask, encodings = self._encode(texts)
        self.n_truncated_ = sum(1 for e in encodings if e.overflowing)
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    def tokens(self, texts):
        """Token strings per text, as the model sees them (after truncation, without padding).

        Parameters
        ----------
        texts : sequence of str
            Texts to tokenize.

        Returns
        -------
        tokens : list of list of str
            ``tokens[i][j]`` is the token of ``transform(texts)["input_ids"][i, j]``.
        """
        input_ids, attention_mask, _ = self._encode(texts)
        id_to_token = self.tokenizer_.id_to_token
        return [[id_to_token(int(i)) for i in row[mask]] for row, mask in zip(input_ids, attention_mask)]


class PretrainedTextEncoder:
    """Encode raw strings with the tokenizer that came with a pretrained backbone.

    Unlike :class:`TextEncoder` nothing is learned: the tokenizer is read from the backbone's
    folder (its ``tokenizer.json``, or any tokenizer ``transformers`` can convert to a fast one)
    and kept in memory, so a pickled encoder needs no file. The tokenizer adds the model's own
    special tokens (``[CLS] ... [SEP]`` for BERT); texts longer than ``max_length`` tokens,
    special tokens included, keep their beginning.

    Parameters
    ----------
    tokenizer : tokenizers.Tokenizer
        A fast tokenizer (its padding is turned off: padding is done per batch, in NumPy).
    max_length : int
        Most tokens per text, special tokens included.
    pad_id : int
        Id of the padding token.
    mask_id : int or None, default=None
        Id of the mask token, when the tokenizer has one.

    Attributes
    ----------
    tokenizer_, vocab_size_, pad_id_, mask_id_, max_length
    n_truncated_ : int
        Texts of the last ``transform`` call that were longer than ``max_length`` tokens.
    """

    def __init__(self, tokenizer, max_length, pad_id=0, mask_id=None):
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=int(max_length), stride=0)
        self.tokenizer_ = tokenizer
        self.max_length = int(max_length)
        self.pad_id_ = int(pad_id)
        self.mask_id_ = None if mask_id is None else int(mask_id)
        self.vocab_size_ = tokenizer.get_vocab_size()

    @classmethod
    def from_folder(cls, path, max_length):
        """Read the tokenizer of the model saved in the local folder ``path``."""
        import json
        import os

        special = {}
        for name in ("special_tokens_map.json", "tokenizer_config.json"):
            file = os.path.join(path, name)
            if os.path.isfile(file):
                with open(file, encoding="utf-8") as f:
                    for key, value in json.load(f).items():
                        if key in ("pad_token", "mask_token") and key not in special:
                            special[key] = value["content"] if isinstance(value, dict) else value
        file = os.path.join(path, "tokenizer.json")
        if os.path.isfile(file):
            tokenizer = Tokenizer.from_file(file)
        else:  # a slow-only tokenizer (vocab.txt, sentencepiece): let transformers convert it
            from transformers import AutoTokenizer

            hf = AutoTokenizer.from_pretrained(path, local_files_only=True, use_fast=True)
            if not getattr(hf, "is_fast", False):
                raise ValueError(f"The tokenizer in {path!r} has no fast version; save one as tokenizer.json.")
            tokenizer = hf.backend_tokenizer
            special.setdefault("pad_token", hf.pad_token)
            special.setdefault("mask_token", hf.mask_token)
        pad = special.get("pad_token") or "[PAD]"
        pad_id = tokenizer.token_to_id(pad)
        mask_id = tokenizer.token_to_id(special.get("mask_token") or "[MASK]")
        return cls(tokenizer, max_length, pad_id=0 if pad_id is None else pad_id, mask_id=mask_id)

    def fit(self, texts=None):
        """Nothing to learn; returns self."""
        return self

    def __getstate__(self):
        return _tokenizer_as_json(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(_tokenizer_from_json(state))
        self.tokenizer_.no_padding()
        self.tokenizer_.enable_truncation(max_length=self.max_length, stride=0)

    def encode_ragged(self, texts):
        """Token ids per text (list of lists, special tokens added) and which texts were cut at
        ``max_length`` (a bool array)."""
        texts = _as_text_list(texts)
        encode = getattr(self.tokenizer_, "encode_batch_fast", self.tokenizer_.encode_batch)
        encodings = encode(texts, add_special_tokens=True)
        return [e.ids for e in encodings], np.array([bool(e.overflowing) for e in encodings], dtype=bool)

    def pad(self, ids):
        """Right-pad ragged ids: ``{"input_ids": int64 (n, L), "attention_mask": bool (n, L)}``."""
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        input_ids, attention_mask = right_pad(chain.from_iterable(ids), lengths, self.pad_id_)
        attention_mask[lengths == 0, 0] = True  # a tokenizer without special tokens: no all-padding row
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    def transform(self, texts):
        """Encode ``texts`` as right-padded ids and a mask (see :meth:`pad`)."""
        ids, cut = self.encode_ragged(texts)
        self.n_truncated_ = int(cut.sum())
        return self.pad(ids)

    def tokens(self, texts):
        """Token strings per text, special tokens included, after truncation."""
        ids, _ = self.encode_ragged(texts)
        return [[self.tokenizer_.id_to_token(i) for i in row] for row in ids]
