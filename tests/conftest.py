import os

import numpy as np
import pytest
import torch

# Several pytest-xdist workers share 2 cores: one torch thread each avoids oversubscription.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

SHARED_DATA = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data")

# Tiny settings that keep each fit well under a second.
TINY = dict(d_model=16, n_heads=2, n_layers=1, dim_feedforward=32, batch_size=32, random_state=0)


@pytest.fixture
def tiny():
    return dict(TINY)


@pytest.fixture(scope="session")
def text_data():
    from sktransformer.datasets import make_reviews

    return make_reviews(300, noise=0.0, random_state=0)


@pytest.fixture(scope="session")
def table_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture(scope="session")
def sequence_data():
    rng = np.random.RandomState(0)
    n, T = 160, 12
    y = rng.randint(0, 2, n)
    t = np.linspace(0, 2 * np.pi, T)
    X = np.stack([np.sin(t * (1 + y_i)) for y_i in y])[:, :, None] + 0.1 * rng.normal(size=(n, T, 1))
    return X.astype(np.float32), y


# ---------------------------------------------------------------------- pretrained backbones (offline)
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may be downloaded from a model hub in the tests
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def build_tiny_bert(folder, texts, hidden=32, layers=2, seed=0):
    """Save a tiny randomly initialised BERT and a WordPiece tokenizer fitted on ``texts`` in ``folder``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials,
                                                             show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=64)
    fast.save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=2 * hidden, max_position_embeddings=64)
    BertModel(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, text_data):
    """A tiny random BERT + tokenizer saved in a temporary folder (the pretrained code paths, offline)."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), list(text_data[0]))
