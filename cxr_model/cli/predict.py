"""`cxr predict`: one X-ray (and its report) -> label, probabilities, optional heatmap PNG."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image

from cxr_model import NOT_A_DEVICE
from cxr_model.cli.common import fail
from cxr_model.errors import CXRError
from cxr_model.imaging.reader import read_image
from cxr_model.inference.overlay import overlay_rgb
from cxr_model.inference.predictor import Model
from cxr_model.inference.scan import read_sibling_report, result_row
from cxr_model.text.report import read_report
from cxr_model.vocabulary import Label, OodReason, choices


def report_argument(value: str | None, image: Path) -> str | None:
    """--report as a file if one exists by that name, else literal text; default x.txt."""
    if value is None:
        return read_sibling_report(image)
    looks_like_path = len(value) < 4096 and not any(c.isspace() for c in value)
    if looks_like_path and (value.lower().endswith(".txt") or Path(value).is_file()):
        return read_report(value)  # a missing x.txt is an error, not report text
    return value


def write_heatmap(
    model: Model, image_path: Path, prediction, out: Path, target: str = Label.ABNORMAL
) -> None:
    """Write the image at full resolution with the heatmap blended over it."""
    rgb = overlay_rgb(read_image(image_path), model.heatmap(prediction, target))
    try:
        Image.fromarray(rgb).save(out, format="PNG")
    except (OSError, ValueError) as exc:
        raise CXRError(f"cannot write the heatmap ({exc})", out) from exc


def verdict(row: dict) -> str:
    """The label as a person should read it: no label outside the training population,
    "uncertain" within the card's margin of the threshold."""
    if row["ood_reason"] == OodReason.AGE:
        return "NO LABEL (outside the model's training population)"
    if row["uncertain"]:
        return f"UNCERTAIN (leans {row['label']})"
    return row["label"].upper()


def describe(row: dict) -> str:
    """The human-readable answer for one result row."""
    lines = [
        f"{row['file']}: {verdict(row)}  P(abnormal) {row['probability']:.3f} "
        f"(threshold {row['threshold']:.3f}, "
        f"{'image + report' if row['used_report'] else 'image only: no report'})",
        f"  image only {row['image_probability']:.3f}"
        + (
            ""
            if row["text_probability"] is None
            else f"   report only {row['text_probability']:.3f}"
        ),
    ]
    if row["discordant"]:
        lines.append("  WARNING: image and report point to different labels")
    if row["ood_reason"] == OodReason.AGE:
        lines.append("  WARNING: the patient's age is outside the ages the model was trained on")
    elif row["ood"]:
        lines.append(
            "  WARNING: this image is unlike the model's training X-rays; do not trust the label"
        )
    lines.append(f"  {NOT_A_DEVICE}")
    return "\n".join(lines)


def run(args: argparse.Namespace, model: Model) -> int:
    image = Path(args.image)
    try:
        report = report_argument(args.report, image)
        prediction = model.predict(image, report)
        if args.heatmap:
            write_heatmap(model, image, prediction, Path(args.heatmap), args.target)
    except CXRError as exc:
        if args.json:
            print(json.dumps(result_row(str(image), error=str(exc))))
        return fail(exc)
    row = result_row(str(image), prediction)
    print(json.dumps(row) if args.json else describe(row))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="classify one X-ray, with an optional report")
    p.add_argument("image")
    p.add_argument("--report", help="report file or text (default: IMAGE's .txt if present)")
    p.add_argument("--heatmap", metavar="OUT.png", help="write a Grad-CAM overlay")
    p.add_argument("--target", choices=choices(Label), default=Label.ABNORMAL)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run, needs_model=True)
