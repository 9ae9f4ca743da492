"""The `cxr quantize` gates for the reduced model input of big images (issue 22).

    python -m benchmarks.reduction_gates [--model DIR] [--limit N] [--out F.json]

The paediatric val and test X-rays are 224 px, so the reduction leaves them untouched (bit for
bit, see tests/test_reduction.py). To gate the changed input, every one of them is written as
the 16-bit DICOM a detector would send (enlarged to 2500x2048, `benchmarks.data.
detector_dicom`), read back with `Model.read`, and fed to the model twice: with the full-precision
input (every pixel windowed, then resized: the pipeline before the reduction) and with
`Model.prepare` (block mean first). The int8 gates then compare the two as they compare fp32
and int8: AUC delta per head on val and test, label agreement and heatmap correlation on test.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import PAIRS_CSV, ROOT
from benchmarks.data import DETECTOR, detector_dicom
from cxr_model.imaging.preprocess import resize_float
from cxr_model.imaging.reader import XrayImage
from cxr_model.inference.predictor import Model, Prediction, Prepared, load_model
from cxr_model.training.dataset import read_examples
from cxr_model.training.evaluate import head_scores
from cxr_model.training.int8_gates import agreement_checks, auc_checks, runtime_facts

SAME_LABEL = 0.995  # the limit (stricter than the int8 gate's 0.99)


def full_precision_input(image: XrayImage, model: Model) -> np.ndarray:
    """The model input as it was before the reduction: every pixel windowed, then resized."""
    spec = model.spec
    unit = resize_float(image.to_unit(), spec.size, spec.size)
    return ((unit - spec.mean) / spec.std)[None].astype(np.float32)


def predict_both(
    model: Model, images: list[Path], reports: list[str | None], work: Path
) -> tuple[list[Prediction], list[Prediction]]:
    """(full-precision input, reduced input) predictions of each image as a detector DICOM."""
    before: list[Prediction] = []
    after: list[Prediction] = []
    for i, (src, report) in enumerate(zip(images, reports, strict=True)):
        path = detector_dicom(src, work / "study.dcm")
        image = model.read(path)
        old = Prepared(full_precision_input(image, model), image.original_size)
        a, b = model.predict_batch([old, model.prepare(image)], [report, report])
        before.append(a)
        after.append(b)
        if i % 100 == 0:
            print(f"  {i}/{len(images)}", flush=True)
    return before, after


def measure(model_dir: Path | None, limit: int | None) -> dict:
    """Every gate on val and test (the first `limit` examples of each when given)."""
    model = load_model(model_dir)
    checks: dict[str, dict] = {}
    counts = {}
    with tempfile.TemporaryDirectory(prefix="cxr-reduction-") as tmp:
        for split in ("val", "test"):
            examples = read_examples(PAIRS_CSV, split)[:limit]
            counts[split] = len(examples)
            before, after = predict_both(
                model, [e.image for e in examples], [e.report for e in examples], Path(tmp)
            )
            checks.update(
                auc_checks(split, head_scores(before, examples), head_scores(after, examples))
            )
    checks.update(agreement_checks(model, before, after))
    for head in ("fused", "image"):
        gate = checks[f"label_agreement_test_{head}"]
        gate.update(limit=SAME_LABEL, op=">=", **{"pass": gate["value"] >= SAME_LABEL})
    probability = np.array(
        [abs(a.probability - b.probability) for a, b in zip(before, after, strict=True)]
    )
    return {
        "passed": all(c["pass"] for c in checks.values()),
        "checks": checks,
        "examples": counts,
        "test_probability_delta": {
            "max": float(probability.max()),
            "mean": float(probability.mean()),
        },
        "image": {"size": list(DETECTOR), "bits": 16, "from": "the 224 px val/test JPEGs"},
        "measured_with": runtime_facts(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="first N examples per split")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reduction_gates.json")
    args = parser.parse_args()
    started = time.perf_counter()
    doc = measure(args.model, args.limit)
    doc["wall_s"] = time.perf_counter() - started
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in doc.items() if k != "measured_with"}, indent=1))


if __name__ == "__main__":
    main()
