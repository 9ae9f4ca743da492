"""Writing a model folder: safetensors weights, ONNX export and the model card (needs torch)."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from safetensors.torch import save_file

from cxr_model.card import ONNX_NAME, WEIGHTS_NAME, write_card
from cxr_model.network import OUTPUT_NAMES, FusionNet
from cxr_model.preprocess import InputSpec
from cxr_model.tokenizer import Tokenizer

INPUT_NAMES = ("image", "text", "has_report")


def export_onnx(net: FusionNet, path: Path, size: int, text_width: int) -> None:
    """Export the network to a single-file ONNX graph with a dynamic batch axis."""
    net = net.eval()
    example = (torch.zeros(2, 1, size, size), torch.zeros(2, text_width), torch.ones(2, 1))
    batch = torch.export.Dim("batch", min=1, max=1024)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # exporter notes on the shared batch axis
        torch.onnx.export(
            net, example, str(path), input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES), dynamic_shapes=({0: batch}, {0: batch}, {0: batch}),
            external_data=False, dynamo=True, verbose=False,
        )


def architecture(net: FusionNet, vocab_size: int, max_len: int) -> dict:
    """The architecture section of the model card."""
    return {
        "image": "resnet18 (torchvision, 1-channel conv1, no pretrained weights)",
        "text_mode": net.text_mode,
        "vocab_size": vocab_size,
        "max_len": max_len,
        "text_hidden": net.text_encoder[0].out_features,
        "text_dim": net.text_encoder[2].out_features,
        "fusion": "concat(pooled image 512, text 64) -> linear; separate linear image/text heads",
    }


def save_model(net: FusionNet, tokenizer: Tokenizer, spec: InputSpec, out_dir: Path, *,
               vocab_size: int, max_len: int, thresholds: dict[str, float],
               extra: dict | None = None) -> Path:
    """Write weights.safetensors, model.onnx and model_card.json into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(out_dir / WEIGHTS_NAME))
    width = int(net.text_encoder[0].in_features)
    export_onnx(net, out_dir / ONNX_NAME, spec.size, width)
    card = {
        "name": "CXR Desktop fusion model",
        "architecture": architecture(net, vocab_size, max_len),
        "input": spec.to_dict(),
        "classes": ["normal", "abnormal"],
        "thresholds": thresholds,
        "calibration": {head: {"temperature": 1.0, "bias": 0.0}
                        for head in ("fused", "image", "text")},
        "ood": {"threshold": None},
        "tokenizer": tokenizer.to_json(),
        **(extra or {}),
    }
    return write_card(out_dir, card)

