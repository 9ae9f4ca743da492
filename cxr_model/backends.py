"""Inference backends. Both take preprocessed arrays and return the network's raw outputs.

`OnnxBackend` (default, no torch) runs the exported graph on ONNX Runtime.
`TorchBackend` runs the PyTorch network from safetensors and computes Grad-CAM with
pytorch-grad-cam, as a cross-check of the closed form the ONNX graph exports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxr_model.card import ONNX_NAME, WEIGHTS_NAME, ModelCard
from cxr_model.errors import ModelError


@dataclass(frozen=True)
class RawOutputs:
    """Network outputs for a batch: logits (B,), raw CAM (B,h,w), features (B,512), OOD (B,)."""

    fused_logit: np.ndarray
    image_logit: np.ndarray
    text_logit: np.ndarray
    cam: np.ndarray
    features: np.ndarray
    ood_score: np.ndarray


def _raw(outputs) -> RawOutputs:
    fused, image, text, cam, features, ood = (np.asarray(o, dtype=np.float32) for o in outputs)
    return RawOutputs(fused[:, 0], image[:, 0], text[:, 0], cam, features, ood[:, 0])


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
        return _raw(self.session.run(None, feeds))


class TorchBackend:
    """PyTorch network from `weights.safetensors` (requires the `train` extra)."""

    name = "torch"

    def __init__(self, card: ModelCard, threads: int = 2) -> None:
        try:
            import torch
            from safetensors.torch import load_file
        except ImportError as exc:
            raise ModelError("the torch backend needs the 'train' extra (torch, safetensors)"
                             ) from exc
        from cxr_model.network import FusionNet

        path = card.verified_file(WEIGHTS_NAME)
        torch.set_num_threads(threads)
        arch = card.data["architecture"]
        self.net = FusionNet(arch["text_mode"], arch["vocab_size"], arch["max_len"],
                             arch.get("text_hidden", 128), arch.get("text_dim", 64))
        self.net.load_state_dict(load_file(str(path)))
        self.net.eval()
        self._torch = torch

    def run(self, images: np.ndarray, text: np.ndarray, has_report: np.ndarray) -> RawOutputs:
        torch = self._torch
        with torch.inference_mode():
            outputs = self.net(torch.from_numpy(images), torch.from_numpy(text),
                               torch.from_numpy(has_report))
        return _raw(o.numpy() for o in outputs)

    def gradcam(self, image: np.ndarray, text: np.ndarray, has_report: np.ndarray,
                target: str) -> np.ndarray:
        """pytorch-grad-cam's GradCAM on layer4 for one image -> (S,S) in [0,1]."""
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget

        from cxr_model.network import FusedLogitOnly

        torch = self._torch
        wrapper = FusedLogitOnly(self.net, torch.from_numpy(text), torch.from_numpy(has_report))
        category = 1 if target == "abnormal" else 0
        with GradCAM(model=wrapper, target_layers=[self.net.backbone.layer4[-1]]) as cam:
            result = cam(input_tensor=torch.from_numpy(image),
                         targets=[BinaryClassifierOutputTarget(category)])
        return np.asarray(result[0], dtype=np.float32)


BACKENDS = {"onnx": OnnxBackend, "torch": TorchBackend}
