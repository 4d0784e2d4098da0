"""Run a fitted :class:`TransformerEmbedder`'s model with ONNX Runtime (``backend="onnx"`` / ``"onnx-int8"``).

The model (backbone + pooling + normalisation) is exported once per process with ``torch.onnx``
(dynamic batch and sequence axes), its graph is fused by ONNX Runtime's transformer optimizer
(attention, LayerNorm, GELU, ...) when the backbone is BERT-like, and, for ``"onnx-int8"``, the
weights of its matrix multiplications are quantized to int8 per output channel. Activations are
quantized per batch at run time; on CPUs without VNNI (AVX2 only) int8 products can saturate
16-bit sums, so the weights use 7 bits there (``reduce_range``), which keeps the vectors within
cosine ~0.99 of float32.

``onnxruntime`` and ``onnx`` are optional: ``pip install sktransformer[fast]``.
"""

import os
import tempfile
import threading

import numpy as np

_SESSIONS = {}  # (fingerprint, settings) -> InferenceSession, shared by clones in a process
_LOCK = threading.Lock()


def _require():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"backend='onnx' / 'onnx-int8' needs onnxruntime and onnx ({exc.name} is missing): "
            "pip install 'sktransformer[fast]', or use backend='torch'."
        ) from None


def cpu_has_vnni():
    """True when the CPU has int8 dot-product instructions (AVX512-VNNI, AVX-VNNI or AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})
    except OSError:
        pass
    return False


class _Wrapper:
    """A plain ``(input_ids, attention_mask) -> sentence_embedding`` module for the exporter."""

    @staticmethod
    def build(model):
        import torch

        class Export(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask):
                return self.inner(input_ids=input_ids, attention_mask=attention_mask)

        return Export(model).eval()


def export_onnx(model, path):
    """Export ``model`` (``input_ids``, ``attention_mask`` -> (B, C)) to ``path`` on the CPU."""
    import copy
    import warnings

    import torch

    cpu = copy.deepcopy(model).float().cpu().eval()
    hf = getattr(getattr(cpu, "backbone", None), "model", None)
    if hf is not None and hasattr(hf, "set_attn_implementation"):
        try:  # the graph ONNX Runtime's fusions recognise
            hf.set_attn_implementation("eager")
        except Exception:
            pass
    wrapper = _Wrapper.build(cpu)
    ids = torch.ones(2, 8, dtype=torch.long)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[1, 5:] = False  # traced with padding, so no "all ones -> no mask" shortcut is baked in
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, (ids, mask), path, input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"], opset_version=17, dynamo=False,
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "sentence_embedding": {0: "batch"}},
        )


def _fuse(path, out_path, model):
    """ONNX Runtime's transformer fusions for a BERT-like backbone; False when they do not apply."""
    config = getattr(getattr(getattr(model, "backbone", None), "model", None), "config", None)
    if config is None or getattr(config, "model_type", None) not in ("bert", "roberta", "distilbert", "xlm-roberta",
                                                                     "electra", "mpnet"):
        return False
    from onnxruntime.transformers import optimizer

    kind = "bert" if config.model_type != "distilbert" else "bert"
    opt = optimizer.optimize_model(path, model_type=kind, num_heads=int(config.num_attention_heads),
                                   hidden_size=int(config.hidden_size), opt_level=1, use_gpu=False)
    opt.save_model_to_file(out_path)
    return True


def _quantize(path, out_path):
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(path, out_path, weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=not cpu_has_vnni(), op_types_to_quantize=["MatMul"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def build_session(model, int8=False, n_threads=None):
    """Export, fuse (and quantize) ``model``; return an ``onnxruntime.InferenceSession``."""
    _require()
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "model.onnx")
        export_onnx(model, raw)
        current = raw
        fused = os.path.join(tmp, "fused.onnx")
        try:
            if _fuse(current, fused, model):
                current = fused
        except Exception:  # an architecture the optimizer does not know: run the plain graph
            pass
        if int8:
            quant = os.path.join(tmp, "int8.onnx")
            _quantize(current, quant)
            current = quant
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if n_threads:
            options.intra_op_num_threads = int(n_threads)
        with open(current, "rb") as f:
            data = f.read()
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def onnx_runner(est):
    """A ``batch dict -> (B, C) float32`` function backed by an ONNX Runtime session."""
    import torch

    int8 = est.settings_["backend"] == "onnx-int8"
    key = (est.fingerprint_, tuple(sorted(est.settings_.items())))
    with _LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = build_session(est.net_.module_, int8=int8, n_threads=torch.get_num_threads())
            if len(_SESSIONS) > 4:
                _SESSIONS.clear()
            _SESSIONS[key] = session

    def run(batch):
        feeds = {k: np.ascontiguousarray(batch[k]) for k in ("input_ids", "attention_mask")}
        (out,) = session.run(None, feeds)
        return np.asarray(out, dtype=np.float32)

    return run
