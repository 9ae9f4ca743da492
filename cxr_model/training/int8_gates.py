"""The gates an int8 model must pass before `auto` runs it instead of fp32.

Measured on the same inputs for both precisions (every image read once and fed to both):

- AUC of each head within 0.002 of fp32, on `val` and on `test`;
- the same label on at least 99% of `test` (fused with the report, and image-only);
- Pearson correlation with fp32 at least 0.98 on every `test` X-ray, of the CAM itself and
  of the viewer's heatmap (ReLU, min-max scaled) for the target the label supports. The
  other target's heatmap is recorded, not gated: where the CAM is almost all negative for it,
  one cell just above or below zero decides between an empty map and a full-scale blob, which
  the viewer shows at (near) zero strength anyway (`evidence`);
- the same OOD decision on at least 99% of `test`, and every non-X-ray still flagged.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cxr_model.cpu import cpu_flags, cpu_model
from cxr_model.imaging.preprocess import resize_float
from cxr_model.imaging.reader import read_image
from cxr_model.inference.predictor import TARGETS, Model, Prediction, heatmap
from cxr_model.training.dataset import read_examples
from cxr_model.training.evaluate import (
    head_metrics,
    head_scores,
    predict_examples,
    scored_heads,
)
from cxr_model.training.metrics import roc_auc
from cxr_model.training.non_xrays import as_image, non_xrays

AUC_DELTA = 0.002
LABEL_AGREEMENT = 0.99
CAM_PEARSON = 0.98
OOD_AGREEMENT = 0.99
FLAT = 1e-6  # a heatmap with less spread than this is empty (ReLU removed every location)


def check(value: float, op: str, limit: float, **facts) -> dict:
    """One gate: measured value, its limit and whether it passed (plus context figures)."""
    passed = value <= limit if op == "<=" else value >= limit
    return {"value": float(value), "op": op, "limit": limit, "pass": bool(passed), **facts}


def cam_pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two heatmaps; two empty maps agree (1), one empty one does not."""
    flat_a, flat_b = a.std() < FLAT, b.std() < FLAT
    if flat_a or flat_b:
        return 1.0 if flat_a and flat_b and abs(a.max() - b.max()) < FLAT else 0.0
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def heatmap_correlations(
    fp32: Sequence[Prediction], int8: Sequence[Prediction], size: int
) -> dict[str, np.ndarray]:
    """Per-image Pearson correlations at the model's input size: of the CAM itself (signed,
    before ReLU and scaling), of the viewer's heatmap for the target fp32's label supports,
    and of both targets' heatmaps (images, 2)."""

    def shown(p: Prediction, target: str) -> np.ndarray:
        return heatmap(p.cam_raw, target, size, (size, size))

    pairs = list(zip(fp32, int8, strict=True))
    return {
        "cam": np.array(
            [
                cam_pearson(
                    resize_float(a.cam_raw, size, size), resize_float(b.cam_raw, size, size)
                )
                for a, b in pairs
            ]
        ),
        "label_target": np.array(
            [cam_pearson(shown(a, a.label), shown(b, a.label)) for a, b in pairs]
        ),
        "both_targets": np.array(
            [[cam_pearson(shown(a, t), shown(b, t)) for t in TARGETS] for a, b in pairs]
        ),
    }


def auc_checks(split: str, fp32: dict, int8: dict) -> dict[str, dict]:
    """|AUC(int8) - AUC(fp32)| of each head that scored any example of one split."""
    checks = {}
    labels = fp32["label"]
    for head, mask in scored_heads(fp32).items():
        a, b = roc_auc(labels[mask], fp32[head][mask]), roc_auc(labels[mask], int8[head][mask])
        checks[f"auc_delta_{split}_{head}"] = check(
            abs(b - a), "<=", AUC_DELTA, fp32=a, int8=b, n=int(mask.sum())
        )
    return checks


def agreement_checks(
    model: Model, fp32: Sequence[Prediction], int8: Sequence[Prediction]
) -> dict[str, dict]:
    """Labels, OOD decisions and heatmaps of the two precisions on the same images."""
    n = len(fp32)
    image_threshold = model.card.threshold("image")
    same_label = sum(a.label == b.label for a, b in zip(fp32, int8, strict=True))
    same_image = sum(
        (a.image_probability >= image_threshold) == (b.image_probability >= image_threshold)
        for a, b in zip(fp32, int8, strict=True)
    )
    same_ood = sum(a.ood == b.ood for a, b in zip(fp32, int8, strict=True))
    pearson = heatmap_correlations(fp32, int8, model.spec.size)
    both = pearson["both_targets"]
    return {
        "label_agreement_test_fused": check(same_label / n, ">=", LABEL_AGREEMENT, n=n),
        "label_agreement_test_image": check(same_image / n, ">=", LABEL_AGREEMENT, n=n),
        "cam_pearson_test_min": check(
            pearson["cam"].min(), ">=", CAM_PEARSON, n=n, mean=float(pearson["cam"].mean())
        ),
        "heatmap_pearson_test_min": check(
            pearson["label_target"].min(),
            ">=",
            CAM_PEARSON,
            n=n,
            mean=float(pearson["label_target"].mean()),
            both_targets_p01=float(np.percentile(both, 1)),
            both_targets_one_empty=int((both == 0.0).sum()),
        ),
        "ood_agreement_test": check(
            same_ood / n,
            ">=",
            OOD_AGREEMENT,
            n=n,
            flagged_fp32=sum(bool(a.ood) for a in fp32),
            flagged_int8=sum(bool(b.ood) for b in int8),
        ),
    }


def non_xray_check(model: Model, xray_file: Path) -> dict:
    """Every non-X-ray (an inverted/rotated copy of `xray_file` among them) flagged by `model`."""
    xray = (read_image(xray_file).to_unit() * 255.0 + 0.5).astype(np.uint8)
    images = non_xrays(xray)
    missed = [
        name for name, pixels in images.items() if not model.predict(as_image(pixels, name)).ood
    ]
    return check(len(images) - len(missed), ">=", len(images), missed=missed, xray=xray_file.name)


def measure_gates(
    fp32: Model, int8: Model, csv_path: str | Path, quiet: bool = True
) -> tuple[dict, dict]:
    """(gates, int8 metrics per split): every gate measured on the pairs CSV's val and test."""
    checks: dict[str, dict] = {}
    metrics: dict[str, dict] = {}
    for split in ("val", "test"):
        examples = read_examples(csv_path, split)
        ours, theirs = predict_examples(
            [fp32, int8], examples, quiet=quiet, desc=f"int8 gates {split}"
        )
        scores = head_scores(theirs, examples)
        checks.update(auc_checks(split, head_scores(ours, examples), scores))
        metrics[split] = head_metrics(int8, scores)
    checks.update(agreement_checks(fp32, ours, theirs))
    checks["non_xrays_flagged"] = non_xray_check(int8, examples[0].image)
    gates = {
        "passed": all(c["pass"] for c in checks.values()),
        "checks": checks,
        "measured_with": runtime_facts(),
    }
    return gates, metrics


def runtime_facts() -> dict:
    """Where the gates were measured: int8 arithmetic differs between CPUs (VNNI or not)."""
    import onnxruntime

    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "onnxruntime": onnxruntime.__version__,
        "machine": platform.machine(),
    }
