"""Headless self-test of an installation: every model, checksums, prediction, heatmap, DICOM."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cxr_model.errors import CXRError
from cxr_model.inference.card import resources_dir
from cxr_model.inference.predictor import Model
from cxr_model.inference.router import load_models
from cxr_model.text.report import read_report
from cxr_model.vocabulary import Precision


def check_model(model: Model, image: Path, dicom: Path) -> str:
    """Report masking, heatmap and DICOM reading of one model; its summary, or CXRError."""
    alone = model.predict(image)
    fused = model.predict(image, read_report(image.with_suffix(".txt")))
    if alone.used_report or not fused.used_report:
        raise CXRError("report masking is broken: the report was used/ignored wrongly", image)
    heat = model.heatmap(fused)
    width, height = fused.image_size  # the image's stored size, whatever the decode scale
    if heat.shape != (height, width):
        raise CXRError(f"heatmap is {heat.shape}, not the image's size", image)
    read = model.predict(dicom)
    return (
        f"model {model.card.short_name} {model.card.directory} ({model.card.text_mode}, "
        f"{model.precision}, checksums ok): "
        f"{image.name} image-only {alone.probability:.3f}, fused {fused.probability:.3f} "
        f"({fused.label}), heatmap {heat.shape[1]}x{heat.shape[0]}, "
        f"{dicom.name} {read.probability:.3f} ({read.label})"
    )


def selftest(model_dir: str | Path | None = None, precision: str = Precision.AUTO) -> str:
    """Run every step an installation needs on every installed model (or the one named), and
    route the sample DICOM; return one summary line or raise CXRError (a model folder that
    fails to load fails the test)."""
    started = time.perf_counter()
    models = load_models(model_dir, precision=precision)  # verifies the SHA-256 of the files
    if models.unusable:
        broken = models.unusable[0]
        raise CXRError(f"the {broken.directory.name} model is unusable: {broken.reason}")
    samples = resources_dir() / "samples"
    reported = sorted(p for p in samples.glob("*.jpeg") if p.with_suffix(".txt").is_file())
    dicoms = sorted(samples.glob("*.dcm"))
    if not reported or not dicoms:
        raise CXRError(
            "samples are missing (need a JPEG with its .txt report and a DICOM)", samples
        )
    parts = [check_model(model, reported[0], dicoms[0]) for model in models.models]
    routed = models.predict(dicoms[0])
    elapsed = time.perf_counter() - started
    return (
        f"selftest ok: {'; '.join(parts)}; {dicoms[0].name} answered by {routed.model} "
        f"({routed.route}); {elapsed:.2f}s"
    )


def run_selftest(model_dir: str | None, precision: str = Precision.AUTO) -> int:
    """Print the self-test summary line; exit 0, or 1 with the reason on stderr."""
    try:
        print(selftest(model_dir, precision))
    except CXRError as exc:
        print(f"selftest FAILED: {exc}", file=sys.stderr)
        return 1
    return 0
