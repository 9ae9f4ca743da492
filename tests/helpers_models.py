"""Test helper: a models folder of two models made from one, an "adult" and a "paediatric".

Both hold the same weights; only their cards' ages differ (the card records the SHA-256 of
the weight files, not of itself, so both folders verify). Routing by age is testable so;
routing by the image needs a real adult model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cxr_model.inference.card import CARD_NAME, WEIGHT_FILES

ADULT_AGES, CHILD_AGES = [18, 120], [1, 6]


def model_copy(source: Path, out: Path, ages: list[int]) -> Path:
    """A copy of a model folder whose card gives these ages."""
    out.mkdir(parents=True)
    for name in WEIGHT_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, out / name)
    card = json.loads((source / CARD_NAME).read_text())
    card["population"] = {**card.get("population", {}), "age_years": ages}
    (out / CARD_NAME).write_text(json.dumps(card))
    return out


def two_models(source: Path, root: Path) -> Path:
    """`root` holding adult/ and paediatric/, copies of `source` with those ages."""
    model_copy(source, root / "adult", ADULT_AGES)
    model_copy(source, root / "paediatric", CHILD_AGES)
    return root
