"""Which X-rays the model may score: frontal (PA or AP) chest radiographs.

The model was trained on frontal chest X-rays only. `chest_view` reads the DICOM header
values (`XrayImage.meta`, `read_meta`) and says whether an image is one, and if not, why.
Files that say nothing (no DICOM header, no view position) are scored, as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

FRONTAL_POSITIONS = frozenset({"PA", "AP"})
LATERAL_POSITIONS = frozenset({"LL", "RL", "LAT", "LATERAL", "LLD", "RLD"})
RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RG"})
CHEST_PARTS = frozenset({"CHEST", "THORAX", "LUNG", "LUNGS"})
_LATERAL_WORDS = re.compile(r"\b(LAT|LATERAL|LL|RL)\b")
_FRONTAL_WORDS = re.compile(r"\b(PA|AP|FRONTAL)\b")


@dataclass(frozen=True)
class ViewCheck:
    """Whether to score an image: `view` is "PA", "AP", "frontal", "lateral", another
    ViewPosition or "unknown"; `reason` says why it is not scored ("" when it is)."""

    scored: bool
    view: str
    reason: str = ""


def chest_view(meta: Mapping[str, str]) -> ViewCheck:
    """Frontal chest radiograph or not, from Modality, BodyPartExamined, ViewPosition and,
    without a ViewPosition, the series/study description."""
    modality = meta.get("Modality", "").strip().upper()
    if modality and modality not in RADIOGRAPH_MODALITIES:
        return ViewCheck(
            False,
            "unknown",
            f"modality {modality} is not a plain radiograph "
            "(CR/DX): the model only knows chest X-rays",
        )
    part = meta.get("BodyPartExamined", "").strip().upper()
    if part and part not in CHEST_PARTS:
        return ViewCheck(
            False, "unknown", f"body part {part}, not chest: the model only knows chest X-rays"
        )
    position = meta.get("ViewPosition", "").strip().upper()
    if position in FRONTAL_POSITIONS:
        return ViewCheck(True, position)
    if position in LATERAL_POSITIONS:
        return ViewCheck(
            False,
            "lateral",
            f"lateral view (ViewPosition {position}): the model was trained on frontal X-rays only",
        )
    if position:
        return ViewCheck(
            False,
            position,
            f"view position {position} is not frontal (PA/AP): "
            "the model was trained on frontal X-rays only",
        )
    described = " ".join(meta.get(k, "") for k in ("SeriesDescription", "StudyDescription"))
    described = described.upper()
    if _LATERAL_WORDS.search(described) and not _FRONTAL_WORDS.search(described):
        return ViewCheck(
            False,
            "lateral",
            "lateral view (series description): the model was trained on frontal X-rays only",
        )
    return ViewCheck(True, "frontal" if _FRONTAL_WORDS.search(described) else "unknown")
