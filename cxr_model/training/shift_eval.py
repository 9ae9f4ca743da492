"""Site-shift measurement: a split re-rendered as another hospital might have written it
(gamma 0.7 and 1.4, contrast -30% and +30%, histogram-equalised, 500 px JPEG at quality 75),
each image saved as a file again (8-bit PNG, or the JPEG) and read back the way the app reads
files; then the image head's AUC, sensitivity and specificity at the shipped threshold, and how
many images the guards flag, under each shift beside the unshifted figures."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cxr_model.imaging.preprocess import resize_float
from cxr_model.imaging.reader import XrayImage
from cxr_model.inference.predictor import Model, Prediction
from cxr_model.training.dataset import read_examples
from cxr_model.training.metrics import summary
from cxr_model.training.site_shift import equalised, with_contrast, with_gamma

#: The issue's targets: under every shift, within these of the unshifted figures.
MAX_SPECIFICITY_DROP = 0.10
MAX_AUC_DROP = 0.03


@dataclass(frozen=True)
class Shift:
    """One re-rendering: a pixel mapping in [0, 1], then the file it is saved as."""

    name: str
    pixels: Callable[[torch.Tensor], torch.Tensor]
    side: int | None = None  # longer side of the saved file (None: unchanged)
    jpeg_quality: int | None = None  # JPEG at this quality (None: 8-bit PNG)


SHIFTS: tuple[Shift, ...] = (
    Shift("none", lambda u: u),
    Shift("gamma 0.7", lambda u: with_gamma(u, 0.7)),
    Shift("gamma 1.4", lambda u: with_gamma(u, 1.4)),
    Shift("contrast -30%", lambda u: with_contrast(u, 0.7)),
    Shift("contrast +30%", lambda u: with_contrast(u, 1.3)),
    Shift("histogram-equalised", equalised),
    Shift("500 px JPEG q75", lambda u: u, side=500, jpeg_quality=75),
)


def render(image: XrayImage, shift: Shift) -> tuple[bytes, str]:
    """The shifted image as file bytes and the file suffix."""
    unit = torch.from_numpy(image.to_unit())[None]
    pixels = shift.pixels(unit)[0].numpy()
    if shift.side is not None:
        height, width = pixels.shape
        scale = shift.side / max(height, width)
        pixels = resize_float(pixels, round(width * scale), round(height * scale))
    plane = Image.fromarray((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8), mode="L")
    buffer = io.BytesIO()
    if shift.jpeg_quality is not None:
        plane.save(buffer, format="JPEG", quality=shift.jpeg_quality)
        return buffer.getvalue(), ".jpg"
    plane.save(buffer, format="PNG")
    return buffer.getvalue(), ".png"


def shifted_predictions(
    model: Model, paths: list[Path], shift: Shift, batch_size: int = 16
) -> list[Prediction]:
    """Image-only predictions (no reports) for the files re-rendered under `shift`."""
    out: list[Prediction] = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        images = []
        for path in chunk:
            data, suffix = render(model.read(path), shift)
            images.append(model.read_bytes(data, Path(path).stem + suffix))
        out.extend(model.predict_batch(images, [None] * len(images)))
    return out


def shift_row(model: Model, labels: np.ndarray, predictions: list[Prediction]) -> dict:
    """AUC, sensitivity, specificity at the image threshold, and the guards' flags."""
    scores = np.array([p.image_probability for p in predictions])
    m = summary(labels, scores, model.card.threshold("image"))
    ood = model.card.ood_threshold
    population = model.card.population_threshold
    flagged = np.array([p.ood_reason == "image" for p in predictions])
    normal = labels == 0
    called = np.array([p.image_probability >= model.card.threshold("image") for p in predictions])
    return {
        "auc": m["auc"],
        "sensitivity": m["recall"],
        "specificity": m["specificity"],
        "flagged": int(flagged.sum()),
        "flagged_share": float(flagged.mean()),
        "flagged_by_features": int(sum(ood is not None and p.ood_score > ood for p in predictions)),
        "flagged_by_population": int(
            sum(population is not None and p.population_score > population for p in predictions)
        ),
        "normals_answered_abnormal": int((normal & called & ~flagged).sum()),
        "n": m["n"],
    }


def shift_figures(
    model: Model, csv_path: str | Path, split: str, shifts: tuple[Shift, ...] = SHIFTS
) -> dict:
    """`shift_row` for every shift, with the change from the unshifted row and whether it
    meets the targets (AUC within MAX_AUC_DROP, specificity within MAX_SPECIFICITY_DROP)."""
    examples = read_examples(csv_path, split)
    labels = np.array([e.label for e in examples])
    paths = [e.image for e in examples]
    rows = {s.name: shift_row(model, labels, shifted_predictions(model, paths, s)) for s in shifts}
    base = rows[shifts[0].name]
    for row in rows.values():
        row["auc_change"] = row["auc"] - base["auc"]
        row["specificity_change"] = row["specificity"] - base["specificity"]
        row["within_targets"] = bool(
            row["auc_change"] >= -MAX_AUC_DROP
            and abs(row["specificity_change"]) <= MAX_SPECIFICITY_DROP
        )
    return {
        "split": split,
        "head": "image",
        "threshold": model.card.threshold("image"),
        "rows": rows,
        "targets": f"AUC no more than {MAX_AUC_DROP} below and specificity within "
        f"{MAX_SPECIFICITY_DROP} of the unshifted figures",
        "method": "each image of the split re-rendered in [0, 1] display values, saved again "
        "as an 8-bit PNG (or the JPEG) and read back as the app reads files; image head, "
        "no reports",
    }


def format_shifts(section: dict) -> list[str]:
    """Printable table of `shift_figures`."""
    lines = [
        f"site shifts on {section['split']} (image head, threshold {section['threshold']:.3f}):",
        f"  {'shift':<21}{'AUC':>7}{'dAUC':>8}{'sens':>7}{'spec':>7}{'dspec':>8}"
        f"{'flagged':>9}  targets",
    ]
    for name, r in section["rows"].items():
        lines.append(
            f"  {name:<21}{r['auc']:>7.3f}{r['auc_change']:>+8.3f}{r['sensitivity']:>7.3f}"
            f"{r['specificity']:>7.3f}{r['specificity_change']:>+8.3f}"
            f"{r['flagged']:>5}/{r['n']:<3}  {'met' if r['within_targets'] else 'MISSED'}"
        )
    return lines
