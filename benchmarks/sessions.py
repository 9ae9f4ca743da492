"""Worker: ONNX Runtime session options for the int8 and fp32 graphs, forward pass only.

`python -m benchmarks.sessions --model DIR --image X.jpeg --json-out F [--rounds 7]`

Every variant is a session over the model folder's graph of one precision with the options
`cxr_model.inference.backends.session_options` sets (2 threads, all graph optimisations)
plus one change. All sessions are built first, then timed in interleaved rounds (each round
runs every variant), so a machine whose load changes during the run affects all of them
alike; a figure is the median over rounds of the median of a round. Batch 1 is a single
prediction, batch 8 what a scan runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import THREADS, write_json

# name -> (precision, session config entries, graph optimisation level or None for the default)
VARIANTS: dict[str, tuple[str, dict[str, str], str | None]] = {
    "fp32 (shipped options)": ("fp32", {}, None),
    "int8 (shipped options)": ("int8", {}, None),
    "int8, exact u8u8 kernels (session.x64quantprecision=1)": (
        "int8",
        {"session.x64quantprecision": "1"},
        None,
    ),
    "int8, no spin-waiting (session.intra_op.allow_spinning=0)": (
        "int8",
        {"session.intra_op.allow_spinning": "0"},
        None,
    ),
    "int8, no weight prepacking (session.disable_prepacking=1)": (
        "int8",
        {"session.disable_prepacking": "1"},
        None,
    ),
    "int8, denormals as zero (session.set_denormal_as_zero=1)": (
        "int8",
        {"session.set_denormal_as_zero": "1"},
        None,
    ),
    "int8, graph optimisation EXTENDED (no layout transforms)": ("int8", {}, "ORT_ENABLE_EXTENDED"),
    "int8, QDQ not fused (session.disable_quant_qdq=1)": (
        "int8",
        {"session.disable_quant_qdq": "1"},
        None,
    ),
}
BATCHES = (1, 8)


def build(model_dir: Path, precision: str, config: dict[str, str], level: str | None):
    """(session, seconds to create it) for one variant."""
    import onnxruntime as ort

    from cxr_model.inference.backends import session_options
    from cxr_model.inference.card import INT8_NAME, ONNX_NAME

    options = session_options(THREADS)
    for key, value in config.items():
        options.add_session_config_entry(key, value)
    if level is not None:
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    path = model_dir / (INT8_NAME if precision == "int8" else ONNX_NAME)
    start = time.perf_counter()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session, time.perf_counter() - start


def measure(model_dir: Path, image: Path, rounds: int) -> dict[str, Any]:
    """Per variant: session creation time and forward-pass ms per image at each batch size."""
    import numpy as np

    from cxr_model.inference.card import INT8_NAME
    from cxr_model.inference.predictor import load_model

    model = load_model(model_dir, precision="fp32")
    prepared = model.prepare(model.read(image))
    feeds = {}
    for batch in BATCHES:
        images, text, has_report = model.network_inputs([prepared] * batch, ["opacity"] * batch)
        feeds[batch] = {"image": images, "text": text, "has_report": has_report}
    sessions, results = {}, {}
    for name, (precision, config, level) in VARIANTS.items():
        if precision == "int8" and INT8_NAME not in model.card.data["files"]:
            continue
        sessions[name], load_s = build(model_dir, precision, config, level)
        reference = sessions[name].run(None, feeds[1])[0]
        results[name] = {
            "precision": precision,
            "config": config,
            "level": level,
            "session_s": load_s,
            "fused_logit": float(np.ravel(reference)[0]),
            "rounds": {str(b): [] for b in BATCHES},
        }
        for batch in BATCHES:  # warm-up
            sessions[name].run(None, feeds[batch])
    for _ in range(rounds):
        for name, session in sessions.items():
            for batch in BATCHES:
                samples = []
                for _ in range(10 if batch == 1 else 3):
                    start = time.perf_counter()
                    session.run(None, feeds[batch])
                    samples.append((time.perf_counter() - start) * 1000.0 / batch)
                results[name]["rounds"][str(batch)].append(statistics.median(samples))
    for entry in results.values():
        entry["ms_per_image"] = {b: statistics.median(v) for b, v in entry["rounds"].items()}
    return {"variants": results, "rounds": rounds, "image": image.name}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args()
    write_json(args.json_out, measure(args.model, args.image, args.rounds))


if __name__ == "__main__":
    main()
