"""Headless self-test of an installation: model, checksums, prediction, heatmap, DICOM."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cxr_model.errors import CXRError
from cxr_model.inference.card import resources_dir
from cxr_model.inference.predictor import load_model
from cxr_model.text.report import read_report
from cxr_model.vocabulary import Precision


def selftest(model_dir: str | Path | None = None, precision: str = Precision.AUTO) -> str:
    """Run every step an installation needs; return one summary line or raise CXRError."""
    started = time.perf_counter()
    model = load_model(model_dir, precision=precision)  # verifies the SHA-256 of its files
    samples = resources_dir() / "samples"
    reported = sorted(p for p in samples.glob("*.jpeg") if p.with_suffix(".txt").is_file())
    dicoms = sorted(samples.glob("*.dcm"))
    if not reported or not dicoms:
        raise CXRError(
            "samples are missing (need a JPEG with its .txt report and a DICOM)", samples
        )
    image = reported[0]
    alone = model.predict(image)
    fused = model.predict(image, read_report(image.with_suffix(".txt")))
    if alone.used_report or not fused.used_report:
        raise CXRError("report masking is broken: the report was used/ignored wrongly", image)
    heat = model.heatmap(fused)
    width, height = fused.image_size  # the image's stored size, whatever the decode scale
    if heat.shape != (height, width):
        raise CXRError(f"heatmap is {heat.shape}, not the image's size", image)
    dicom = model.predict(dicoms[0])
    elapsed = time.perf_counter() - started
    return (
        f"selftest ok: model {model.card.directory} ({model.card.text_mode}, "
        f"{model.precision}, checksums ok); "
        f"{image.name}: image-only {alone.probability:.3f}, fused {fused.probability:.3f} "
        f"({fused.label}); heatmap {heat.shape[1]}x{heat.shape[0]}; "
        f"{dicoms[0].name}: {dicom.probability:.3f} ({dicom.label}); {elapsed:.2f}s"
    )


def run_selftest(model_dir: str | None, precision: str = Precision.AUTO) -> int:
    """Print the self-test summary line; exit 0, or 1 with the reason on stderr."""
    try:
        print(selftest(model_dir, precision))
    except CXRError as exc:
        print(f"selftest FAILED: {exc}", file=sys.stderr)
        return 1
    return 0
