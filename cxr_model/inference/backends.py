"""Inference backends. Each takes preprocessed arrays and returns the network's raw outputs.

`OnnxBackend` (default, no torch) runs the exported graph on ONNX Runtime: the static int8
copy (`model_int8.onnx`) when the precision asks for it, else the fp32 graph.
`cxr_model.training.torch_backend.TorchBackend` runs the PyTorch network (a cross-check, fp32).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxr_model.errors import ModelError
from cxr_model.inference.card import INT8_NAME, ONNX_NAME, PRECISIONS, WEIGHTS_NAME, ModelCard


@dataclass(frozen=True)
class RawOutputs:
    """Network outputs for a batch: logits (B,), raw CAM (B,h,w), features (B,512) and the two
    out-of-distribution scores (B,): Mahalanobis distance and population detector logit."""

    fused_logit: np.ndarray
    image_logit: np.ndarray
    text_logit: np.ndarray
    cam: np.ndarray
    features: np.ndarray
    ood_score: np.ndarray
    population_score: np.ndarray


def raw_outputs(outputs) -> RawOutputs:
    """RawOutputs from the seven network outputs in OUTPUT_NAMES order (arrays or tensors)."""
    fused, image, text, cam, features, ood, population = (
        np.asarray(o, dtype=np.float32) for o in outputs
    )
    return RawOutputs(
        fused[:, 0], image[:, 0], text[:, 0], cam, features, ood[:, 0], population[:, 0]
    )


def choose_precision(card: ModelCard, precision: str) -> tuple[str, str | None]:
    """The precision that runs ("int8" or "fp32") and, for an int8 run the card's gates do not
    vouch for, why not (a warning to show). `auto` runs int8 only when its gates passed."""
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    unusable = card.int8_unusable()
    if precision == "auto":
        return ("fp32", None) if unusable else ("int8", None)
    if precision == "int8" and INT8_NAME not in card.data.get("files", {}):
        raise ModelError(
            "this model folder has no int8 model; make one with `cxr quantize` "
            "or choose the fp32 precision",
            card.directory,
        )
    return precision, unusable if precision == "int8" else None


def session_options(threads: int):
    """ONNX Runtime session options for both precisions (see benchmarks/RESULTS.md)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class OnnxBackend:
    """ONNX Runtime session over the graph of the chosen precision, verified against the card:
    int8 reads `model_int8.onnx` alone; fp32 reads `model.onnx` and the weights it points into.
    `precision` says which runs; `warning` why an int8 run is not vouched for by its gates."""

    name = "onnx"

    def __init__(self, card: ModelCard, threads: int = 2, precision: str = "auto") -> None:
        import onnxruntime as ort

        self.precision, self.warning = choose_precision(card, precision)
        if self.precision == "int8":
            path = card.verified_file(INT8_NAME)
        else:
            path = card.verified_file(ONNX_NAME)
            card.verified_file(WEIGHTS_NAME)  # the graph reads its weights from this file
        options = session_options(threads)
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"ONNX Runtime cannot load the model ({exc})", path) from exc

    def run(self, images: np.ndarray, text: np.ndarray, has_report: np.ndarray) -> RawOutputs:
        feeds = {"image": images, "text": text, "has_report": has_report}
        return raw_outputs(self.session.run(None, feeds))


BACKENDS = ("onnx", "torch")


def backend_class(name: str) -> type:
    """The backend class by name. The torch one lives with the training code (it needs torch)
    and is imported only when asked for, so inference never loads torch on its own."""
    if name == "onnx":
        return OnnxBackend
    if name == "torch":
        from cxr_model.training.torch_backend import TorchBackend

        return TorchBackend
    raise ModelError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
