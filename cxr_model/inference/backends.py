"""Inference backends. Each takes preprocessed arrays and returns the network's raw outputs.

`OnnxBackend` (default, no torch) runs the exported graph on ONNX Runtime.
`cxr_model.training.torch_backend.TorchBackend` runs the PyTorch network (a cross-check).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxr_model.errors import ModelError
from cxr_model.inference.card import ONNX_NAME, WEIGHTS_NAME, ModelCard


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
    fused, image, text, cam, features, ood, population = (np.asarray(o, dtype=np.float32)
                                                          for o in outputs)
    return RawOutputs(fused[:, 0], image[:, 0], text[:, 0], cam, features, ood[:, 0],
                      population[:, 0])


class OnnxBackend:
    """ONNX Runtime session over `model.onnx` and the weights it points into (both verified)."""

    name = "onnx"

    def __init__(self, card: ModelCard, threads: int = 2) -> None:
        import onnxruntime as ort

        path = card.verified_file(ONNX_NAME)
        card.verified_file(WEIGHTS_NAME)  # the graph reads its weights from this file
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"])
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
