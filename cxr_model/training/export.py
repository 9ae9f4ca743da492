"""Writing a model folder: safetensors weights, ONNX export and the model card (needs torch)."""

from __future__ import annotations

import json
import struct
import tempfile
import warnings
from pathlib import Path

import torch
from safetensors.torch import save_file

from cxr_model.imaging.preprocess import InputSpec
from cxr_model.inference.card import HEADS, INT8_NAME, ONNX_NAME, WEIGHTS_NAME, write_card
from cxr_model.text.tokenizer import Tokenizer
from cxr_model.training.network import OUTPUT_NAMES, FusionNet
from cxr_model.vocabulary import CLASS_LABELS

INPUT_NAMES = ("image", "text", "has_report")


def export_onnx(net: FusionNet, path: Path, size: int, text_width: int, weights: Path) -> int:
    """Export the network to ONNX whose weights live in the safetensors file `weights`.

    BatchNorm is kept as its own op (ONNX Runtime fuses it at load), so every parameter
    of the graph is byte-identical to a tensor of the safetensors file and the graph can
    point into that file instead of carrying a second copy. Returns how many initializers
    were linked.
    """
    import onnx
    from onnxscript import optimizer

    net = net.eval()
    example = (torch.zeros(2, 1, size, size), torch.zeros(2, text_width), torch.ones(2, 1))
    batch = torch.export.Dim("batch", min=1, max=1024)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # exporter notes on the shared batch axis
        raw_path = Path(tmp) / "raw.onnx"
        torch.onnx.export(
            net,
            example,
            str(raw_path),
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes=({0: batch}, {0: batch}, {0: batch}),
            external_data=False,
            dynamo=True,
            optimize=False,
            verbose=False,
        )
        model = onnx.load(str(raw_path))
    # fold shapes and tiny constants only: no new weight tensors (no Conv+BatchNorm fusion)
    model = optimizer.optimize(model, input_size_limit=1, output_size_limit=1)
    strip_trace_metadata(model)
    linked = link_external_weights(model, weights)
    onnx.save(model, str(path))
    return linked


def strip_trace_metadata(model) -> None:
    """Drop the exporter's per-node trace metadata (Python stack traces name the absolute paths
    of the machine that exported; module names and FX nodes only add weight)."""
    for graph in [model.graph, *(f for f in model.functions)]:
        for node in graph.node:
            node.ClearField("metadata_props")
            node.doc_string = ""


def link_external_weights(model, weights: Path) -> int:
    """Point each ONNX initializer equal to a safetensors tensor at that tensor's bytes."""
    from onnx import TensorProto, numpy_helper

    raw = weights.read_bytes()
    header_len = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + header_len])
    linked = 0
    for init in model.graph.initializer:
        entry = header.get(init.name)
        if entry is None:
            continue
        begin, end = (8 + header_len + o for o in entry["data_offsets"])
        if raw[begin:end] != numpy_helper.to_array(init).astype("<f4", copy=False).tobytes():
            continue
        init.ClearField("raw_data")
        init.ClearField("float_data")
        init.data_location = TensorProto.EXTERNAL
        for key, value in (
            ("location", weights.name),
            ("offset", str(begin)),
            ("length", str(end - begin)),
        ):
            item = init.external_data.add()
            item.key, item.value = key, value
        linked += 1
    return linked


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


def save_model(
    net: FusionNet,
    tokenizer: Tokenizer,
    spec: InputSpec,
    out_dir: Path,
    *,
    vocab_size: int,
    max_len: int,
    thresholds: dict[str, float],
    extra: dict | None = None,
) -> Path:
    """Write weights.safetensors, model.onnx and model_card.json into out_dir (an int8 model
    left from earlier weights is removed: `cxr quantize` makes the new one)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / INT8_NAME).unlink(missing_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(out_dir / WEIGHTS_NAME))
    width = int(net.text_encoder[0].in_features)
    export_onnx(net, out_dir / ONNX_NAME, spec.size, width, out_dir / WEIGHTS_NAME)
    card = {
        "name": "CXR Desktop fusion model",
        "architecture": architecture(net, vocab_size, max_len),
        "input": spec.to_dict(),
        "classes": list(CLASS_LABELS),
        "thresholds": thresholds,
        "calibration": {head: {"temperature": 1.0, "bias": 0.0, "floor": 0.0} for head in HEADS},
        "uncertainty": {head: {"margin": 0.0} for head in HEADS},
        "ood": {"threshold": None},
        "tokenizer": tokenizer.to_json(),
        **(extra or {}),
    }
    return write_card(out_dir, card)
