"""Content-addressed embedding cache: each distinct text is run through a model once.

A vector is stored under ``namespace / text`` where the namespace is a hash of the model's
fingerprint (a hash of its weights and tokenizer) and of every setting that changes the output
(pooling, normalisation, max_length, backend, ...), and the text key is a hash of the text. A
changed model or setting is a new namespace, so it never returns stale vectors.

The store lives in the process (module level, so it survives ``clone``: GridSearchCV clones the
embedder for every candidate and fold) and optionally in a folder shared by several processes
(``cache="folder"``): vectors are written there in shard files, and computing the missing ones is
done under a file lock (:class:`filelock.FileLock` on ``<folder>/<namespace>/.lock``), so workers
of ``n_jobs=2`` never encode the same text twice.
"""

import hashlib
import json
import os
import threading
import uuid
from collections import OrderedDict

import numpy as np

#: Most bytes of vectors the in-process store keeps; the least recently used namespaces go first.
MAX_MEMORY_BYTES = 1 << 30

_KEY_BYTES = 16
_STORE = OrderedDict()  # namespace -> {text key (bytes): vector (dim,) float32}
_LOADED_SHARDS = {}  # (folder, namespace) -> set of shard file names already read
_LOCK = threading.RLock()


def fingerprint_module(module, extra=""):
    """A hex digest of a torch module's parameters and buffers (names, dtypes, shapes, values)."""
    import torch

    h = hashlib.blake2b(digest_size=20)
    h.update(type(module).__name__.encode())
    h.update(str(extra).encode())
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        if t.dtype == torch.bfloat16:  # NumPy has no bfloat16
            t = t.float()
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def namespace(fingerprint, settings):
    """The namespace of a model fingerprint and a dict of output-changing settings."""
    payload = json.dumps({"model": fingerprint, **settings}, sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def text_keys(texts):
    """One 16-byte key per text (a hash of its UTF-8 bytes)."""
    return [hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=_KEY_BYTES).digest() for t in texts]


def _memory(ns):
    store = _STORE.get(ns)
    if store is None:
        store = _STORE[ns] = {}
    _STORE.move_to_end(ns)
    return store


def _evict():
    total = sum(len(s) * next(iter(s.values())).nbytes for s in _STORE.values() if s)
    while total > MAX_MEMORY_BYTES and _STORE:
        ns, store = _STORE.popitem(last=False)
        if store:
            total -= len(store) * next(iter(store.values())).nbytes
        for key in [k for k in _LOADED_SHARDS if k[1] == ns]:
            del _LOADED_SHARDS[key]


def clear():
    """Empty the in-process store (folders are left as they are)."""
    with _LOCK:
        _STORE.clear()
        _LOADED_SHARDS.clear()


class EmbeddingCache:
    """Look up and store vectors of one namespace, in memory and optionally in ``folder``.

    Parameters
    ----------
    ns : str
        The namespace (see :func:`namespace`).
    folder : str or None
        Folder shared by processes; ``None`` keeps vectors in this process only.
    """

    def __init__(self, ns, folder=None):
        self.ns = ns
        self.dir = None if folder is None else os.path.join(os.fspath(folder), ns)

    def _read_shards(self, store):
        """Read shard files of the folder not read yet into ``store``."""
        if self.dir is None or not os.path.isdir(self.dir):
            return
        seen = _LOADED_SHARDS.setdefault((self.dir, self.ns), set())
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".npz") or name in seen:
                continue
            with np.load(os.path.join(self.dir, name)) as shard:
                keys, vectors = shard["keys"], shard["vectors"]
            for key, vec in zip(keys, vectors):
                store.setdefault(key.tobytes(), vec)
            seen.add(name)

    def _write_shard(self, keys, vectors):
        os.makedirs(self.dir, exist_ok=True)
        name = f"{uuid.uuid4().hex}.npz"
        tmp = os.path.join(self.dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES),
                     vectors=vectors)
        os.replace(tmp, os.path.join(self.dir, name))  # atomic: readers see whole shards only
        _LOADED_SHARDS.setdefault((self.dir, self.ns), set()).add(name)

    def get_or_compute(self, texts, compute, out):
        """Fill ``out`` (n, dim) with the vectors of ``texts``; ``compute(list of str) -> (m, dim)``
        is called once, on the distinct texts found nowhere. Returns the number of texts computed."""
        keys = text_keys(texts)
        with _LOCK:
            store = _memory(self.ns)
            self._read_shards(store)
            missing = self._fill(keys, store, out)
        if not missing:
            return 0
        if self.dir is None:
            return self._compute(texts, keys, missing, compute, out, store)
        from filelock import FileLock

        os.makedirs(self.dir, exist_ok=True)
        with FileLock(os.path.join(self.dir, ".lock")):  # one process computes at a time
            with _LOCK:
                self._read_shards(store)  # what another process wrote while we waited
                missing = self._fill(keys, store, out, rows=missing)
            return self._compute(texts, keys, missing, compute, out, store) if missing else 0

    @staticmethod
    def _fill(keys, store, out, rows=None):
        """Copy stored vectors into ``out``; return the rows still missing."""
        missing = []
        for i in range(len(keys)) if rows is None else rows:
            vec = store.get(keys[i])
            if vec is None:
                missing.append(i)
            else:
                out[i] = vec
        return missing

    def _compute(self, texts, keys, missing, compute, out, store):
        first = {}  # distinct texts, first row of each
        for i in missing:
            first.setdefault(keys[i], i)
        rows = list(first.values())
        vectors = np.asarray(compute([texts[i] for i in rows]), dtype=out.dtype)  # (m, dim)
        new_keys = [keys[i] for i in rows]
        with _LOCK:
            for key, vec in zip(new_keys, vectors):
                store[key] = vec
            if self.dir is not None:
                self._write_shard(new_keys, vectors)
            _evict()
        by_key = dict(zip(new_keys, vectors))
        for i in missing:
            out[i] = by_key[keys[i]]
        return len(rows)
