"""The result as a Secondary Capture: the X-ray with the (evidence-scaled) heatmap and the
words "AI second reader — not for diagnosis" burned in, so every viewer can show it."""

from __future__ import annotations

import highdicom as hd
import numpy as np
from highdicom.sc import SCImage
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset

from cxr_model.dicom_results.identity import BANNER, MANUFACTURER, SERIES_SC, ModelIdentity
from cxr_model.dicom_results.sr import SC_SERIES_NUMBER
from cxr_model.inference.predictor import Prediction
from cxr_model.inference.router import answered_by

#: Display orientation of a frontal chest X-ray (rows toward the patient's left, columns
#: toward the feet), used when the source image does not state its Patient Orientation.
FRONTAL_ORIENTATION = ("L", "F")


def caption(prediction: Prediction) -> str:
    """The second line burned in: label (or why there is none) and P(abnormal)."""
    if not prediction.has_label:
        verdict = "no label (age outside the training population)"
    else:
        verdict = prediction.label + (" (uncertain)" if prediction.uncertain else "")
        if prediction.ood:
            verdict += ", image unlike the training X-rays"
    return f"{verdict}  P(abnormal) {prediction.probability:.3f}"


def answered_line(prediction: Prediction) -> str:
    """The third line burned in: which model answered (name and version)."""
    return f"answered by {answered_by(prediction.model)}"


def _draw_text(
    draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: ImageFont.FreeTypeFont
) -> None:
    """Draw one line; an em dash (absent from Pillow's built-in font) is drawn as a rule."""
    x, y = xy
    dash = max(4, int(font.size * 0.8))
    for index, part in enumerate(text.split("\u2014")):
        if index:
            middle = y + draw.textbbox((0, 0), "a", font=font)[3] * 0.65
            draw.line(
                (x, middle, x + dash, middle), fill=(255, 255, 255), width=max(1, font.size // 12)
            )
            x += dash
        draw.text((x, y), part, font=font, fill=(255, 255, 255))
        x += draw.textlength(part, font=font)


def burn_in(rgb: np.ndarray, lines: list[str]) -> np.ndarray:
    """Write text lines in white on a black band at the top of an RGB image."""
    image = Image.fromarray(rgb)
    size = max(12, image.width // 32)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(image)
    pad = max(2, size // 4)
    line_height = draw.textbbox((0, 0), "Ag", font=font)[3] + pad
    draw.rectangle((0, 0, image.width, pad + line_height * len(lines)), fill=(0, 0, 0))
    for number, line in enumerate(lines):
        _draw_text(draw, (pad, pad + number * line_height), line, font)
    return np.asarray(image)


def _orientation(source: Dataset) -> tuple[str, str]:
    value = source.get("PatientOrientation")
    if value is not None and not isinstance(value, str) and len(value) == 2:
        return str(value[0]), str(value[1])
    return FRONTAL_ORIENTATION


def build_sc(
    source: Dataset,
    overlay_rgb: np.ndarray,
    prediction: Prediction,
    identity: ModelIdentity,
    instance_uid: str | None = None,
    series_uid: str | None = None,
) -> SCImage:
    """A Secondary Capture (RGB) in the source image's study, a new series."""
    lines = [BANNER, caption(prediction), answered_line(prediction)]
    pixels = burn_in(overlay_rgb, lines)
    sc = SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=pixels,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=series_uid or hd.UID(),
        series_number=SC_SERIES_NUMBER,
        sop_instance_uid=instance_uid or hd.UID(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        patient_orientation=_orientation(source),
        manufacturer_model_name=identity.model_name,
        software_versions=identity.software_versions(),
        series_description=SERIES_SC,
    )
    sc.BurnedInAnnotation = "YES"
    # Laterality (Type 2C) stays absent: the chest is an unpaired body part, said here.
    sc.BodyPartExamined = str(source.get("BodyPartExamined") or "CHEST")
    sc.ImageComments = (
        f"{SERIES_SC}. {caption(prediction)}. {answered_line(prediction)}. "
        f"Model card SHA-256 {identity.card_sha256}"
    )
    return sc
