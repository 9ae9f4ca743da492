"""The PyTorch backend: the training network from safetensors, and pytorch-grad-cam's GradCAM
as the cross-check of the closed-form CAM the ONNX graph exports (needs the `train` extra)."""

from __future__ import annotations

import numpy as np

from cxr_model.errors import ModelError
from cxr_model.inference.backends import RawOutputs, raw_outputs
from cxr_model.inference.card import WEIGHTS_NAME, ModelCard
from cxr_model.vocabulary import BackendName, Label, Precision

#: Buffers a model folder written before they existed may lack (zero = the guard never fires).
OPTIONAL_BUFFERS = ("population_weight", "population_bias")


def load_network(card: ModelCard):
    """The FusionNet of a model folder, weights verified against the card, in eval mode."""
    try:
        from safetensors.torch import load_file
    except ImportError as exc:
        raise ModelError(
            "loading the network needs the 'train' extra (torch, safetensors)"
        ) from exc
    from cxr_model.training.network import FusionNet

    arch = card.data["architecture"]
    net = FusionNet(
        arch["text_mode"],
        arch["vocab_size"],
        arch["max_len"],
        arch.get("text_hidden", 128),
        arch.get("text_dim", 64),
    )
    missing, unexpected = net.load_state_dict(
        load_file(str(card.verified_file(WEIGHTS_NAME))), strict=False
    )
    wrong = [k for k in missing if k not in OPTIONAL_BUFFERS] + list(unexpected)
    if wrong:
        raise ModelError(f"weights do not fit the network ({', '.join(wrong[:5])})", card.directory)
    return net.eval()


class TorchBackend:
    """PyTorch network from `weights.safetensors` (requires the `train` extra)."""

    name = BackendName.TORCH
    warning = None

    def __init__(self, card: ModelCard, threads: int = 2, precision: str = Precision.AUTO) -> None:
        if precision not in (Precision.AUTO, Precision.FP32):
            raise ModelError("the torch backend runs fp32 only; choose the onnx backend for int8")
        self.precision = Precision.FP32
        try:
            import torch
        except ImportError as exc:
            raise ModelError(
                "the torch backend needs the 'train' extra (torch, safetensors)"
            ) from exc
        torch.set_num_threads(threads)
        self.net = load_network(card)
        self._torch = torch

    def run(self, images: np.ndarray, text: np.ndarray, has_report: np.ndarray) -> RawOutputs:
        torch = self._torch
        with torch.inference_mode():
            outputs = self.net(
                torch.from_numpy(images), torch.from_numpy(text), torch.from_numpy(has_report)
            )
        return raw_outputs(o.numpy() for o in outputs)

    def gradcam(
        self, image: np.ndarray, text: np.ndarray, has_report: np.ndarray, target: str
    ) -> np.ndarray:
        """pytorch-grad-cam's GradCAM on layer4 for one image -> (S,S) in [0,1]."""
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget

        from cxr_model.training.network import FusedLogitOnly

        torch = self._torch
        wrapper = FusedLogitOnly(self.net, torch.from_numpy(text), torch.from_numpy(has_report))
        category = 1 if target == Label.ABNORMAL else 0
        with GradCAM(model=wrapper, target_layers=[self.net.backbone.layer4[-1]]) as cam:
            result = cam(
                input_tensor=torch.from_numpy(image),
                targets=[BinaryClassifierOutputTarget(category)],
            )
        return np.asarray(result[0], dtype=np.float32)
