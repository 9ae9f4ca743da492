"""Static int8 quantisation of a model folder (`cxr quantize`; build time: onnx and
onnxruntime.quantization).

1. `quant_pre_process` (ONNX Runtime): shape inference and graph optimisation, which folds
   each BatchNormalization into its Conv (without this int8 cannot fuse Conv + ReLU).
2. `precision_plan`: the image trunk, i.e. every node that the spatially pooled feature maps
   depend on, is quantised; every other node stays fp32: the pooling itself and all that
   follows it (heads, OOD statistics, spatial standard deviations of a map), the CAM, the
   text branch, and the "taps" (the
   activation and residual Add between the last Convs and each pooled map), so that the
   feature maps the CAM, the heads and the OOD guard read are computed in fp32 from the int8
   convolutions.
   Computed from the graph, so it follows the model (e.g. an OOD guard over the pooled
   features of several layers).
3. `quantize_static`: QDQ, per-channel int8 weights, uint8 activations calibrated (min/max)
   on a seeded subset of `train` images; written as one self-contained file.
4. The gates (`cxr_model.training.int8_gates`) on val and test, recorded in the card.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from cxr_model.errors import ModelError
from cxr_model.inference.card import (
    CARD_NAME,
    INT8_NAME,
    ONNX_NAME,
    WEIGHTS_NAME,
    load_card,
    write_card,
)
from cxr_model.inference.predictor import Model, load_model
from cxr_model.progress import progress
from cxr_model.training.dataset import Example, read_examples
from cxr_model.training.int8_gates import measure_gates
from cxr_model.vocabulary import Precision

POOL_OPS = ("ReduceMean", "GlobalAveragePool")
TAP_OPS = ("Relu", "Clip", "Add")  # elementwise nodes between the Conv(s) and a pooled map
UNARY_TAPS = ("Relu", "Clip")
CALIBRATION_IMAGES = 256
CALIBRATION_BATCH = 8
# 7-bit weights: without VNNI, x86 int8 kernels sum pairs of u8*s8 products in saturating
# 16 bit (255*127*2 > 32767); with 7 bits they cannot saturate, so the int8 model computes
# the same on every x86 CPU as where its gates were measured.
REDUCE_RANGE = True


class ImageCalibration(CalibrationDataReader):
    """Feeds batches of real examples (image, report) to the calibration run."""

    def __init__(self, model: Model, examples: Sequence[Example], quiet: bool = True) -> None:
        starts = range(0, len(examples), CALIBRATION_BATCH)
        self._batches = iter(
            progress(starts, total=len(starts), desc="calibrate", unit="batch", quiet=quiet)
        )
        self.model = model
        self.examples = examples

    def get_next(self) -> dict[str, np.ndarray] | None:
        start = next(self._batches, None)
        if start is None:
            return None
        chunk = self.examples[start : start + CALIBRATION_BATCH]
        prepared = [self.model.prepare(self.model.read(e.image)) for e in chunk]
        image, text, has_report = self.model.network_inputs(prepared, [e.report for e in chunk])
        return {"image": image, "text": text, "has_report": has_report}


def calibration_examples(csv_path: str | Path, count: int, seed: int) -> list[Example]:
    """A seeded random subset of the `train` split (all of it when it is smaller)."""
    examples = read_examples(csv_path, "train")
    return random.Random(seed).sample(examples, min(count, len(examples)))


def _constant(model: onnx.ModelProto, name: str) -> np.ndarray | None:
    for init in model.graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in model.graph.node:
        if node.op_type == "Constant" and name in node.output:
            return numpy_helper.to_array(node.attribute[0].t)
    return None


def _rank(model: onnx.ModelProto, tensor: str) -> int | None:
    graph = model.graph
    for info in (*graph.value_info, *graph.input, *graph.output):
        if info.name == tensor and info.type.tensor_type.HasField("shape"):
            return len(info.type.tensor_type.shape.dim)
    return None


def spatial_pools(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Nodes that average a (B, C, H, W) map over its spatial axes (the pooled features)."""
    pools = []
    for node in model.graph.node:
        if node.op_type not in POOL_OPS or _rank(model, node.input[0]) != 4:
            continue
        if node.op_type == "GlobalAveragePool":
            pools.append(node)
            continue
        axes = next((list(a.ints) for a in node.attribute if a.name == "axes"), None)
        if axes is None and len(node.input) > 1:
            found = _constant(model, node.input[1])
            axes = None if found is None else [int(a) for a in np.ravel(found)]
        if axes is not None and {a % 4 for a in axes} == {2, 3}:
            pools.append(node)
    return pools


def _ancestors(producers: dict[str, onnx.NodeProto], tensors: Iterable[str]) -> set[str]:
    """Names of every node the tensors depend on."""
    seen: set[str] = set()
    stack = list(tensors)
    while stack:
        node = producers.get(stack.pop())
        if node is not None and node.name not in seen:
            seen.add(node.name)
            stack.extend(node.input)
    return seen


def _descendants(model: onnx.ModelProto, nodes: Iterable[onnx.NodeProto]) -> set[str]:
    """Names of the nodes and of every node that depends on their outputs."""
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for tensor in node.input:
            consumers.setdefault(tensor, []).append(node)
    seen: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.name not in seen:
            seen.add(node.name)
            stack.extend(c for output in node.output for c in consumers.get(output, ()))
    return seen


def _taps(producers: dict[str, onnx.NodeProto], tensors: Iterable[str]) -> set[str]:
    """The nodes that make each pooled map out of Conv outputs: unary activations back to
    (and including) the residual Add or the Conv's own output; the skip input is not followed."""
    taps: set[str] = set()
    for tensor in tensors:
        node = producers.get(tensor)
        while node is not None and node.op_type in TAP_OPS:
            taps.add(node.name)
            if node.op_type not in UNARY_TAPS:
                break
            node = producers.get(node.input[0])
    return taps


def precision_plan(model: onnx.ModelProto) -> tuple[list[str], list[str]]:
    """(names of the nodes to quantise, names of the nodes kept fp32), in graph order."""
    pools = spatial_pools(model)
    if not pools:
        raise ModelError("the graph has no spatially pooled feature maps to quantise up to")
    producers = {out: node for node in model.graph.node for out in node.output}
    maps = [pool.input[0] for pool in pools]
    # Statistics over a map (a spatial standard deviation: the map minus its pooled mean,
    # squared, pooled again) follow a pool, so they stay fp32 with it.
    trunk = _ancestors(producers, maps) - _taps(producers, maps) - _descendants(model, pools)
    names = [node.name for node in model.graph.node]
    return [n for n in names if n in trunk], [n for n in names if n not in trunk]


def _name_nodes(model: onnx.ModelProto) -> None:
    """Give every unnamed node a unique name (exclusion works by name)."""
    used = {node.name for node in model.graph.node}
    for i, node in enumerate(model.graph.node):
        if not node.name:
            name = f"{node.op_type}_{i}"
            while name in used:
                name += "_"
            node.name = name
            used.add(name)


def quantize_graph(src: Path, out: Path, reader: CalibrationDataReader) -> dict:
    """Write the int8 copy of the fp32 graph `src` to `out`; returns how it was made."""
    with tempfile.TemporaryDirectory(prefix="cxr-quantize-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre))
        model = onnx.load(str(pre))
        _name_nodes(model)
        onnx.save(model, str(pre))
        quantised, fp32 = precision_plan(model)
        types = sorted({n.op_type for n in model.graph.node if n.name in set(quantised)})
        raw = Path(tmp) / "int8.onnx"
        quantize_static(
            str(pre),
            str(raw),
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=types,
            per_channel=True,
            reduce_range=REDUCE_RANGE,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=fp32,
            calibrate_method=CalibrationMethod.MinMax,
            # a map read by an int8 Conv and by an fp32 pool: only the Conv reads the
            # quantised copy, the pool reads the fp32 tensor
            extra_options={"DedicatedQDQPair": True},
        )
        onnx.save(onnx.load(str(raw)), str(out))  # one self-contained file
    return {
        "format": "QDQ",
        "weights": "int8, per channel" + (", 7-bit range" * REDUCE_RANGE),
        "activations": "uint8, per tensor, min/max calibration",
        "quantized_op_types": types,
        "quantized_nodes": len(quantised),
        "fp32_nodes": fp32,
    }


def quantize_folder(
    model_dir: str | Path,
    data: str | Path,
    images: int = CALIBRATION_IMAGES,
    seed: int = 0,
    quiet: bool = True,
) -> dict:
    """Make `model_int8.onnx` in a model folder, measure its gates, record both in the card.

    Returns the card's `int8` section. Rerunnable: replaces an earlier int8 model.
    """
    import onnxruntime

    model_dir = Path(model_dir)
    card = load_card(model_dir)
    fp32 = Model(card, precision=Precision.FP32)  # verifies model.onnx and the weights
    examples = calibration_examples(data, images, seed)
    made = quantize_graph(
        model_dir / ONNX_NAME,
        model_dir / (INT8_NAME + ".part"),
        ImageCalibration(fp32, examples, quiet),
    )
    os.replace(model_dir / (INT8_NAME + ".part"), model_dir / INT8_NAME)
    section = {
        "file": INT8_NAME,
        "made_with": {
            **made,
            "onnxruntime": onnxruntime.__version__,
            "pre_process": "onnxruntime.quantization.quant_pre_process",
        },
        "calibration": {
            "data": Path(os.path.relpath(data)).as_posix(),
            "split": "train",
            "images": len(examples),
            "seed": seed,
        },
        "source": {name: card.data["files"][name] for name in (ONNX_NAME, WEIGHTS_NAME)},
        "decision_inputs": card.decision_inputs(),
        "gates": {"passed": False, "checks": {}},  # until measured below
    }
    write_card(model_dir, {**card.data, "int8": section})
    int8 = load_model(model_dir, precision=Precision.INT8)
    section["gates"], section["metrics"] = measure_gates(fp32, int8, data, quiet=quiet)
    write_card(model_dir, {**load_card(model_dir).data, "int8": section})
    return section


def summary(section: dict, model_dir: Path) -> str:
    """What `cxr quantize` prints: the gates and where the model went."""
    gates = section["gates"]
    lines = [f"{'check':<28}{'value':>10}  limit", ""]
    for name, c in gates["checks"].items():
        lines.append(
            f"{name:<28}{c['value']:>10.4f}  {c['op']} {c['limit']:g}  "
            f"{'pass' if c['pass'] else 'FAIL'}"
        )
    verdict = (
        "int8 passed every gate: it is the default (`--precision fp32` to choose fp32)"
        if gates["passed"]
        else "int8 FAILED a gate: fp32 stays the default"
    )
    made = section["made_with"]
    lines += [
        "",
        f"wrote {model_dir / INT8_NAME} ({made['quantized_nodes']} nodes int8, "
        f"{len(made['fp32_nodes'])} fp32; calibrated on {section['calibration']['images']}"
        f" train images) and its gates in {model_dir / CARD_NAME}",
        verdict,
    ]
    return "\n".join(lines)
