"""`cxr predict`: one X-ray (and its report) -> label, probabilities, optional heatmap PNG."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image

from cxr_model import NOT_A_DEVICE
from cxr_model.cli.common import fail
from cxr_model.errors import CXRError
from cxr_model.imaging.reader import read_image
from cxr_model.inference.overlay import overlay_rgb
from cxr_model.inference.router import ModelSet, answered_by
from cxr_model.inference.scan import RESULT_FIELDS, read_sibling_report, result_row
from cxr_model.text.report import read_report
from cxr_model.vocabulary import Label, OodReason, Route, choices

#: `cxr predict --json` keys: a scan row, how the model was chosen, why an age was set aside.
PREDICT_FIELDS = (*RESULT_FIELDS, "route", "age_warning")


def predict_row(file: str, prediction=None, error: str | None = None) -> dict:
    """One `predict` answer with the keys of PREDICT_FIELDS."""
    row = result_row(file, prediction, error)
    row["route"] = None if prediction is None else prediction.route
    row["age_warning"] = None if prediction is None else prediction.age_warning
    return row


def report_argument(value: str | None, image: Path) -> str | None:
    """--report as a file if one exists by that name, else literal text; default x.txt."""
    if value is None:
        return read_sibling_report(image)
    looks_like_path = len(value) < 4096 and not any(c.isspace() for c in value)
    if looks_like_path and (value.lower().endswith(".txt") or Path(value).is_file()):
        return read_report(value)  # a missing x.txt is an error, not report text
    return value


def write_heatmap(
    model: ModelSet, image_path: Path, prediction, out: Path, target: str = Label.ABNORMAL
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
        whose = "any installed model" if row.get("route") == Route.NO_MODEL_FOR_AGE else "the model"
        lines.append(f"  WARNING: the patient's age is outside the ages {whose} was trained on")
    elif row["ood"]:
        lines.append(
            "  WARNING: this image is unlike the model's training X-rays; do not trust the label"
        )
    if row.get("model"):
        lines.append(f"  answered by {answered_by(row['model'], row.get('route'))}")
    if row.get("age_warning"):
        lines.append(f"  WARNING: {row['age_warning']}; treated as no age")
    lines.append(f"  {NOT_A_DEVICE}")
    return "\n".join(lines)


def run(args: argparse.Namespace, model: ModelSet) -> int:
    image = Path(args.image)
    try:
        report = report_argument(args.report, image)
        prediction = model.predict(image, report)
        if args.heatmap:
            write_heatmap(model, image, prediction, Path(args.heatmap), args.target)
    except CXRError as exc:
        if args.json:
            print(json.dumps(predict_row(str(image), error=str(exc))))
        return fail(exc)
    row = predict_row(str(image), prediction)
    if prediction.age_warning and args.json:
        print(
            f"cxr: warning: {image}: {prediction.age_warning}; treated as no age", file=sys.stderr
        )
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
